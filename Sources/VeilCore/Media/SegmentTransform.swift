/// Rewrites a recorded segment on its way out of the vault: the subject-access export (GDPR Art. 15) uses it
/// to redact everyone but the data subject. The gateway implements it; the vault only calls it, segment by segment in
/// time order.
public protocol SegmentTransform: Sendable {
    /// What the transform did, for the export manifest (e.g. "all persons but the subject redacted").
    var summary: String { get }
    /// The redaction the exported parts carry after the transform, in words (the manifest's `redaction` of each part);
    /// nil keeps the stored segment's own.
    var redactionLabel: String? { get }
    /// What the transform records about the request in the signed manifest (selections, frames shown and hidden), read
    /// after every segment was transformed.
    var record: [String: String] { get }
    /// Returns the transformed segment. `id` is the vault's segment id; `container` its format (`mp4`, `m4s`).
    func transform(_ segment: [UInt8], id: String, container: String) async throws -> [UInt8]
}

extension SegmentTransform {
    public var redactionLabel: String? { nil }
    public var record: [String: String] { [:] }
}
