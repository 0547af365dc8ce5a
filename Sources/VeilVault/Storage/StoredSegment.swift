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
    /// The redaction applied before storage: `.unredacted` for original footage and sound. Nil for a stored segment
    /// whose recorded redaction cannot be read or does not match its authenticated words: unknown, and never shared.
    public var redaction: RedactionSpec?

    public init(
        camera: CameraID, category: DataCategory, start: Date, end: Date, container: String = "mp4",
        policyVersion: String, redaction: RedactionSpec?
    ) {
        self.camera = camera
        self.category = category
        self.start = start
        self.end = end
        self.container = container
        self.policyVersion = policyVersion
        self.redaction = redaction
    }

    /// The redaction in words, as `vault list`, exports and the index record it (``RedactionSpec/storageLabel(for:)``).
    public var redactionLabel: String { redaction?.storageLabel(for: category) ?? "unknown" }
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
            container: row.container, policyVersion: row.policyVersion, redaction: Self.redaction(of: row))
        size = row.size
        fingerprint = row.fingerprint
    }

    /// The typed redaction where it says what the authenticated words say (rows from before it was stored are read from
    /// the words); otherwise nil.
    static func redaction(of row: SegmentRow) -> RedactionSpec? {
        let category = DataCategory(rawValue: row.category) ?? .redactedVideo
        let spec = row.redactionSpec ?? RedactionSpec(parsingDescription: row.redaction)
        guard let spec, spec.storageLabel(for: category) == row.redaction else { return nil }
        return spec
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
