import Foundation
internal import GRDB

/// The vault's SQLite index (WAL mode, migrations): segments, buckets, events, holds, the audit log.
/// It holds no key material; keys live in the ``Keystore``, apart from the vault folder.
final class VaultIndex: Sendable {
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
        return migrator
    }
}

// MARK: Rows

struct SegmentRow: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "segment"
    var id: String
    var camera: String
    var category: String
    var start: Double
    var end: Double
    var bucket: String
    var container: String
    var size: Int64
    /// SHA-256 over the file's header and every chunk's authentication tag: cheap to check, and any change to
    /// the file that survives it fails authentication anyway.
    var fingerprint: String
    var state: String
    var policyVersion: String
    var redaction: String
    var createdAt: Double
    var mac = ""

    /// The fields the row's MAC covers: everything the vault acts on.
    var authenticatedFields: [String] {
        [
            "segment", id, camera, category, Canonical.number(start), Canonical.number(end), bucket, container,
            String(size),
            fingerprint, state, policyVersion, redaction,
        ]
    }

    /// Where the file lives, derived from authenticated fields (never stored, so never redirected).
    var relativePath: String {
        let day = bucket.split(separator: "/").last.map { String($0.prefix(10)) } ?? "unknown"
        return "segments/\(camera)/\(day)/\(id).vgs"
    }

    /// Every row written today is complete: a segment is recorded only once its file is whole on disk.
    static let complete = "complete"
}

struct BucketRow: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "bucket"
    var id: String
    var camera: String
    var category: String
    var dayStart: Double
    var dayEnd: Double
    var state: String
    var createdAt: Double
    var destroyedAt: Double?
    var destroyedBy: String?
    var mac = ""

    var authenticatedFields: [String] {
        [
            "bucket", id, camera, category, Canonical.number(dayStart), Canonical.number(dayEnd), state,
            Canonical.number(destroyedAt), destroyedBy ?? "-",
        ]
    }

    static let active = "active"
    static let destroyed = "destroyed"
}

struct EventRow: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "event"
    var id: String
    var camera: String
    var kind: String
    var time: Double
    var zone: String?
    var payload: String
}

struct HoldRow: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "hold"
    var id: String
    var camera: String
    var start: Double
    var end: Double
    var caseReference: String?
    var placedAt: Double
    var placedBy: String
    var expiresAt: Double?
    var releasedAt: Double?
    var releasedBy: String?
    var mac = ""

    var authenticatedFields: [String] {
        [
            "hold", id, camera, Canonical.number(start), Canonical.number(end), caseReference ?? "-",
            Canonical.number(placedAt),
            placedBy, Canonical.number(expiresAt), Canonical.number(releasedAt), releasedBy ?? "-",
        ]
    }
}

struct AuditRow: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "audit"
    var seq: Int64
    var time: Double
    var action: String
    var actor: String
    var subject: String
    var rules: String
    var details: String
    var previousHash: String
    var hash: String
}

struct CheckpointRow: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "checkpoint"
    var seq: Int64
    var hash: String
    var time: Double
    var signer: String
    var signature: String
}
