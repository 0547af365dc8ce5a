public import Foundation
public import VeilCore

/// What the pipeline says about a segment it hands to the vault.
public struct SegmentDescriptor: Sendable, Hashable {
    public var camera: CameraID
    public var category: DataCategory
    public var start: Date
    public var end: Date
    /// The container format, used as the exported file's extension (`mp4`, `m4s`, `ts`).
    public var container: String
    /// The policy version in force when the segment was recorded.
    public var policyVersion: String
    /// The redaction applied before storage, in words (from ``RedactionSpec``'s description).
    public var redaction: String

    public init(
        camera: CameraID, category: DataCategory, start: Date, end: Date, container: String = "mp4",
        policyVersion: String, redaction: String
    ) {
        self.camera = camera
        self.category = category
        self.start = start
        self.end = end
        self.container = container
        self.policyVersion = policyVersion
        self.redaction = redaction
    }
}

/// A segment the vault holds.
public struct StoredSegment: Sendable, Hashable {
    public var id: String
    public var descriptor: SegmentDescriptor
    /// Size of the encrypted file in bytes.
    public var size: Int64
    /// The file's fingerprint: SHA-256 over its header and chunk tags, hex.
    public var fingerprint: String

    init(_ row: SegmentRow) {
        id = row.id
        descriptor = SegmentDescriptor(
            camera: CameraID(row.camera), category: DataCategory(rawValue: row.category) ?? .redactedVideo,
            start: Date(timeIntervalSince1970: row.start), end: Date(timeIntervalSince1970: row.end),
            container: row.container, policyVersion: row.policyVersion, redaction: row.redaction)
        size = row.size
        fingerprint = row.fingerprint
    }
}

/// A legal hold (evidence lock): footage of a camera in a time range is exempt from expiry until released.
public struct LegalHold: Sendable, Hashable {
    public var id: String
    public var camera: CameraID
    public var start: Date
    public var end: Date
    public var placedAt: Date
    public var placedBy: String
    public var expiresAt: Date?
    public var releasedAt: Date?

    public var isActive: Bool { releasedAt == nil }

    init(_ row: HoldRow) {
        id = row.id
        camera = CameraID(row.camera)
        start = Date(timeIntervalSince1970: row.start)
        end = Date(timeIntervalSince1970: row.end)
        placedAt = Date(timeIntervalSince1970: row.placedAt)
        placedBy = row.placedBy
        expiresAt = row.expiresAt.map(Date.init(timeIntervalSince1970:))
        releasedAt = row.releasedAt.map(Date.init(timeIntervalSince1970:))
    }
}
