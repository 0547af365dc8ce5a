internal import CSodium
import Foundation

/// A partner's key for receiving exports (X25519, libsodium `crypto_box`): the partner makes the pair and keeps the
/// secret half (0600); the site encrypts an export to the public half, so a bundle lost on the way opens for nobody
/// else. Apart from the partner's TLS key on purpose: a different curve, a different job, rotated on its own.
public final class RecipientKey: @unchecked Sendable {
    // @unchecked Sendable: immutable after init; the secret lives in guarded memory.
    private let secret: UnsafeMutableRawPointer
    public let publicKey: RecipientPublicKey

    /// Makes a new pair and writes it: `name.key` (0600, refused if it exists) and `name.pub`.
    @discardableResult
    public static func generate(writingTo name: String) throws -> RecipientPublicKey {
        try Sodium.ensureInitialised()
        for path in [name + ".key", name + ".pub"] where FileManager.default.fileExists(atPath: path) {
            throw VaultError(.invalidArgument, "\(path) already exists; refusing to overwrite a key")
        }
        var publicBytes = [UInt8](repeating: 0, count: Int(veil_box_publickeybytes()))
        var secretBytes = [UInt8](repeating: 0, count: Int(veil_box_secretkeybytes()))
        defer { Sodium.wipe(&secretBytes) }
        crypto_box_keypair(&publicBytes, &secretBytes)
        var text = Data((secretBytes.hex + "\n").utf8)
        defer { Sodium.wipe(&text) }
        try KeyEncryptionKeySource.writePrivate(text, to: name + ".key")
        let publicKey = RecipientPublicKey(bytes: publicBytes)
        try publicKey.write(to: name + ".pub")
        return publicKey
    }

    /// Loads a secret key file (64 hex digits, mode 0600).
    public static func load(from path: String) throws -> RecipientKey {
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: path) } catch {
            throw VaultError(.notFound, "\(path): no such recipient key; make one with `veilgate partner export-key`")
        }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
        guard mode & 0o077 == 0 else {
            throw VaultError(.keyFileInsecure, "\(path): key file is readable by others (mode \(String(mode & 0o777, radix: 8))); run chmod 600")
        }
        guard var data = FileManager.default.contents(atPath: path) else { throw VaultError(.io, "\(path): cannot read the key file") }
        defer { Sodium.wipe(&data) }
        var text = [UInt8](data)
        defer { Sodium.wipe(&text) }
        while let last = text.last, last == 0x0A || last == 0x0D || last == 0x20 { text.removeLast() }
        guard text.count == 2 * Int(veil_box_secretkeybytes()), var bytes = [UInt8](hex: String(decoding: text, as: UTF8.self)) else {
            throw VaultError(.keyFileInvalid, "\(path): not a recipient key (64 hex digits)")
        }
        defer { Sodium.wipe(&bytes) }
        return try RecipientKey(secretBytes: bytes)
    }

    init(secretBytes: [UInt8]) throws {
        try Sodium.ensureInitialised()
        guard secretBytes.count == Int(veil_box_secretkeybytes()), let pointer = sodium_malloc(secretBytes.count) else {
            throw VaultError(.keyFileInvalid, "not an X25519 secret key")
        }
        pointer.copyMemory(from: secretBytes, byteCount: secretBytes.count)
        var publicBytes = [UInt8](repeating: 0, count: Int(veil_box_publickeybytes()))
        crypto_scalarmult_base(&publicBytes, secretBytes)
        sodium_mprotect_readonly(pointer)
        secret = pointer
        publicKey = RecipientPublicKey(bytes: publicBytes)
    }

    deinit {
        sodium_mprotect_readwrite(secret)
        sodium_free(secret)
    }

    /// Opens a sealed box made for this key; nil when it was made for another key or changed.
    func open(_ sealed: [UInt8]) -> [UInt8]? {
        guard sealed.count > Int(veil_box_sealbytes()) else { return nil }
        var plain = [UInt8](repeating: 0, count: sealed.count - Int(veil_box_sealbytes()))
        let status = crypto_box_seal_open(&plain, sealed, UInt64(sealed.count), publicKey.bytes,
                                          secret.assumingMemoryBound(to: UInt8.self))
        guard status == 0 else {
            Sodium.wipe(&plain)
            return nil
        }
        return plain
    }
}

/// The public half of a ``RecipientKey``: what the site is given, and names in an export's manifest.
public struct RecipientPublicKey: Sendable, Equatable {
    let bytes: [UInt8]

    /// The first 16 hex digits of its SHA-256, as manifests and messages name it.
    public var fingerprint: String { String(Sodium.sha256(bytes).hex.prefix(16)) }

    public static func load(from path: String) throws -> RecipientPublicKey {
        guard let data = FileManager.default.contents(atPath: path) else { throw VaultError(.notFound, "\(path): no such recipient key") }
        let text = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace).first.map(String.init) ?? ""
        guard let bytes = [UInt8](hex: text), bytes.count == Int(veil_box_publickeybytes()) else {
            throw VaultError(.keyFileInvalid, "\(path): not a recipient public key (64 hex digits)")
        }
        return RecipientPublicKey(bytes: bytes)
    }

    func write(to path: String) throws {
        do { try Data((bytes.hex + "\n").utf8).write(to: URL(fileURLWithPath: path)) } catch {
            throw VaultError(.io, "\(path): cannot write the public key", underlying: error)
        }
    }

    /// Seals `message` so only the holder of the secret half opens it.
    func seal(_ message: [UInt8]) -> [UInt8] {
        var sealed = [UInt8](repeating: 0, count: message.count + Int(veil_box_sealbytes()))
        crypto_box_seal(&sealed, message, UInt64(message.count), bytes)
        return sealed
    }
}
