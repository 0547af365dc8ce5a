internal import CSodium
import Foundation

/// Wraps one key under another with XChaCha20-Poly1305, binding the wrapped key to its id (as associated
/// data), so a wrapped key moved to another row does not unwrap.
enum KeyWrapping {
    static func wrap(_ key: SecretKey, under wrappingKey: SecretKey, id: String) throws -> [UInt8] {
        let nonce = Sodium.randomBytes(Int(veil_aead_npubbytes()))
        var output = [UInt8](repeating: 0, count: SecretKey.size + Int(veil_aead_abytes()))
        var outputLength: UInt64 = 0
        let associated = Array(id.utf8)
        let status = key.withBytes { plain in
            wrappingKey.withBytes { wrapping in
                crypto_aead_xchacha20poly1305_ietf_encrypt(
                    &output, &outputLength, plain, UInt64(SecretKey.size),
                    associated, UInt64(associated.count), nil, nonce, wrapping)
            }
        }
        guard status == 0 else { throw VaultError(.io, "cannot wrap key \(id)") }
        return nonce + output.prefix(Int(outputLength))
    }

    static func unwrap(_ wrapped: [UInt8], under wrappingKey: SecretKey, id: String) throws -> SecretKey {
        let nonceSize = Int(veil_aead_npubbytes())
        guard wrapped.count == nonceSize + SecretKey.size + Int(veil_aead_abytes()) else {
            throw VaultError(.authenticationFailed, "wrapped key \(id) is malformed")
        }
        let nonce = Array(wrapped.prefix(nonceSize))
        let ciphertext = Array(wrapped.dropFirst(nonceSize))
        var plain = [UInt8](repeating: 0, count: SecretKey.size)
        defer { Sodium.wipe(&plain) }
        var plainLength: UInt64 = 0
        let associated = Array(id.utf8)
        let status = wrappingKey.withBytes { wrapping in
            crypto_aead_xchacha20poly1305_ietf_decrypt(
                &plain, &plainLength, nil, ciphertext, UInt64(ciphertext.count),
                associated, UInt64(associated.count), nonce, wrapping)
        }
        guard status == 0, plainLength == UInt64(SecretKey.size) else {
            throw VaultError(
                .authenticationFailed, "key \(id) does not unwrap: wrong key-encryption key or a tampered keystore")
        }
        return try SecretKey(copying: plain)
    }
}
