/// Rewrites a recorded segment on its way out of the vault: the subject-access export (GDPR Art. 15) uses it
/// to redact everyone but the data subject. The media target implements it; the vault only calls it.
public protocol SegmentTransform: Sendable {
    /// What the transform did, for the export manifest (e.g. "all persons but the subject redacted").
    var summary: String { get }
    /// Returns the transformed segment. `container` is the segment's format (`mp4`, `m4s`).
    func transform(_ segment: [UInt8], container: String) async throws -> [UInt8]
}
