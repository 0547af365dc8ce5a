public import Crypto
import Foundation

/// How a request's justification (a case or warrant reference) appears in the audit log: HMAC-SHA256 under a site
/// secret, never the text. A plain SHA-256 of a case reference can be reversed by trying every reference in a second
/// (they have little entropy); without the secret nothing can be tried. The DPO, who holds the state folder, finds a
/// case's entries with `veilgate audit justification TEXT`.
public struct JustificationDigest: Sendable {
    /// The name of the secret's file in the state folder.
    public static let fileName = "justification.key"
    private let key: SymmetricKey

    public init(key: SymmetricKey) { self.key = key }

    /// Reads the site secret from `path`, creating it (32 random bytes, mode 0600, never overwritten) when it is
    /// missing.
    public static func load(creatingAt path: String) throws -> JustificationDigest {
        if !FileManager.default.fileExists(atPath: path) {
            let secret = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
            do {
                try SecureFile.writeNew(secret + "\n", to: path)
            } catch  where FileManager.default.fileExists(atPath: path) {
                // Another process made it first: use theirs.
            }
        }
        try SecureFile.requirePrivate(path)
        guard var data = FileManager.default.contents(atPath: path) else {
            throw FederationError(.fileUnreadable, "\(path): cannot read the justification secret")
        }
        defer { data.resetBytes(in: 0..<data.count) }
        guard
            var raw = Data(
                base64Encoded: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
            raw.count == 32
        else { throw FederationError(.invalidConfiguration, "\(path): not a justification secret (32 bytes, base64)") }
        defer { raw.resetBytes(in: 0..<raw.count) }
        return JustificationDigest(key: SymmetricKey(data: raw))
    }

    /// The keyed digest of a justification, lower-case hex.
    public func digest(of justification: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(justification.utf8), using: key).map { String(format: "%02x", $0) }
            .joined()
    }
}
