public import Foundation
internal import GRDB
public import VeilCore

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
    /// Bucket keys whose day is past retention and that no hold covers: destroyed, and with them every segment
    /// of that day whatever its index row says. Taken from the keystore's key ids, which the key wrapping
    /// authenticates, so editing the index cannot keep a day alive.
    public var buckets: [String] = []
    /// Holds that reached their maximum duration: they lapse (and are audited) when the plan is applied.
    public var lapsedHolds: [String] = []
    /// Index rows (segments or holds) whose authentication failed: reported, never trusted.
    public var tampered: [String] = []
    /// Camera and category pairs (and event kinds) the policy gives no retention rule: kept and reported, never
    /// destroyed silently.
    public var unscheduled: [(camera: CameraID, category: String, count: Int)] = []

    public var segmentCount: Int { groups.reduce(0) { $0 + $1.segmentIDs.count } }
}

/// What a sweep did.
public struct RetentionReport: Sendable, Equatable {
    public var segmentsDestroyed = 0
    public var eventsDeleted = 0
    public var keysDestroyed = 0
    /// Index rows that failed authentication and were skipped (and audited): everything else due was destroyed.
    public var tampered: [String] = []
}

extension Vault {
    /// Computes what the policy's retention rules expire at `now`. Nothing is changed.
    public func retentionPlan(at now: Date) throws -> RetentionPlan {
        guard let schedule else { throw VaultError(.invalidArgument, "no policy loaded: retention cannot be planned") }
        var plan = RetentionPlan(now: now, policyVersion: schedule.policyVersion)
        let holds = try activeHolds(at: now, plan: &plan)
        try readIndex { db in
            let pairs = try Row.fetchAll(
                db,
                sql:
                    "SELECT camera, category, COUNT(*) AS n FROM segment WHERE state = 'complete' GROUP BY camera, category ORDER BY camera, category"
            )
            for pair in pairs {
                let camera = CameraID(pair["camera"] as String)
                guard let category = DataCategory(rawValue: pair["category"]),
                    let period = schedule.retention(camera: camera, category: category, eventKind: nil)
                else {
                    plan.unscheduled.append((camera, pair["category"], pair["n"]))
                    continue
                }
                let cutoff = now.timeIntervalSince1970 - Double(period.duration.seconds)
                let candidates = try SegmentRow.filter(
                    Column("camera") == camera.rawValue && Column("category") == category.rawValue
                        && Column("state") == SegmentRow.complete && Column("end") <= cutoff
                )
                .order(Column("start")).fetchAll(db)
                var expired: [SegmentRow] = []
                var held = 0
                for row in candidates {
                    guard authenticator.isValid(row.mac, row.authenticatedFields) else {
                        plan.tampered.append("segment \(row.id)")
                        continue
                    }
                    if holds[camera]?.contains(where: { $0.start < row.end && $0.end > row.start }) == true {
                        held += 1
                    } else {
                        expired.append(row)
                    }
                }
                guard !expired.isEmpty || held > 0 else { continue }
                plan.groups.append(
                    RetentionPlan.Group(
                        camera: camera, category: category, rule: period.rule, duration: period.duration,
                        segmentIDs: expired.map(\.id),
                        oldest: Date(timeIntervalSince1970: expired.first?.start ?? cutoff),
                        newest: Date(timeIntervalSince1970: expired.last?.end ?? cutoff), held: held))
            }
            let kinds = try Row.fetchAll(
                db, sql: "SELECT camera, kind, COUNT(*) AS n FROM event GROUP BY camera, kind ORDER BY camera, kind")
            for pair in kinds {
                let camera = CameraID(pair["camera"] as String), kind = AlertKind(pair["kind"] as String)
                guard let period = schedule.retention(camera: camera, category: .events, eventKind: kind) else {
                    plan.unscheduled.append((camera, "events (\(kind))", pair["n"]))
                    continue
                }
                let cutoff = now.timeIntervalSince1970 - Double(period.duration.seconds)
                let count = try EventRow.filter(
                    Column("camera") == camera.rawValue && Column("kind") == kind.rawValue
                        && Column("time") <= cutoff
                ).fetchCount(db)
                if count > 0 { plan.events.append(.init(camera: camera, kind: kind, rule: period.rule, count: count)) }
            }
        }
        for id in try keystore.bucketKeyIDs() {
            guard let bucket = Self.parseBucketID(id),
                let period = schedule.retention(camera: bucket.camera, category: bucket.category, eventKind: nil),
                bucket.dayEnd + Double(period.duration.seconds) <= now.timeIntervalSince1970,
                holds[bucket.camera]?.contains(where: { $0.start < bucket.dayEnd && $0.end > bucket.dayStart }) != true
            else { continue }
            plan.buckets.append(id)
        }
        return plan
    }

    /// Carries out a plan: destroys segment keys first (so the footage is unreadable even if the process dies
    /// before the files go), then files and index rows, then bucket keys and whatever their day still held;
    /// audits each step in the same transaction as its index change.
    ///
    /// Rows that fail authentication (``RetentionPlan/tampered``) are skipped, reported and audited — never a reason to
    /// keep everyone else's footage past its retention. They protect nothing: a forged hold is ignored, and an altered
    /// segment row's day goes with its bucket key, which the keystore authenticates.
    @discardableResult
    public func apply(_ plan: RetentionPlan, actor: String = "retention-sweeper") throws -> RetentionReport {
        var report = RetentionReport(tampered: plan.tampered)
        if !plan.tampered.isEmpty {
            try write { db in
                _ = try audit.append(
                    db, .retentionSweep, actor: actor, subject: "index",
                    details: [
                        "altered-rows": String(plan.tampered.count),
                        "first": Canonical.plainLine(plan.tampered[0], limit: 160),
                        "policy": plan.policyVersion, "judged-at": Self.timestamp(plan.now),
                    ])
            }
        }
        for id in plan.lapsedHolds { try lapseHold(id, actor: actor) }
        for group in plan.groups where !group.segmentIDs.isEmpty {
            try destroySegments(
                group.segmentIDs,
                audit: (
                    .retentionSweep, actor, group.camera.rawValue, [group.rule.rawValue],
                    [
                        "category": group.category.rawValue, "segments": String(group.segmentIDs.count),
                        "from": Self.timestamp(group.oldest), "to": Self.timestamp(group.newest),
                        "policy": plan.policyVersion, "held": String(group.held), "judged-at": Self.timestamp(plan.now),
                    ]
                ))
            report.segmentsDestroyed += group.segmentIDs.count
        }
        for group in plan.events {
            let cutoff =
                plan.now.timeIntervalSince1970
                - Double(
                    (schedule?.retention(camera: group.camera, category: .events, eventKind: group.kind)?.duration
                        .seconds) ?? 0)
            let deleted = try write { db in
                let count = try EventRow.filter(
                    Column("camera") == group.camera.rawValue && Column("kind") == group.kind.rawValue
                        && Column("time") <= cutoff
                ).deleteAll(db)
                _ = try audit.append(
                    db, .retentionSweep, actor: actor, subject: group.camera.rawValue, rules: [group.rule.rawValue],
                    details: [
                        "category": "events", "kind": group.kind.rawValue, "events": String(count),
                        "policy": plan.policyVersion, "judged-at": Self.timestamp(plan.now),
                    ])
                return count
            }
            report.eventsDeleted += deleted
        }
        let (keys, segments) = try destroyBuckets(plan.buckets, actor: actor, reason: "retention")
        report.keysDestroyed = keys
        report.segmentsDestroyed += segments
        return report
    }

    /// Destroys segment keys, then files, then rows with their audit entry in one transaction.
    func destroySegments(
        _ ids: [String],
        audit entry: (AuditLog.Action, String, String, [String], [String: String])
    ) throws {
        let batchSize = 10_000
        var first = true
        for start in stride(from: 0, to: ids.count, by: batchSize) {
            let batch = Array(ids[start..<min(ids.count, start + batchSize)])
            try keystore.destroy(ids: batch.map(Self.segmentKeyID))
            let rows = try readIndex { db in
                try SegmentRow.fetchAll(
                    db, sql: "SELECT * FROM segment WHERE id IN (SELECT value FROM json_each(?))",
                    arguments: [Canonical.jsonList(batch)])
            }
            for row in rows { unlink(configuration.vaultDirectory + "/" + row.relativePath) }
            let isFirst = first
            try write { db in
                try db.execute(
                    sql: "DELETE FROM segment WHERE id IN (SELECT value FROM json_each(?))",
                    arguments: [Canonical.jsonList(batch)])
                if isFirst {
                    _ = try audit.append(
                        db, entry.0, actor: entry.1, subject: entry.2, rules: entry.3, details: entry.4)
                }
            }
            first = false
        }
        if ids.isEmpty {
            _ = try write { db in
                try audit.append(db, entry.0, actor: entry.1, subject: entry.2, rules: entry.3, details: entry.4)
            }
        }
    }

    /// Destroys bucket keys (and every segment key under them), then the files and rows of their segments, and
    /// records each destruction. Returns the keys destroyed and the segments removed with them.
    func destroyBuckets(_ ids: [String], actor: String, reason: String) throws -> (Int, Int) {
        guard !ids.isEmpty else { return (0, 0) }
        try keystore.destroy(ids: ids)
        forgetBucketKeys(ids)
        var removed = 0
        for id in ids {
            let rows = try readIndex { db in try SegmentRow.filter(Column("bucket") == id).fetchAll(db) }
            for row in rows { unlink(configuration.vaultDirectory + "/" + row.relativePath) }
            removed += rows.count
            try write { db in
                try SegmentRow.filter(Column("bucket") == id).deleteAll(db)
                if var bucket = try BucketRow.fetchOne(db, key: id) {
                    bucket.state = BucketRow.destroyed
                    bucket.destroyedAt = Date().timeIntervalSince1970
                    bucket.destroyedBy = actor
                    bucket.mac = authenticator.mac(bucket.authenticatedFields)
                    try bucket.update(db)
                }
                _ = try audit.append(
                    db, .keyDestroyed, actor: actor, subject: id,
                    details: ["reason": reason, "segments": String(rows.count)])
            }
        }
        return (ids.count, removed)
    }

    /// A bucket key id's camera, category and day: `bucket:CAMERA/CATEGORY/YYYY-MM-DD[#generation]`.
    static func parseBucketID(
        _ id: String
    ) -> (camera: CameraID, category: DataCategory, dayStart: Double, dayEnd: Double)? {
        guard id.hasPrefix("bucket:") else { return nil }
        let parts = id.dropFirst("bucket:".count).split(separator: "/")
        guard parts.count == 3, let category = DataCategory(rawValue: String(parts[1])) else { return nil }
        let day = String(parts[2].prefix(10))
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        guard let start = formatter.date(from: day) else { return nil }
        return (CameraID(String(parts[0])), category, start.timeIntervalSince1970, start.timeIntervalSince1970 + 86_400)
    }

    static func timestamp(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

}
