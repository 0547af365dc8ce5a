public import Foundation
public import VeilCore

/// One legal hold as the console lists it. The case reference is never listed: it stays in the vault.
public struct ConsoleHold: Sendable, Codable, Equatable {
    public var id: String
    public var camera: String
    public var from: Date
    public var to: Date
    public var placedAt: Date
    public var placedBy: String
    public var expiresAt: Date?
    public init(
        id: String, camera: String, from: Date, to: Date, placedAt: Date, placedBy: String, expiresAt: Date?
    ) {
        self.id = id
        self.camera = camera
        self.from = from
        self.to = to
        self.placedAt = placedAt
        self.placedBy = placedBy
        self.expiresAt = expiresAt
    }
}

/// Legal holds in the running gateway's vault, and its audit log for the console's own decisions (approvals).
public protocol ConsoleEvidenceDesk: Sendable {
    func holds() async throws -> [ConsoleHold]
    /// Places a hold; `actor` is how the audit log names who did it (`operator:NAME`).
    func placeHold(
        camera: CameraID, from: Date, to: Date, caseReference: String, by actor: String
    ) async throws
        -> ConsoleHold
    func renewHold(_ id: String, by actor: String) async throws -> ConsoleHold
    func releaseHold(_ id: String, by actor: String) async throws
    /// Erases a camera's footage in a range (refused under a legal hold); returns how many segments went.
    func erase(camera: CameraID, from: Date, to: Date, by actor: String) async throws -> Int
    /// Records a step of the two-person rule (requested, approved, refused, expired) in the audit log: ids only.
    func audit(_ action: String, actor: String, subject: String, details: [String: String]) async throws
    /// The policy's `retention.legal-hold.approvers`: the roles that may place, renew and release holds (of those the
    /// console knows; `evidence-officer` and `dpo` when the policy names none of them).
    var holdRoles: Set<OperatorRole> { get }
    /// The policy's cameras, for the form that places a hold.
    var cameraIDs: [CameraID] { get }
    /// What the vault keeps per camera and category, under which retention rule, and when it expires.
    func retentionCalendar() async throws -> [ConsoleRetentionRow]
    /// A camera's stored footage in a range: its original (identifiable) recording when `original`, else what was
    /// stored redacted. Oldest first.
    func footage(camera: CameraID, from: Date, to: Date, original: Bool) async throws -> [ConsoleFootagePart]
    /// One segment of a camera's original footage, decrypted, if it is original footage of that camera overlapping the
    /// range (an approved view covers no more).
    func originalSegment(_ id: String, camera: CameraID, from: Date, to: Date) async throws -> Data?
    /// Writes a signed export bundle (`vault export`'s) of the range into a new folder and returns its path; the caller
    /// streams it and hands it to ``discardExport(_:)``. Audited as an export by `actor`.
    func exportBundle(camera: CameraID, from: Date, to: Date, original: Bool, by actor: String) async throws -> String
    func discardExport(_ folder: String)
}

/// A stored segment of footage as the console lists it.
public struct ConsoleFootagePart: Sendable, Codable, Equatable {
    public var id: String
    public var start: Date
    public var end: Date
    public var category: String
    public init(id: String, start: Date, end: Date, category: String) {
        self.id = id
        self.start = start
        self.end = end
        self.category = category
    }
}

/// One line of the retention calendar: a camera's stored data of one category.
public struct ConsoleRetentionRow: Sendable, Codable, Equatable {
    public var camera: String
    public var category: String
    public var segments: Int
    public var oldest: Date
    public var newest: Date
    /// The rule that keeps it and for how long (`raw-72h`, `72h`); nil when no rule covers it any more (it goes at the
    /// next sweep unless held).
    public var rule: String?
    public var duration: String?
    /// When the oldest and the newest of it expire, unless a hold keeps them.
    public var oldestExpires: Date?
    public var newestExpires: Date?
    public init(
        camera: String, category: String, segments: Int, oldest: Date, newest: Date, rule: String?, duration: String?,
        oldestExpires: Date?, newestExpires: Date?
    ) {
        self.camera = camera
        self.category = category
        self.segments = segments
        self.oldest = oldest
        self.newest = newest
        self.rule = rule
        self.duration = duration
        self.oldestExpires = oldestExpires
        self.newestExpires = newestExpires
    }
}
