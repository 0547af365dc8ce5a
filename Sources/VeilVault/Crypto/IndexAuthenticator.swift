internal import CSodium
import Foundation

/// Authenticates index rows (segments, buckets, holds) with a key derived from the KEK, so that editing the
/// SQLite file by hand — moving a segment in time to dodge expiry, adding a fake legal hold, pointing a row at
/// another file — is detected before the vault acts on the row.
final class IndexAuthenticator: Sendable {
    private let key: SecretKey

    init(deriving kek: SecretKey) throws {
        var derived = [UInt8](repeating: 0, count: SecretKey.size)
        defer { Sodium.wipe(&derived) }
        let context = Array("veilgate-index-mac/v1".utf8)
        kek.withBytes { kekBytes in
            _ = crypto_generichash(&derived, derived.count, context, UInt64(context.count), kekBytes, SecretKey.size)
        }
        key = try SecretKey(copying: derived)
    }

    /// The MAC of a row's fields, hex. Fields are length-prefixed so no two rows serialise alike.
    func mac(_ fields: [String]) -> String {
        var message: [UInt8] = []
        for field in fields {
            let bytes = Array(field.utf8)
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { message.append(contentsOf: $0) }
            message.append(contentsOf: bytes)
        }
        var output = [UInt8](repeating: 0, count: 32)
        key.withBytes { keyBytes in
            _ = crypto_generichash(&output, output.count, message, UInt64(message.count), keyBytes, SecretKey.size)
        }
        return output.hex
    }

    func isValid(_ mac: String, _ fields: [String]) -> Bool {
        Sodium.equal(Array(self.mac(fields).utf8), Array(mac.utf8))
    }
}
