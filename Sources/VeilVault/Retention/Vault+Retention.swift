public import Foundation
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

    public var now: Date
    public var policyVersion: String
    public var groups: [Group] = []
    /// Bucket keys whose day is past retention and that no hold covers: destroyed, and with them every segment
    /// of that day whatever its index row says. Taken from the keystore's key ids, which the key wrapping
    /// authenticates, so editing the index cannot keep a day alive.
    public var buckets: [String] = []
    /// Holds that reached their maximum duration: they lapse (and are audited) when the plan is applied.
    public var lapsedHolds: [String] = []
    /// Index rows (segments or holds) whose authentication failed: reported, never trusted.
    public var tampered: [String] = []
    /// Camera and category pairs the policy gives no retention rule: kept and reported, never destroyed silently.
    /// (Alerts and counts are kept by the alert journal, which applies the same schedule.)
    public var unscheduled: [(camera: CameraID, category: String, count: Int)] = []

    public var segmentCount: Int { groups.reduce(0) { $0 + $1.segmentIDs.count } }
}

/// What a sweep did.
public struct RetentionReport: Sendable, Equatable {
    public var segmentsDestroyed = 0
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
        try readIndex { index in
            for pair in try index.segmentSummary() {
                let camera = CameraID(pair.camera)
                guard let category = DataCategory(rawValue: pair.category),
                    let period = schedule.retention(camera: camera, category: category, eventKind: nil)
                else {
                    plan.unscheduled.append((camera, pair.category, pair.count))
                    continue
                }
                let cutoff = now.timeIntervalSince1970 - Double(period.duration.seconds)
                let candidates = try index.completeSegments(
                    camera: camera.rawValue, category: category.rawValue, endedBy: cutoff)
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
            try write { index in
                _ = try audit.append(
                    index, .retentionSweep, actor: actor, subject: "index",
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
            let rows = try readIndex { try $0.segments(ids: batch) }
            for row in rows { unlink(configuration.vaultDirectory + "/" + row.relativePath) }
            let isFirst = first
            try write { index in
                try index.deleteSegments(ids: batch)
                if isFirst {
                    _ = try audit.append(
                        index, entry.0, actor: entry.1, subject: entry.2, rules: entry.3, details: entry.4)
                }
            }
            first = false
        }
        if ids.isEmpty {
            _ = try write { index in
                try audit.append(index, entry.0, actor: entry.1, subject: entry.2, rules: entry.3, details: entry.4)
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
            let rows = try readIndex { try $0.segments(inBucket: id) }
            for row in rows { unlink(configuration.vaultDirectory + "/" + row.relativePath) }
            removed += rows.count
            try write { index in
                try index.deleteSegments(inBucket: id)
                if var bucket = try index.bucket(id: id) {
                    bucket.state = BucketRow.destroyed
                    bucket.destroyedAt = Date().timeIntervalSince1970
                    bucket.destroyedBy = actor
                    bucket.mac = authenticator.mac(bucket.authenticatedFields)
                    try index.update(bucket)
                }
                _ = try audit.append(
                    index, .keyDestroyed, actor: actor, subject: id,
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
