import Foundation

/// Where the vault keeps its index — segments, buckets, legal holds and the audit log — behind every query the vault
/// makes of it. The vault decides; a store only keeps and finds rows (each authenticated by the vault, see
/// `IndexAuthenticator`), and runs a `write` as one transaction, so an action and its audit entry commit together.
///
/// `SQLite/SQLiteVaultIndex.swift` is the implementation (GRDB, one file beside the vault). Another database (a
/// PostgreSQL index for a site with several machines, not built) is another implementation in a folder beside it;
/// the keystore is deliberately not part of it: keys stay on the machine.
protocol VaultIndexStore: Sendable {
    func read<T>(_ body: (any VaultIndexReading) throws -> T) throws -> T
    /// One transaction: all of `body`'s changes commit, or none.
    func write<T>(_ body: (any VaultIndexWriting) throws -> T) throws -> T
}

/// The index's queries. Times are seconds since 1970; "complete" segments are those whose file is whole on disk.
protocol VaultIndexReading {
    // Segments
    func segment(id: String) throws -> SegmentRow?
    func segments(ids: [String]) throws -> [SegmentRow]
    /// Complete segments of a camera overlapping `from`..`to`, oldest first.
    func completeSegments(camera: String, overlapping from: Double, _ to: Double) throws -> [SegmentRow]
    /// Every segment (any state) of a camera overlapping `from`..`to`.
    func segments(camera: String, overlapping from: Double, _ to: Double) throws -> [SegmentRow]
    /// Complete segments of a camera and category that ended by `cutoff`, oldest first.
    func completeSegments(camera: String, category: String, endedBy cutoff: Double) throws -> [SegmentRow]
    func segments(inBucket bucket: String) throws -> [SegmentRow]
    func segmentCount(inBucket bucket: String) throws -> Int
    /// Complete segments per camera and category.
    func segmentSummary() throws -> [SegmentSummary]
    func allSegments() throws -> [SegmentRow]

    // Buckets
    func bucket(id: String) throws -> BucketRow?
    func buckets(camera: String, category: String, dayStart: Double) throws -> [BucketRow]
    func allBuckets() throws -> [BucketRow]

    // Legal holds
    func hold(id: String) throws -> HoldRow?
    /// Ordered by when they were placed.
    func holds(includeReleased: Bool) throws -> [HoldRow]

    // Audit log
    func lastAuditEntry() throws -> AuditRow?
    func auditEntries(after seq: Int64, limit: Int) throws -> [AuditRow]
    /// Every entry in sequence order, one at a time (the log may be long).
    func forEachAuditEntry(_ body: (AuditRow) throws -> Void) throws
    func checkpoint(seq: Int64) throws -> CheckpointRow?
    func checkpoints() throws -> [CheckpointRow]
}

/// The index's changes, inside one transaction.
protocol VaultIndexWriting: VaultIndexReading {
    func insert(_ segment: SegmentRow) throws
    func update(_ segment: SegmentRow) throws
    func deleteSegments(ids: [String]) throws
    func deleteSegments(inBucket bucket: String) throws
    func insert(_ bucket: BucketRow) throws
    func update(_ bucket: BucketRow) throws
    func insert(_ hold: HoldRow) throws
    func update(_ hold: HoldRow) throws
    func insert(_ entry: AuditRow) throws
    func insert(_ checkpoint: CheckpointRow) throws
    /// Runs `action` once the transaction has committed (never if it rolls back).
    func afterCommit(_ action: @escaping @Sendable () -> Void)
}
