internal import CSodium
import Foundation

/// A partner's key for receiving exports (X25519, libsodium `crypto_box`): the partner makes the pair and keeps the
/// secret half (0600); the site encrypts an export to the public half, so a bundle lost on the way opens for nobody
/// else. Apart from the partner's TLS key on purpose: a different curve, a different job, rotated on its own.
public final class RecipientKey: Sendable {
    /// The X25519 secret scalar: 32 bytes, like every other key the vault holds in guarded memory.
    private let secret: SecretKey
    public let publicKey: RecipientPublicKey

    /// Makes a new pair and writes it: `name.key` (0600, refused if it exists) and `name.pub`.
    @discardableResult
    public static func generate(writingTo name: String) throws -> RecipientPublicKey {
        for path in [name + ".key", name + ".pub"] where FileManager.default.fileExists(atPath: path) {
            throw VaultError(.invalidArgument, "\(path) already exists; refusing to overwrite a key")
        }
        let key = try RecipientKey(secret: SecretKey())
        var bytes = key.secret.exportBytes()
        defer { Sodium.wipe(&bytes) }
        var text = Data((bytes.hex + "\n").utf8)
        defer { Sodium.wipe(&text) }
        try KeyEncryptionKeySource.writePrivate(text, to: name + ".key")
        try key.publicKey.write(to: name + ".pub")
        return key.publicKey
    }

    /// Loads a secret key file (64 hex digits, mode 0600).
    public static func load(from path: String) throws -> RecipientKey {
        try RecipientKey(
            secret: KeyEncryptionKeySource.readPrivateKey(
                at: path, what: "recipient key",
                missing: "\(path): no such recipient key; make one with `veilgate partner export-key`"))
    }

    private init(secret: SecretKey) throws {
        // Any 32 random bytes are an X25519 secret key (the curve clamps them); the public half is derived from it.
        var publicBytes = [UInt8](repeating: 0, count: Int(veil_box_publickeybytes()))
        secret.withBytes { _ = crypto_scalarmult_base(&publicBytes, $0) }
        self.secret = secret
        publicKey = RecipientPublicKey(bytes: publicBytes)
    }

    /// Opens a sealed box made for this key; nil when it was made for another key or changed.
    func open(_ sealed: [UInt8]) -> [UInt8]? {
        guard sealed.count > Int(veil_box_sealbytes()) else { return nil }
        var plain = [UInt8](repeating: 0, count: sealed.count - Int(veil_box_sealbytes()))
        let status = secret.withBytes {
            crypto_box_seal_open(&plain, sealed, UInt64(sealed.count), publicKey.bytes, $0)
        }
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

    /// From 64 hex digits (a `.pub` file's text, or a policy's approver key); nil when it is not one.
    public init?(hex: String) {
        guard let bytes = [UInt8](hex: hex.trimmingCharacters(in: .whitespacesAndNewlines)),
            bytes.count == Int(veil_box_publickeybytes())
        else { return nil }
        self.bytes = bytes
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    public static func load(from path: String) throws -> RecipientPublicKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VaultError(.notFound, "\(path): no such recipient key")
        }
        let text =
            String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace).first.map(String.init) ?? ""
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
