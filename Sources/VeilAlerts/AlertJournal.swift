public import Foundation
import GRDB
public import VeilCore

/// Every alert the site raised, numbered, so a partner that reconnects with `Last-Event-ID` gets exactly
/// what it missed. SQLite (WAL) through GRDB; alerts hold ids, kinds, zones, counts and boxes, never identity.
public final class AlertJournal: Sendable {
    private let pool: DatabasePool

    /// One journaled alert and its sequence number (the SSE event id).
    /// One journaled alert (``JournaledAlert``).
    public typealias Entry = JournaledAlert

    public init(path: String) throws {
        pool = try openSQLiteStore(path, holding: "alert journal", code: .journal) { migrator in
            migrator.registerMigration("alerts-v1") { db in
                try db.create(table: "alert") { table in
                    table.autoIncrementedPrimaryKey("sequence")
                    table.column("time", .double).notNull().indexed()
                    table.column("camera", .text).notNull()
                    table.column("kind", .text).notNull()
                    table.column("payload", .blob).notNull()
                }
            }
            migrator.registerMigration("counts-v1") { db in
                // People counted per camera, zone (or line) and minute: peak occupancy, crossings each way. Numbers
                // only; a minute in progress is written again as it grows.
                try db.create(table: "minuteCount") { table in
                    table.column("camera", .text).notNull()
                    table.column("zone", .text).notNull()
                    table.column("minute", .double).notNull().indexed()
                    table.column("peak", .integer)
                    table.column("crossingsIn", .integer)
                    table.column("crossingsOut", .integer)
                    table.primaryKey(["camera", "zone", "minute"])
                }
            }
            migrator.registerMigration("acknowledgements-v1") { db in
                // An operator's acknowledgement of an alert, with their note: it goes when its alert goes (retention).
                try db.create(table: "acknowledgement") { table in
                    table.primaryKey("sequence", .integer).references("alert", onDelete: .cascade)
                    table.column("time", .double).notNull()
                    table.column("operator", .text).notNull()
                    table.column("note", .text)
                }
            }
            migrator.registerMigration("peer-cursors-v1") { db in
                // How far each peer site's alert stream has been imported: moved in the same transaction as
                // the import, so a restart resumes exactly after the last alert kept.
                try db.create(table: "peerCursor") { table in
                    table.primaryKey("peer", .text)
                    table.column("lastEventID", .integer).notNull()
                }
            }
        }
    }

    @discardableResult
    public func append(_ alert: Alert) throws -> Entry {
        let sequence = try pool.write { db in try insert(alert, db) }
        return Entry(sequence: sequence, alert: alert)
    }

    /// Imports an alert received from a peer site and moves that peer's cursor, atomically. An event at or
    /// before the cursor (a replay after a reconnect) is ignored; returns nil then.
    @discardableResult
    public func append(_ alert: Alert, fromPeer peer: PartnerID, eventID: Int64) throws -> Entry? {
        let sequence: Int64? = try pool.write { db in
            let cursor =
                try Int64.fetchOne(
                    db, sql: "SELECT lastEventID FROM peerCursor WHERE peer = ?", arguments: [peer.rawValue]) ?? 0
            guard eventID > cursor else { return nil }
            let sequence = try insert(alert, db)
            try db.execute(
                sql:
                    "INSERT INTO peerCursor (peer, lastEventID) VALUES (?, ?) ON CONFLICT(peer) DO UPDATE SET lastEventID = excluded.lastEventID",
                arguments: [peer.rawValue, eventID])
            return sequence
        }
        return sequence.map { Entry(sequence: $0, alert: alert) }
    }

    /// Appends inside a caller's transaction; returns the new sequence number.
    private func insert(_ alert: Alert, _ db: Database) throws -> Int64 {
        try db.execute(
            sql: "INSERT INTO alert (time, camera, kind, payload) VALUES (?, ?, ?, ?)",
            arguments: [
                alert.time.timeIntervalSince1970, alert.camera.rawValue, alert.kind.rawValue,
                try JSONEncoder.sorted.encode(alert),
            ])
        return db.lastInsertedRowID
    }

    /// The last event id imported from a peer (0: none yet).
    public func cursor(for peer: PartnerID) throws -> Int64 {
        try pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT lastEventID FROM peerCursor WHERE peer = ?", arguments: [peer.rawValue])
                ?? 0
        }
    }

    /// Alerts after a sequence number, oldest first.
    public func entries(after sequence: Int64, limit: Int = 1000) throws -> [Entry] {
        try pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT sequence, payload FROM alert WHERE sequence > ? ORDER BY sequence LIMIT ?",
                arguments: [sequence, limit]
            )
            .compactMap { row in
                let data: Data = row["payload"]
                guard let alert = try? JSONDecoder.iso8601.decode(Alert.self, from: data) else { return nil }
                return Entry(sequence: row["sequence"], alert: alert)
            }
        }
    }

    /// Counts by kind for a camera since a moment, and the newest crowd count.
    public func statistics(camera: CameraID, since: Date) throws -> (byKind: [String: Int], latestCount: Int?) {
        try pool.read { db in
            var byKind: [String: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT kind, COUNT(*) AS n FROM alert WHERE camera = ? AND time >= ? GROUP BY kind",
                arguments: [camera.rawValue, since.timeIntervalSince1970])
            {
                byKind[row["kind"]] = row["n"]
            }
            let latest = try Data.fetchOne(
                db, sql: "SELECT payload FROM alert WHERE camera = ? AND kind = ? ORDER BY sequence DESC LIMIT 1",
                arguments: [camera.rawValue, AlertKind.crowdCount.rawValue]
            )
            .flatMap { try? JSONDecoder.iso8601.decode(Alert.self, from: $0) }?.count
            return (byKind, latest)
        }
    }

    /// Applies the policy's events retention: each camera's alerts of each kind are kept as long as the rule
    /// for that camera and kind says; alerts no rule covers (a peer's imported cameras, say) for
    /// `unscheduled` only — long enough for partners to catch up, no longer. Returns how many were deleted.
    @discardableResult
    public func applyRetention(
        _ schedule: any RetentionSchedule, now: Date, unscheduled: TimeInterval = 86400
    ) throws -> Int {
        try pool.write { db in
            var deleted = 0
            for row in try Row.fetchAll(db, sql: "SELECT DISTINCT camera, kind FROM alert") {
                let camera = CameraID(row["camera"] as String), kind = AlertKind(row["kind"] as String)
                let keep =
                    schedule.retention(camera: camera, category: .events, eventKind: kind).map {
                        TimeInterval($0.duration.seconds)
                    }
                    ?? unscheduled
                try db.execute(
                    sql: "DELETE FROM alert WHERE camera = ? AND kind = ? AND time < ?",
                    arguments: [camera.rawValue, kind.rawValue, now.addingTimeInterval(-keep).timeIntervalSince1970])
                deleted += db.changesCount
            }
            for row in try Row.fetchAll(db, sql: "SELECT DISTINCT camera FROM minuteCount") {
                let camera = CameraID(row["camera"] as String)
                let keep =
                    schedule.retention(camera: camera, category: .counts, eventKind: nil).map {
                        TimeInterval($0.duration.seconds)
                    }
                    ?? unscheduled
                try db.execute(
                    sql: "DELETE FROM minuteCount WHERE camera = ? AND minute < ?",
                    arguments: [camera.rawValue, now.addingTimeInterval(-keep).timeIntervalSince1970])
            }
            return deleted
        }
    }

    /// An operator's acknowledgement of an alert.
    public struct Acknowledgement: Sendable, Hashable {
        public var time: Date
        public var by: String
        /// What the operator wrote; shown to operators, never logged or audited.
        public var note: String?
    }

    /// Acknowledges an alert (again: the newer note replaces the older). False when the journal no longer has it.
    public func acknowledge(_ sequence: Int64, by actor: String, note: String?, at time: Date = Date()) throws -> Bool {
        try pool.write { db in
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM alert WHERE sequence = ?", arguments: [sequence]) != nil
            else { return false }
            try db.execute(
                sql: "INSERT OR REPLACE INTO acknowledgement (sequence, time, operator, note) VALUES (?, ?, ?, ?)",
                arguments: [sequence, time.timeIntervalSince1970, actor, note])
            return true
        }
    }

    /// The acknowledgements of these alerts, by sequence number.
    public func acknowledgements(of sequences: [Int64]) throws -> [Int64: Acknowledgement] {
        guard !sequences.isEmpty else { return [:] }
        return try pool.read { db in
            var result: [Int64: Acknowledgement] = [:]
            let rows = try Row.fetchAll(
                db,
                sql:
                    "SELECT sequence, time, operator, note FROM acknowledgement WHERE sequence IN (\(sequences.map { _ in "?" }.joined(separator: ",")))",
                arguments: StatementArguments(sequences))
            for row in rows {
                result[row["sequence"]] = Acknowledgement(
                    time: Date(timeIntervalSince1970: row["time"]), by: row["operator"], note: row["note"])
            }
            return result
        }
    }

    /// Records minute counts; a minute already recorded (one in progress) is replaced by its newer figures.
    public func record(_ counts: [MinuteCount]) throws {
        guard !counts.isEmpty else { return }
        try pool.write { db in
            for count in counts {
                try db.execute(
                    sql: """
                        INSERT INTO minuteCount (camera, zone, minute, peak, crossingsIn, crossingsOut) VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT (camera, zone, minute) DO UPDATE SET peak = excluded.peak, crossingsIn = excluded.crossingsIn,
                            crossingsOut = excluded.crossingsOut
                        """,
                    arguments: [
                        count.camera.rawValue, count.zone.rawValue, count.minute.timeIntervalSince1970,
                        count.peakOccupancy, count.crossingsIn, count.crossingsOut,
                    ])
            }
        }
    }

    /// A camera's minute counts from `from` up to `to`, oldest first.
    public func minuteCounts(camera: CameraID, from: Date, to: Date) throws -> [MinuteCount] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT zone, minute, peak, crossingsIn, crossingsOut FROM minuteCount
                    WHERE camera = ? AND minute >= ? AND minute < ? ORDER BY minute, zone LIMIT 100000
                    """, arguments: [camera.rawValue, from.timeIntervalSince1970, to.timeIntervalSince1970]
            ).map { row in
                MinuteCount(
                    camera: camera, zone: ZoneID(row["zone"] as String),
                    minute: Date(timeIntervalSince1970: row["minute"]),
                    peakOccupancy: row["peak"], crossingsIn: row["crossingsIn"], crossingsOut: row["crossingsOut"])
            }
        }
    }

    public var lastSequence: Int64 {
        get throws { try pool.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM alert") ?? 0 } }
    }
}
