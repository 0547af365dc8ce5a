public import Foundation
import GRDB
public import VeilCore

/// The durable outbox of pushed alerts (SQLite through GRDB).
///
/// Alerts enter from the journal: each partner has a cursor, and deciding an alert, queueing what the grant
/// allows and moving the cursor happen in one transaction. A delivery stays queued until the partner
/// answers 2xx; each carries an idempotency key (`OUTBOX-SEQUENCE`) so a partner that got it but whose
/// answer was lost can recognise the retry. Restarting the gateway loses nothing.
public final class AlertOutbox: PushOutbox, Sendable {
    private let pool: DatabasePool
    /// Random per outbox, so idempotency keys from two sites (or a rebuilt outbox) never collide.
    public let instance: String

    public typealias Delivery = PushDeliveryItem

    public init(path: String) throws {
        pool = try openSQLiteStore(path, holding: "outbox", code: .outbox) { migrator in
            migrator.registerMigration("outbox-v1") { db in
                try db.create(table: "outboxInstance") { table in
                    table.primaryKey("id", .text)
                }
                try db.execute(
                    sql: "INSERT INTO outboxInstance (id) VALUES (?)", arguments: [UUID().uuidString.lowercased()])
                try db.create(table: "pushCursor") { table in
                    table.primaryKey("partner", .text)
                    table.column("lastSequence", .integer).notNull()
                }
                try db.create(table: "delivery") { table in
                    table.autoIncrementedPrimaryKey("id")
                    table.column("partner", .text).notNull()
                    table.column("sequence", .integer).notNull()
                    table.column("camera", .text).notNull()
                    table.column("payload", .blob).notNull()
                    table.column("rules", .text).notNull()
                    table.column("attempts", .integer).notNull().defaults(to: 0)
                    table.column("nextAttemptAt", .double).notNull()
                    table.column("deliveredAt", .double)
                    table.uniqueKey(["partner", "sequence"])
                }
                try db.create(
                    index: "deliveryDue", on: "delivery", columns: ["partner", "deliveredAt", "nextAttemptAt"])
            }
            migrator.registerMigration("outbox-v2-snapshots") { db in
                // A delivery whose grant sends snapshots keeps the snapshot's reference and the redaction the grant
                // demanded; the picture is read from the vault when the delivery is posted, never kept here.
                try db.alter(table: "delivery") { table in
                    table.add(column: "snapshot", .text)
                    table.add(column: "snapshotRedaction", .text)
                }
            }
        }
        do {
            instance = try pool.read { db in try String.fetchOne(db, sql: "SELECT id FROM outboxInstance") ?? "outbox" }
        } catch {
            throw AlertsError(.outbox, "\(path): cannot read the outbox (\(error))")
        }
    }

    /// Queues the journal's alerts after the partner's cursor that the policy lets the partner receive.
    /// A partner new to the outbox starts at the journal's end: pushing is for alerts from now on.
    @discardableResult
    public func fill(
        partner: PartnerID, from journal: any AlertSource, authority: any SharingAuthority, now: Date
    ) throws -> Int {
        let newest = try journal.lastSequence()
        var cursor = try pool.write { db -> Int64 in
            if let cursor = try Int64.fetchOne(
                db, sql: "SELECT lastSequence FROM pushCursor WHERE partner = ?", arguments: [partner.rawValue])
            {
                return cursor
            }
            try db.execute(
                sql: "INSERT INTO pushCursor (partner, lastSequence) VALUES (?, ?)",
                arguments: [partner.rawValue, newest])
            return newest
        }
        var queued = 0
        while true {
            let batch = try journal.entries(after: cursor, limit: 500)
            guard let last = batch.last else { break }
            try pool.write { db in
                for entry in batch where entry.alert.mayBeShared(with: partner) {
                    let alert = entry.alert
                    let verdict = authority.verdict(
                        for: AccessRequest(
                            partner: partner, camera: alert.camera, action: .alert(alert.kind),
                            at: now, zone: alert.zone))
                    guard verdict.isAllowed else { continue }
                    let body = PushedAlert(
                        id: entry.sequence,
                        alert: alert.fields(granted: verdict.alertFields, reshare: verdict.reshareAllowed))
                    let snapshot =
                        verdict.alertFields.contains(.snapshot) && body.alert.snapshot == nil
                        ? alert.snapshotID.flatMap { reference in verdict.redaction.map { (reference, $0) } } : nil
                    try db.execute(
                        sql: """
                            INSERT OR IGNORE INTO delivery
                                (partner, sequence, camera, payload, rules, nextAttemptAt, snapshot, snapshotRedaction)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [
                            partner.rawValue, entry.sequence, alert.camera.rawValue,
                            try JSONEncoder.compact.encode(body),
                            verdict.rules.map(\.rawValue).joined(separator: ","), now.timeIntervalSince1970,
                            snapshot?.0, snapshot.map { "\($0.1)" },
                        ])
                    queued += db.changesCount
                }
                try db.execute(
                    sql: "UPDATE pushCursor SET lastSequence = ? WHERE partner = ?",
                    arguments: [last.sequence, partner.rawValue])
            }
            cursor = last.sequence
        }
        return queued
    }

    /// Deliveries due now for a partner, oldest first.
    public func due(partner: PartnerID, now: Date, limit: Int = 100) throws -> [Delivery] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, sequence, camera, payload, rules, attempts, snapshot, snapshotRedaction FROM delivery
                    WHERE partner = ? AND deliveredAt IS NULL AND nextAttemptAt <= ? ORDER BY sequence LIMIT ?
                    """, arguments: [partner.rawValue, now.timeIntervalSince1970, limit]
            )
            .map { row in
                let sequence: Int64 = row["sequence"]
                let rules: String = row["rules"]
                let reference: String? = row["snapshot"]
                let redaction: String? = row["snapshotRedaction"]
                // An unreadable redaction sends no picture: never more than the grant allowed.
                let snapshot = reference.flatMap { reference in
                    redaction.flatMap { RedactionSpec(parsingDescription: $0) }.map { (reference, $0) }
                }
                return Delivery(
                    id: row["id"], partner: partner, sequence: sequence, camera: CameraID(row["camera"] as String),
                    idempotencyKey: "\(instance)-\(sequence)", payload: [UInt8](row["payload"] as Data),
                    rules: rules.split(separator: ",").map { RuleID(String($0)) }, attempts: row["attempts"],
                    snapshot: snapshot)
            }
        }
    }

    public func markDelivered(_ delivery: Delivery, at time: Date) throws {
        try pool.write { db in
            try db.execute(
                sql: "UPDATE delivery SET deliveredAt = ?, attempts = attempts + 1 WHERE id = ?",
                arguments: [time.timeIntervalSince1970, delivery.id])
        }
    }

    public func markFailed(_ delivery: Delivery, retryAt: Date) throws {
        try pool.write { db in
            try db.execute(
                sql: "UPDATE delivery SET attempts = attempts + 1, nextAttemptAt = ? WHERE id = ?",
                arguments: [retryAt.timeIntervalSince1970, delivery.id])
        }
    }

    /// How many alerts wait for a partner (delivered ones are kept for the audit trail until pruned).
    public func pendingCount(partner: PartnerID) throws -> Int {
        try pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM delivery WHERE partner = ? AND deliveredAt IS NULL",
                arguments: [partner.rawValue]) ?? 0
        }
    }

    /// Drops delivered entries older than a moment.
    @discardableResult
    public func prune(deliveredBefore time: Date) throws -> Int {
        try pool.write { db in
            try db.execute(
                sql: "DELETE FROM delivery WHERE deliveredAt IS NOT NULL AND deliveredAt < ?",
                arguments: [time.timeIntervalSince1970])
            return db.changesCount
        }
    }
}
