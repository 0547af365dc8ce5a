public import Foundation
public import VeilPolicy

/// The policy a path names: a policy file, or a folder holding exactly one.
public enum PolicyFile {
    /// Throws ``GatewayError`` when the path holds no policy file or several, and ``PolicyError`` (with positions) when
    /// the policy does not load.
    public static func load(_ path: String, at now: Date) throws -> CompiledPolicy {
        let files = try PolicyLoader.policyFiles(at: path)
        guard let file = files.first else {
            throw GatewayError(
                .invalidConfiguration, "\(path) holds no policy file (a YAML file starting with 'veilgate: policy/v1')")
        }
        guard files.count == 1 else {
            throw GatewayError(
                .invalidConfiguration, "\(path) holds \(files.count) policy files; name one with --policy")
        }
        return try PolicyLoader.load(file: file, now: now)
    }
}
