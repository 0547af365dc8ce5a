public import Foundation
public import VeilCore
internal import GRDB

extension Vault {
    /// Places a legal hold: the camera's footage in the range is exempt from expiry until released.
    /// The case reference is stored with the hold but never written to the audit log or printed.
    public func placeHold(camera: CameraID, from: Date, to: Date, caseReference: String?, by actor: String,
                          at now: Date = Date()) throws -> LegalHold
    {
        guard to > from else { throw VaultError(.invalidArgument, "a hold must end after it starts") }
        if schedule?.legalHoldRequiresCaseReference ?? true, (caseReference ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            throw VaultError(.invalidArgument, "the policy requires a case reference to place a hold")
        }
        let row = HoldRow(id: "hold-" + UUID().uuidString.lowercased().prefix(8), camera: camera.rawValue,
                          start: from.timeIntervalSince1970, end: to.timeIntervalSince1970, caseReference: caseReference,
                          placedAt: now.timeIntervalSince1970, placedBy: actor,
                          expiresAt: schedule?.legalHoldMaxDuration.map { now.timeIntervalSince1970 + Double($0.seconds) },
                          releasedAt: nil, releasedBy: nil)
        try write { db in
            try row.insert(db)
            _ = try audit.append(db, .holdPlaced, actor: actor, subject: row.id, details: [
                "camera": camera.rawValue, "from": Self.timestamp(from), "to": Self.timestamp(to),
            ], at: now)
        }
        return LegalHold(row)
    }

    /// Releases a hold; its footage expires at the next sweep if past retention.
    public func releaseHold(_ id: String, by actor: String, at now: Date = Date()) throws {
        try write { db in
            guard var row = try HoldRow.fetchOne(db, key: id), row.releasedAt == nil else {
                throw VaultError(.notFound, "no active hold \(id)")
            }
            row.releasedAt = now.timeIntervalSince1970
            row.releasedBy = actor
            try row.update(db)
            _ = try audit.append(db, .holdReleased, actor: actor, subject: id, details: ["camera": row.camera], at: now)
        }
    }

    public func holds(includeReleased: Bool = false) throws -> [LegalHold] {
        try readIndex { db in
            let request = includeReleased ? HoldRow.all() : HoldRow.filter(Column("releasedAt") == nil)
            return try request.order(Column("placedAt")).fetchAll(db).map(LegalHold.init)
        }
    }

    /// Erases a camera's footage in a range (GDPR Art. 17): destroys the segment keys, the files and the
    /// rows, and the keys of buckets left empty; records it. Refuses footage under a legal hold.
    public func erase(camera: CameraID, from: Date, to: Date, by actor: String, at now: Date = Date()) throws -> Int {
        let (ids, held, buckets) = try readIndex { db -> ([String], [String], [String]) in
            let arguments: StatementArguments = ["camera": camera.rawValue, "from": from.timeIntervalSince1970,
                                                 "to": to.timeIntervalSince1970, "now": now.timeIntervalSince1970]
            let ids = try String.fetchAll(db, sql: """
                SELECT id FROM segment WHERE camera = :camera AND start < :to AND "end" > :from
                """, arguments: arguments)
            let held = try String.fetchAll(db, sql: """
                SELECT id FROM hold WHERE camera = :camera AND releasedAt IS NULL AND (expiresAt IS NULL OR expiresAt > :now)
                AND start < :to AND "end" > :from
                """, arguments: arguments)
            let buckets = try String.fetchAll(db, sql: """
                SELECT DISTINCT bucket FROM segment WHERE camera = :camera AND start < :to AND "end" > :from
                """, arguments: arguments)
            return (ids, held, buckets)
        }
        guard held.isEmpty else {
            throw VaultError(.onHold, "footage of \(camera) in this range is under legal hold \(held.joined(separator: ", ")); release it first")
        }
        try destroySegments(ids)
        try write { db in
            _ = try audit.append(db, .erasure, actor: actor, subject: camera.rawValue, details: [
                "from": Self.timestamp(from), "to": Self.timestamp(to), "segments": String(ids.count),
            ], at: now)
        }
        let empty = try readIndex { db in
            try buckets.filter { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM segment WHERE bucket = ?", arguments: [$0]) == 0 }
        }
        _ = try destroyBuckets(empty, actor: actor, reason: "erasure", at: now)
        return ids.count
    }
}
