public import Foundation

/// Recorded footage as the federation server reads it. The vault implements it and the executable hands
/// it to the server; the server decides and audits before it asks for a single byte.
public protocol FootageArchive: Sendable {
    /// The segments of a camera that overlap `from..<to`, oldest first, without their contents.
    func footage(camera: CameraID, from: Date, to: Date) async throws -> [FootageSegment]
    /// One segment of a camera by id; nil when there is none (or it belongs to another camera).
    func footage(camera: CameraID, id: String) async throws -> FootageSegment?
    /// One segment's decrypted contents, or an error naming the segment when it is missing or tampered with.
    func contents(of segment: FootageSegment) async throws -> [UInt8]
}

/// One stored segment, described without its contents.
public struct FootageSegment: Hashable, Sendable, Codable {
    public var id: String
    public var camera: CameraID
    public var category: DataCategory
    public var start: Date
    public var end: Date
    public var size: Int64
    /// The container format (`mp4`, `m4s`).
    public var container: String
    /// The redaction the segment was stored with; nil when unknown (then nothing is shared from it).
    public var redaction: RedactionSpec?

    public init(
        id: String, camera: CameraID, category: DataCategory, start: Date, end: Date, size: Int64,
        container: String, redaction: RedactionSpec?
    ) {
        self.id = id
        self.camera = camera
        self.category = category
        self.start = start
        self.end = end
        self.size = size
        self.container = container
        self.redaction = redaction
    }
}

/// Where every decision and every disclosure is recorded. The vault's hash-chained audit log implements it.
public protocol AccessAuditTrail: Sendable {
    func record(_ entry: AccessAuditEntry) async throws
}

/// One audited event: ids and rule ids only, never personal data, plate text or a justification's text.
public struct AccessAuditEntry: Hashable, Sendable {
    public enum Action: String, Sendable {
        /// A request was decided (allowed or denied).
        case decision
        /// Data left the site (a segment, an alert, counts).
        case share
    }

    public var action: Action
    /// Who asked: `partner:ID`, or `certificate:FINGERPRINT` for a client the policy does not know.
    public var actor: String
    /// What was asked for: `camera:ID/clip`, `camera:ID/segment:SEGMENT`, `alerts`.
    public var subject: String
    public var rules: [RuleID]
    public var details: [String: String]
    public var at: Date

    public init(action: Action, actor: String, subject: String, rules: [RuleID], details: [String: String], at: Date) {
        self.action = action
        self.actor = actor
        self.subject = subject
        self.rules = rules
        self.details = details
        self.at = at
    }
}
