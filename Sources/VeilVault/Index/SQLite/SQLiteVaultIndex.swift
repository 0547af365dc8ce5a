import Foundation
internal import GRDB
import VeilCore

/// The vault's index in SQLite (GRDB, WAL mode, migrations): segments, buckets, holds, the audit log. It holds no
/// key material; keys live in the ``Keystore``, apart from the vault folder.
final class SQLiteVaultIndex: VaultIndexStore {
    let pool: DatabasePool

    init(path: String) throws {
        var configuration = Configuration()
        configuration.label = "veilgate-vault-index"
        // Statement arguments stay hidden in errors and traces (GRDB's default, kept on purpose).
        configuration.publicStatementArguments = false
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw VaultError(.database, "\(path): cannot open the vault index", underlying: error)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "bucket") { table in
                table.primaryKey("id", .text)
                table.column("camera", .text).notNull()
                table.column("category", .text).notNull()
                table.column("dayStart", .double).notNull()
                table.column("dayEnd", .double).notNull()
                table.column("state", .text).notNull()
                table.column("createdAt", .double).notNull()
                table.column("destroyedAt", .double)
                table.column("destroyedBy", .text)
                table.column("mac", .text).notNull()
            }
            try db.create(table: "segment") { table in
                table.primaryKey("id", .text)
                table.column("camera", .text).notNull()
                table.column("category", .text).notNull()
                table.column("start", .double).notNull()
                table.column("end", .double).notNull()
                table.column("bucket", .text).notNull().references("bucket")
                table.column("container", .text).notNull()
                table.column("size", .integer).notNull()
                table.column("fingerprint", .text).notNull()
                table.column("state", .text).notNull()
                table.column("policyVersion", .text).notNull()
                table.column("redaction", .text).notNull()
                table.column("createdAt", .double).notNull()
                table.column("mac", .text).notNull()
            }
            try db.create(index: "segment_camera_start", on: "segment", columns: ["camera", "start"])
            try db.create(index: "segment_category_end", on: "segment", columns: ["camera", "category", "end"])
            try db.create(index: "segment_bucket", on: "segment", columns: ["bucket"])
            try db.create(table: "event") { table in
                table.primaryKey("id", .text)
                table.column("camera", .text).notNull()
                table.column("kind", .text).notNull()
                table.column("time", .double).notNull()
                table.column("zone", .text)
                table.column("payload", .text).notNull()
            }
            try db.create(index: "event_camera_kind_time", on: "event", columns: ["camera", "kind", "time"])
            try db.create(table: "hold") { table in
                table.primaryKey("id", .text)
                table.column("camera", .text).notNull()
                table.column("start", .double).notNull()
                table.column("end", .double).notNull()
                table.column("caseReference", .text)
                table.column("placedAt", .double).notNull()
                table.column("placedBy", .text).notNull()
                table.column("expiresAt", .double)
                table.column("releasedAt", .double)
                table.column("releasedBy", .text)
                table.column("mac", .text).notNull()
            }
            try db.create(table: "audit") { table in
                table.primaryKey("seq", .integer)
                table.column("time", .double).notNull()
                table.column("action", .text).notNull()
                table.column("actor", .text).notNull()
                table.column("subject", .text).notNull()
                table.column("rules", .text).notNull()
                table.column("details", .text).notNull()
                table.column("previousHash", .text).notNull()
                table.column("hash", .text).notNull()
            }
            try db.create(table: "checkpoint") { table in
                table.primaryKey("seq", .integer)
                table.column("hash", .text).notNull()
                table.column("time", .double).notNull()
                table.column("signer", .text).notNull()
                table.column("signature", .text).notNull()
            }
        }
        // Typed redaction beside the words the MAC covers; the vault's own event table goes (alerts and counts live in
        // the alert journal, the one event store).
        migrator.registerMigration("v2") { db in
            try db.alter(table: "segment") { table in table.add(column: "redactionSpec", .text) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            for row in try Row.fetchAll(db, sql: "SELECT id, category, redaction FROM segment") {
                let label: String = row["redaction"]
                guard let spec = RedactionSpec(parsingDescription: label) else { continue }
                try db.execute(
                    sql: "UPDATE segment SET redactionSpec = ? WHERE id = ?",
                    arguments: [String(decoding: try encoder.encode(spec), as: UTF8.self), row["id"] as String])
            }
            try db.drop(table: "event")
        }
        return migrator
    }

    func read<T>(_ body: (any VaultIndexReading) throws -> T) throws -> T {
        do { return try pool.read { db in try body(SQLiteIndexTransaction(db: db)) } } catch let error as VaultError {
            throw error
        } catch {
            throw VaultError(.database, "vault index read failed", underlying: error)
        }
    }

    func write<T>(_ body: (any VaultIndexWriting) throws -> T) throws -> T {
        do { return try pool.write { db in try body(SQLiteIndexTransaction(db: db)) } } catch let error as VaultError {
            throw error
        } catch {
            throw VaultError(.database, "vault index write failed", underlying: error)
        }
    }
}

/// One read or one write transaction on the SQLite index.
private struct SQLiteIndexTransaction: VaultIndexWriting {
    let db: Database

    // MARK: Segments

    func segment(id: String) throws -> SegmentRow? { try SegmentRow.fetchOne(db, key: id) }

    func segments(ids: [String]) throws -> [SegmentRow] {
        try SegmentRow.fetchAll(
            db, sql: "SELECT * FROM segment WHERE id IN (SELECT value FROM json_each(?))",
            arguments: [Canonical.jsonList(ids)])
    }

    func completeSegments(camera: String, overlapping from: Double, _ to: Double) throws -> [SegmentRow] {
        try SegmentRow.filter(
            Column("camera") == camera && Column("state") == SegmentRow.complete && Column("start") < to
                && Column("end") > from
        ).order(Column("start")).fetchAll(db)
    }

    func segments(camera: String, overlapping from: Double, _ to: Double) throws -> [SegmentRow] {
        try SegmentRow.filter(Column("camera") == camera && Column("start") < to && Column("end") > from)
            .order(Column("start")).fetchAll(db)
    }

    func completeSegments(camera: String, category: String, endedBy cutoff: Double) throws -> [SegmentRow] {
        try SegmentRow.filter(
            Column("camera") == camera && Column("category") == category && Column("state") == SegmentRow.complete
                && Column("end") <= cutoff
        ).order(Column("start")).fetchAll(db)
    }

    func segments(inBucket bucket: String) throws -> [SegmentRow] {
        try SegmentRow.filter(Column("bucket") == bucket).fetchAll(db)
    }

    func segmentCount(inBucket bucket: String) throws -> Int {
        try SegmentRow.filter(Column("bucket") == bucket).fetchCount(db)
    }

    func segmentSummary() throws -> [SegmentSummary] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT camera, category, COUNT(*) AS n, MIN(start) AS first, MAX("end") AS last FROM segment
                WHERE state = ? GROUP BY camera, category ORDER BY camera, category
                """, arguments: [SegmentRow.complete]
        ).map {
            SegmentSummary(
                camera: $0["camera"], category: $0["category"], count: $0["n"], first: $0["first"], last: $0["last"])
        }
    }

    func allSegments() throws -> [SegmentRow] { try SegmentRow.fetchAll(db) }

    func insert(_ segment: SegmentRow) throws { try segment.insert(db) }
    func update(_ segment: SegmentRow) throws { try segment.update(db) }

    func deleteSegments(ids: [String]) throws {
        try db.execute(
            sql: "DELETE FROM segment WHERE id IN (SELECT value FROM json_each(?))",
            arguments: [Canonical.jsonList(ids)])
    }

    func deleteSegments(inBucket bucket: String) throws {
        try SegmentRow.filter(Column("bucket") == bucket).deleteAll(db)
    }

    // MARK: Buckets

    func bucket(id: String) throws -> BucketRow? { try BucketRow.fetchOne(db, key: id) }

    func buckets(camera: String, category: String, dayStart: Double) throws -> [BucketRow] {
        try BucketRow.filter(
            Column("camera") == camera && Column("category") == category && Column("dayStart") == dayStart
        )
        .fetchAll(db)
    }

    func allBuckets() throws -> [BucketRow] { try BucketRow.fetchAll(db) }
    func insert(_ bucket: BucketRow) throws { try bucket.insert(db) }
    func update(_ bucket: BucketRow) throws { try bucket.update(db) }

    // MARK: Holds

    func hold(id: String) throws -> HoldRow? { try HoldRow.fetchOne(db, key: id) }

    func holds(includeReleased: Bool) throws -> [HoldRow] {
        let request = includeReleased ? HoldRow.all() : HoldRow.filter(Column("releasedAt") == nil)
        return try request.order(Column("placedAt")).fetchAll(db)
    }

    func insert(_ hold: HoldRow) throws { try hold.insert(db) }
    func update(_ hold: HoldRow) throws { try hold.update(db) }

    // MARK: Audit log

    func lastAuditEntry() throws -> AuditRow? { try AuditRow.order(Column("seq").desc).fetchOne(db) }

    func auditEntries(after seq: Int64, limit: Int) throws -> [AuditRow] {
        try AuditRow.filter(Column("seq") > seq).order(Column("seq")).limit(limit).fetchAll(db)
    }

    func forEachAuditEntry(_ body: (AuditRow) throws -> Void) throws {
        let cursor = try AuditRow.order(Column("seq")).fetchCursor(db)
        while let row = try cursor.next() { try body(row) }
    }

    func checkpoint(seq: Int64) throws -> CheckpointRow? { try CheckpointRow.fetchOne(db, key: seq) }
    func checkpoints() throws -> [CheckpointRow] { try CheckpointRow.order(Column("seq")).fetchAll(db) }
    func insert(_ entry: AuditRow) throws { try entry.insert(db) }
    func insert(_ checkpoint: CheckpointRow) throws { try checkpoint.insert(db) }

    func afterCommit(_ action: @escaping @Sendable () -> Void) {
        db.afterNextTransaction(onCommit: { _ in action() })
    }
}

// The rows as GRDB records, table by table.
extension SegmentRow: FetchableRecord, PersistableRecord { static let databaseTableName = "segment" }
extension BucketRow: FetchableRecord, PersistableRecord { static let databaseTableName = "bucket" }
extension HoldRow: FetchableRecord, PersistableRecord { static let databaseTableName = "hold" }
extension AuditRow: FetchableRecord, PersistableRecord { static let databaseTableName = "audit" }
extension CheckpointRow: FetchableRecord, PersistableRecord { static let databaseTableName = "checkpoint" }
