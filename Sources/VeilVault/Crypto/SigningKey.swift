internal import CSodium
import Foundation

/// The gateway's Ed25519 key (libsodium `crypto_sign`): signs audit checkpoints and export manifests.
/// The secret half lives in guarded memory and is written to disk with mode 0600 only.
public final class GatewaySigningKey: @unchecked Sendable {
    // @unchecked Sendable: both buffers are immutable after init; the secret one is guarded memory.
    private let secret: UnsafeMutableRawPointer
    public let publicKey: GatewayPublicKey

    public static func generate() throws -> GatewaySigningKey {
        try Sodium.ensureInitialised()
        var publicBytes = [UInt8](repeating: 0, count: Int(veil_sign_publickeybytes()))
        var secretBytes = [UInt8](repeating: 0, count: Int(veil_sign_secretkeybytes()))
        defer { Sodium.wipe(&secretBytes) }
        crypto_sign_keypair(&publicBytes, &secretBytes)
        return try GatewaySigningKey(secretBytes: secretBytes, publicBytes: publicBytes)
    }

    init(secretBytes: [UInt8], publicBytes: [UInt8]) throws {
        guard secretBytes.count == Int(veil_sign_secretkeybytes()), let pointer = sodium_malloc(secretBytes.count)
        else {
            throw VaultError(.keyFileInvalid, "not an Ed25519 secret key")
        }
        pointer.copyMemory(from: secretBytes, byteCount: secretBytes.count)
        sodium_mprotect_readonly(pointer)
        secret = pointer
        publicKey = GatewayPublicKey(bytes: publicBytes)
    }

    deinit {
        sodium_mprotect_readwrite(secret)
        sodium_free(secret)
    }

    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: Int(veil_sign_bytes()))
        crypto_sign_detached(
            &signature, nil, message, UInt64(message.count), secret.assumingMemoryBound(to: UInt8.self))
        return signature
    }

    /// Loads the key from `path` (hex of the 64-byte secret key; mode 0600 required).
    public static func load(from path: String) throws -> GatewaySigningKey {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let mode = (attributes?[.posixPermissions] as? NSNumber)?.intValue else {
            throw VaultError(.notFound, "\(path): no gateway signing key; create one with `veilgate vault init`")
        }
        guard mode & 0o077 == 0 else {
            throw VaultError(
                .keyFileInsecure,
                "\(path): key file is readable by others (mode \(String(mode & 0o777, radix: 8))); run chmod 600")
        }
        guard var data = FileManager.default.contents(atPath: path) else {
            throw VaultError(.io, "\(path): cannot read")
        }
        defer { Sodium.wipe(&data) }
        var text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        defer { text = "" }
        guard var secretBytes = [UInt8](hex: text), secretBytes.count == Int(veil_sign_secretkeybytes()) else {
            throw VaultError(.keyFileInvalid, "\(path): not a gateway signing key")
        }
        defer { Sodium.wipe(&secretBytes) }
        var publicBytes = [UInt8](repeating: 0, count: Int(veil_sign_publickeybytes()))
        crypto_sign_ed25519_sk_to_pk(&publicBytes, secretBytes)
        return try GatewaySigningKey(secretBytes: secretBytes, publicBytes: publicBytes)
    }

    /// Writes the secret key (0600) and the public key beside it (`.pub`).
    public func write(to path: String) throws {
        var secretBytes = Array(UnsafeRawBufferPointer(start: secret, count: Int(veil_sign_secretkeybytes())))
        defer { Sodium.wipe(&secretBytes) }
        var text = Data((secretBytes.hex + "\n").utf8)
        defer { Sodium.wipe(&text) }
        try KeyEncryptionKeySource.writePrivate(text, to: path)
        try publicKey.write(to: path.hasSuffix(".key") ? String(path.dropLast(4)) + ".pub" : path + ".pub")
    }
}

/// The public half of the gateway's signing key: what partners use to verify exports and checkpoints.
public struct GatewayPublicKey: Sendable, Hashable {
    public let bytes: [UInt8]

    /// A short, stable name for the key: the first 16 hex digits of its SHA-256.
    public var fingerprint: String { String(Sodium.sha256(bytes).hex.prefix(16)) }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == Int(veil_sign_bytes()), bytes.count == Int(veil_sign_publickeybytes()) else {
            return false
        }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), bytes) == 0
    }

    public static func load(from path: String) throws -> GatewayPublicKey {
        guard let data = FileManager.default.contents(atPath: path),
            let bytes = [UInt8](
                hex: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
            bytes.count == Int(veil_sign_publickeybytes())
        else { throw VaultError(.keyFileInvalid, "\(path): not a gateway public key (64 hex digits)") }
        return GatewayPublicKey(bytes: bytes)
    }

    func write(to path: String) throws {
        do { try Data((bytes.hex + "\n").utf8).write(to: URL(fileURLWithPath: path)) } catch {
            throw VaultError(.io, "\(path): cannot write the public key", underlying: error)
        }
    }
}
