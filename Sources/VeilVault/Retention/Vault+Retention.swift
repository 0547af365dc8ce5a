public import Foundation
public import VeilCore
internal import GRDB

/// What a retention sweep will do, and why: computed first so that `--dry-run` shows exactly what `apply`
/// would destroy.
public struct RetentionPlan: Sendable {
    /// Segments past their retention, grouped by camera, category and the rule that expires them.
    public struct Group: Sendable, Equatable {
        public var camera: CameraID
        public var category: DataCategory
        public var rule: RuleID
        public var duration: PolicyDuration
        public var segmentIDs: [String]
        public var oldest: Date
        public var newest: Date
        /// Segments past retention but kept because a legal hold covers them.
        public var held: Int
    }

    /// Events past their retention, per camera and kind.
    public struct EventGroup: Sendable, Equatable {
        public var camera: CameraID
        public var kind: AlertKind
        public var rule: RuleID
        public var count: Int
    }

    public var now: Date
    public var policyVersion: String
    public var groups: [Group] = []
    public var events: [EventGroup] = []
    /// Buckets whose every segment is gone and whose day is past retention: their keys will be destroyed.
    public var buckets: [String] = []
    /// Camera and category pairs the policy gives no retention rule: kept and reported, never destroyed silently.
    public var unscheduled: [(camera: CameraID, category: DataCategory, count: Int)] = []

    public var segmentCount: Int { groups.reduce(0) { $0 + $1.segmentIDs.count } }
}

/// What a sweep did.
public struct RetentionReport: Sendable, Equatable {
    public var segmentsDestroyed = 0
    public var eventsDeleted = 0
    public var keysDestroyed = 0
}

extension Vault {
    /// Computes what the policy's retention rules expire at `now`. Nothing is changed.
    public func retentionPlan(at now: Date) throws -> RetentionPlan {
        guard let schedule else { throw VaultError(.invalidArgument, "no policy loaded: retention cannot be planned") }
        var plan = RetentionPlan(now: now, policyVersion: schedule.policyVersion)
        let heldClause = """
            EXISTS (SELECT 1 FROM hold h WHERE h.camera = segment.camera AND h.releasedAt IS NULL
                    AND (h.expiresAt IS NULL OR h.expiresAt > :now) AND h.start < segment."end" AND h."end" > segment.start)
            """
        try readIndex { db in
            let pairs = try Row.fetchAll(db, sql: "SELECT camera, category, COUNT(*) AS n FROM segment WHERE state = 'complete' GROUP BY camera, category ORDER BY camera, category")
            for pair in pairs {
                let camera = CameraID(pair["camera"] as String)
                guard let category = DataCategory(rawValue: pair["category"]),
                    let period = schedule.retention(camera: camera, category: category, eventKind: nil)
                else {
                    plan.unscheduled.append((camera, DataCategory(rawValue: pair["category"]) ?? .redactedVideo, pair["n"]))
                    continue
                }
                let cutoff = now.timeIntervalSince1970 - Double(period.duration.seconds)
                let arguments: StatementArguments = ["camera": camera.rawValue, "category": category.rawValue,
                                                     "cutoff": cutoff, "now": now.timeIntervalSince1970]
                let expired = try Row.fetchAll(db, sql: """
                    SELECT id, start, "end" FROM segment WHERE camera = :camera AND category = :category
                    AND state = 'complete' AND "end" <= :cutoff AND NOT \(heldClause) ORDER BY start
                    """, arguments: arguments)
                let held = try Int.fetchOne(db, sql: """
                    SELECT COUNT(*) FROM segment WHERE camera = :camera AND category = :category
                    AND state = 'complete' AND "end" <= :cutoff AND \(heldClause)
                    """, arguments: arguments) ?? 0
                guard !expired.isEmpty || held > 0 else { continue }
                plan.groups.append(RetentionPlan.Group(
                    camera: camera, category: category, rule: period.rule, duration: period.duration,
                    segmentIDs: expired.map { $0["id"] },
                    oldest: Date(timeIntervalSince1970: expired.first?["start"] ?? cutoff),
                    newest: Date(timeIntervalSince1970: expired.last?["end"] ?? cutoff), held: held))
            }
            let kinds = try Row.fetchAll(db, sql: "SELECT camera, kind, COUNT(*) AS n FROM event GROUP BY camera, kind ORDER BY camera, kind")
            for pair in kinds {
                let camera = CameraID(pair["camera"] as String), kind = AlertKind(pair["kind"] as String)
                guard let period = schedule.retention(camera: camera, category: .events, eventKind: kind) else { continue }
                let cutoff = now.timeIntervalSince1970 - Double(period.duration.seconds)
                let count = try EventRow.filter(Column("camera") == camera.rawValue && Column("kind") == kind.rawValue
                                                && Column("time") <= cutoff).fetchCount(db)
                if count > 0 { plan.events.append(.init(camera: camera, kind: kind, rule: period.rule, count: count)) }
            }
            // A bucket's key goes once its day is past retention and no segment of it survives this sweep.
            let expiring = Set(plan.groups.flatMap(\.segmentIDs))
            for bucket in try BucketRow.filter(Column("state") == BucketRow.active).fetchAll(db) {
                guard let category = DataCategory(rawValue: bucket.category),
                    let period = schedule.retention(camera: CameraID(bucket.camera), category: category, eventKind: nil),
                    bucket.dayEnd + Double(period.duration.seconds) <= now.timeIntervalSince1970
                else { continue }
                let remaining = try String.fetchAll(db, sql: "SELECT id FROM segment WHERE bucket = ?", arguments: [bucket.id])
                if remaining.allSatisfy(expiring.contains) { plan.buckets.append(bucket.id) }
            }
        }
        return plan
    }

    /// Carries out a plan: destroys segment keys first (so the footage is unreadable even if the process
    /// dies before the files go), then files and index rows, then bucket keys; audits each group.
    @discardableResult
    public func apply(_ plan: RetentionPlan, actor: String = "retention-sweeper") throws -> RetentionReport {
        var report = RetentionReport()
        for group in plan.groups where !group.segmentIDs.isEmpty {
            try destroySegments(group.segmentIDs)
            report.segmentsDestroyed += group.segmentIDs.count
            try write { db in
                _ = try audit.append(db, .retentionSweep, actor: actor, subject: group.camera.rawValue,
                                     rules: [group.rule.rawValue], details: [
                                        "category": group.category.rawValue, "segments": String(group.segmentIDs.count),
                                        "from": Self.timestamp(group.oldest), "to": Self.timestamp(group.newest),
                                        "policy": plan.policyVersion, "held": String(group.held),
                                        "judged-at": Self.timestamp(plan.now),
                                     ])
            }
        }
        for group in plan.events {
            let cutoff = plan.now.timeIntervalSince1970
                - Double((schedule?.retention(camera: group.camera, category: .events, eventKind: group.kind)?.duration.seconds) ?? 0)
            let deleted = try write { db in
                let count = try EventRow.filter(Column("camera") == group.camera.rawValue && Column("kind") == group.kind.rawValue
                                                && Column("time") <= cutoff).deleteAll(db)
                _ = try audit.append(db, .retentionSweep, actor: actor, subject: group.camera.rawValue, rules: [group.rule.rawValue],
                                     details: ["category": "events", "kind": group.kind.rawValue, "events": String(count),
                                               "policy": plan.policyVersion, "judged-at": Self.timestamp(plan.now)])
                return count
            }
            report.eventsDeleted += deleted
        }
        report.keysDestroyed = try destroyBuckets(plan.buckets, actor: actor, reason: "retention", at: Date())
        return report
    }

    /// Destroys segment keys, files and rows, in that order.
    func destroySegments(_ ids: [String]) throws {
        let batchSize = 10_000
        for start in stride(from: 0, to: ids.count, by: batchSize) {
            let batch = Array(ids[start..<min(ids.count, start + batchSize)])
            try keystore.destroy(ids: batch.map(Self.segmentKeyID))
            let paths = try readIndex { db in
                try String.fetchAll(db, sql: "SELECT path FROM segment WHERE id IN (SELECT value FROM json_each(?))",
                                    arguments: [Self.jsonArray(batch)])
            }
            for path in paths { unlink(configuration.vaultDirectory + "/" + path) }
            try write { db in
                try db.execute(sql: "DELETE FROM segment WHERE id IN (SELECT value FROM json_each(?))", arguments: [Self.jsonArray(batch)])
            }
        }
    }

    /// Destroys bucket keys (and any segment key still under them) and records each destruction.
    func destroyBuckets(_ ids: [String], actor: String, reason: String, at time: Date) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        try keystore.destroy(ids: ids)
        forgetBucketKeys(ids)
        try write { db in
            for id in ids {
                try db.execute(sql: "UPDATE bucket SET state = ?, destroyedAt = ?, destroyedBy = ? WHERE id = ?",
                               arguments: [BucketRow.destroyed, time.timeIntervalSince1970, actor, id])
                _ = try audit.append(db, .keyDestroyed, actor: actor, subject: id, details: ["reason": reason], at: time)
            }
        }
        return ids.count
    }

    static func timestamp(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    static func jsonArray(_ strings: [String]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: strings)) ?? Data("[]".utf8), as: UTF8.self)
    }
}
