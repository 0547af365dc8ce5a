import Foundation
public import VeilPolicy

/// The highest signed policy version this gateway has accepted and what it contained, kept in the state folder: a
/// restart cannot be fed an older signed bundle (a replay that brings back a withdrawn grant), and one version number
/// cannot stand for two contents (a DPO who changes a policy must give it a new version, so audit entries that name a
/// version name one policy). Checked at start and on every reload when bundles are signed (`--policy-key`).
public struct AcceptedPolicy: Codable, Equatable {
    static let fileName = "policy-accepted.json"

    public var version: String
    /// SHA-256 over the signed manifest's file digests: the content of the bundle.
    public var content: String

    public init(version: String, bundle: PolicyBundle.Verified) {
        self.version = version
        content = bundle.contentDigest
    }

    /// Refuses `candidate` when it is older than the accepted one, or the same version with other content; otherwise
    /// records it as the accepted one.
    public static func admit(_ candidate: AcceptedPolicy, state: String) throws {
        let path = (state as NSString).appendingPathComponent(fileName)
        if let data = FileManager.default.contents(atPath: path) {
            guard let accepted = try? JSONDecoder().decode(AcceptedPolicy.self, from: data) else {
                throw PolicyError(
                    .invalidBundle,
                    "\(path) is unreadable: cannot tell which policy version was accepted last; "
                        + "restore it from a backup or remove it to accept the present bundle")
            }
            switch candidate.version.compare(accepted.version, options: .numeric) {
            case .orderedAscending:
                throw PolicyError(
                    .invalidBundle,
                    "policy version \(candidate.version) is older than \(accepted.version), "
                        + "which this gateway has accepted (a replayed bundle?); sign a newer version")
            case .orderedSame where candidate.content != accepted.content:
                throw PolicyError(
                    .invalidBundle,
                    "policy version \(candidate.version) was accepted before with other content; "
                        + "a changed policy needs a new version")
            case .orderedSame:
                return
            case .orderedDescending:
                break
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(candidate).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
