import Foundation

/// Loads the vault's key-encryption key (KEK): from a file readable by its owner only, or from an
/// environment variable. In production an HSM or KMS takes this role (docs/vault.md).
public enum KeyEncryptionKeySource: Sendable {
    /// A file holding the key as 64 hex digits; refused when its mode is wider than 0600.
    case file(String)
    /// An environment variable holding the key as 64 hex digits.
    case environment(String)

    func load() throws -> SecretKey {
        switch self {
        case .file(let path):
            return try Self.readPrivateKey(
                at: path, what: "key-encryption key",
                missing: "\(path): no key-encryption key file; create one with `veilgate vault init`")
        case .environment(let name):
            guard let value = ProcessInfo.processInfo.environment[name] else {
                throw VaultError(.notFound, "$\(name) is not set")
            }
            return try Self.key(fromHex: Array(value.utf8), origin: "$\(name)", what: "key-encryption key")
        }
    }

    /// Reads a 32-byte key written as 64 hex digits in a file only its owner may read (a KEK, a recipient key).
    static func readPrivateKey(at path: String, what: String, missing: String) throws -> SecretKey {
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: path) } catch {
            throw VaultError(.notFound, missing)
        }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
        guard mode & 0o077 == 0 else {
            throw VaultError(
                .keyFileInsecure,
                "\(path): key file is readable by others (mode \(String(mode & 0o777, radix: 8))); run chmod 600")
        }
        guard var data = FileManager.default.contents(atPath: path) else {
            throw VaultError(.io, "\(path): cannot read the key file")
        }
        defer { Sodium.wipe(&data) }
        return try key(fromHex: [UInt8](data), origin: path, what: what)
    }

    /// 64 hex digits (trailing white space allowed) as a key; every intermediate copy wiped.
    private static func key(fromHex text: [UInt8], origin: String, what: String) throws -> SecretKey {
        var text = text
        defer { Sodium.wipe(&text) }
        while let last = text.last, last == 0x0A || last == 0x0D || last == 0x20 { text.removeLast() }
        guard text.count == 2 * SecretKey.size, var bytes = [UInt8](hex: String(decoding: text, as: UTF8.self)) else {
            throw VaultError(.keyFileInvalid, "\(origin): not a \(what) (64 hex digits)")
        }
        defer { Sodium.wipe(&bytes) }
        return try SecretKey(copying: bytes)
    }

    /// Creates a new random key file with mode 0600; refuses to overwrite.
    public static func createFile(at path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw VaultError(.invalidArgument, "\(path) already exists; refusing to overwrite a key")
        }
        let key = try SecretKey()
        var bytes = key.exportBytes()
        defer { Sodium.wipe(&bytes) }
        var text = Data((bytes.hex + "\n").utf8)
        defer { Sodium.wipe(&text) }
        try writePrivate(text, to: path)
    }

    /// Writes a file that only its owner can read, created with that mode (no window with wider permissions).
    static func writePrivate(_ data: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw VaultError(.io, "\(path): cannot create the key file") }
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(descriptor) == 0 else {
            throw VaultError(.io, "\(path): cannot write the key file")
        }
    }
}
