import Crypto
public import Foundation
import VeilCore

/// A signed policy bundle: the policy and test files of a folder (or one file), and every file those policies point
/// to (a partner's `trusted-ca`), listed with their SHA-256 digests in a manifest that the DPO signs with an Ed25519
/// key. A file a policy relies on is signed with it: a partner CA swapped beside a signed policy would otherwise let
/// anyone who can write that folder mint certificates the gateway takes for the police.
///
/// The server later loads only bundles that verify, and keeps the last good one when a new one does not
/// (as OPA does with its bundles). Verification fails on any changed, added or removed file, naming it.
public enum PolicyBundle {
    /// The signature file written beside the bundle's files.
    public static let signatureFileName = "bundle.sig"
    static let format = "veilgate-policy-bundle/v1"

    /// What a signature file holds. The signature covers ``manifest(of:)`` of `files`.
    public struct Signature: Codable, Sendable, Equatable {
        public struct Entry: Codable, Sendable, Equatable {
            public var path: String
            public var sha256: String
        }

        public var format: String
        public var files: [Entry]
        /// SHA-256 of the signer's public key, hex: which key signed, without revealing anything secret.
        public var signer: String
        public var signature: String
    }

    /// What verification established.
    public struct Verified: Sendable {
        public var files: [String]
        public var signer: String
        /// The folder the files are in, and each file's signed SHA-256 by name.
        public var folder: String
        public var digests: [String: String]

        /// One digest of the whole signed content: SHA-256 over each file's name and digest, sorted by name.
        public var contentDigest: String {
            let lines = digests.sorted { $0.key < $1.key }.map { "\($0.value)  \($0.key)\n" }.joined()
            return PolicyBundle.hex(SHA256.hash(data: Data(lines.utf8)))
        }

        /// Reads a file of the bundle, refusing it unless it is exactly the file that was signed: what a caller reads
        /// after verification (a partner CA) cannot have been swapped in between.
        public func contents(of path: String) throws -> Data {
            let name = (path as NSString).lastPathComponent
            let sameFolder =
                (path as NSString).deletingLastPathComponent == folder
                || (folder.isEmpty && !path.contains("/"))
            guard sameFolder, let expected = digests[name] else {
                throw PolicyError(.bundleChanged, "\(path): not a file of the signed bundle")
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PolicyError(.unreadableFile, "\(path): cannot read the file")
            }
            guard PolicyBundle.hex(SHA256.hash(data: data)) == expected else {
                throw PolicyError(.bundleChanged, "\(name): file was changed after the bundle was signed")
            }
            return data
        }
    }

    // MARK: Keys

    /// Creates a new DPO signing key: the private key file (mode 0600) and the public key file beside it.
    public static func generateKey(privateKeyPath: String, publicKeyPath: String) throws {
        let key = Curve25519.Signing.PrivateKey()
        var raw = key.rawRepresentation
        defer { raw.wipe() }
        for path in [privateKeyPath, publicKeyPath] where FileManager.default.fileExists(atPath: path) {
            throw PolicyError(.invalidKey, "\(path) already exists; refusing to overwrite a key")
        }
        var pem = Data(KeyFile.pem(raw, label: KeyFile.privateLabel).utf8)
        defer { pem.wipe() }
        // O_EXCL: created here with mode 0600, or not at all (no window in which another file could be used).
        let descriptor = open(privateKeyPath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw PolicyError(.unreadableFile, "\(privateKeyPath): cannot create the key file")
        }
        let written = pem.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == pem.count, synced else {
            throw PolicyError(.unreadableFile, "\(privateKeyPath): cannot write the key file")
        }
        try Data(KeyFile.pem(key.publicKey.rawRepresentation, label: KeyFile.publicLabel).utf8)
            .write(to: URL(fileURLWithPath: publicKeyPath), options: .withoutOverwriting)
    }

    // MARK: Signing

    /// Signs every policy and test file of `path` (a folder, or one file) and writes the signature file.
    /// - Returns: the path of the signature file.
    @discardableResult
    public static func sign(_ path: String, privateKeyPath: String) throws -> String {
        let key = try KeyFile.readPrivateKey(privateKeyPath)
        let (root, names) = try bundleFiles(path)
        let entries = try names.map { Signature.Entry(path: $0, sha256: try digest(of: root, $0)) }
        let signer = signerID(key.publicKey)
        let signatureBytes = try key.signature(for: Data(manifest(of: entries, signer: signer).utf8))
        let signature = Signature(
            format: format, files: entries, signer: signer,
            signature: signatureBytes.base64EncodedString())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let output = signaturePath(for: path)
        try encoder.encode(signature).write(to: URL(fileURLWithPath: output))
        return output
    }

    /// Checks the signature and every file of the bundle at `path` against the public key.
    public static func verify(_ path: String, publicKeyPath: String) throws -> Verified {
        let publicKey = try KeyFile.readPublicKey(publicKeyPath)
        let signatureFile = signaturePath(for: path)
        guard let data = FileManager.default.contents(atPath: signatureFile) else {
            throw PolicyError(.invalidBundle, "\(signatureFile): no signature file; sign the bundle first")
        }
        guard let signature = try? JSONDecoder().decode(Signature.self, from: data), signature.format == format,
            let signatureBytes = Data(base64Encoded: signature.signature)
        else { throw PolicyError(.invalidBundle, "\(signatureFile): not a Veilgate policy bundle signature") }
        let expectedSigner = signerID(publicKey)
        guard signature.signer == expectedSigner,
            signature.files.allSatisfy({ isSafeName($0.path) }),
            publicKey.isValidSignature(
                signatureBytes, for: Data(manifest(of: signature.files, signer: expectedSigner).utf8))
        else {
            throw PolicyError(
                .signatureMismatch,
                "\(signatureFile): the signature does not verify with \(publicKeyPath) (key \(expectedSigner.prefix(16)))"
            )
        }
        let (root, names) = try bundleFiles(path)
        let signed = Set(signature.files.map(\.path))
        if let added = names.first(where: { !signed.contains($0) }) {
            throw PolicyError(.bundleChanged, "\(added): file was added after the bundle was signed")
        }
        for entry in signature.files {
            guard names.contains(entry.path) else {
                throw PolicyError(.bundleChanged, "\(entry.path): file was removed after the bundle was signed")
            }
            guard try digest(of: root, entry.path) == entry.sha256 else {
                throw PolicyError(.bundleChanged, "\(entry.path): file was changed after the bundle was signed")
            }
        }
        return Verified(
            files: signature.files.map(\.path), signer: signature.signer, folder: root,
            digests: Dictionary(signature.files.map { ($0.path, $0.sha256) }, uniquingKeysWith: { first, _ in first }))
    }

    // MARK: Helpers

    /// The exact bytes that are signed: the format line, the signer, then `sha256  path` per file, sorted by
    /// path. File names are restricted (``isSafeName(_:)``) so that no name can forge a line.
    static func manifest(of entries: [Signature.Entry], signer: String) -> String {
        ([format, "signer \(signer)"] + entries.sorted { $0.path < $1.path }.map { "\($0.sha256)  \($0.path)" })
            .joined(separator: "\n") + "\n"
    }

    /// Bundle file names are plain: letters, digits, `.`, `-` and `_`, not starting with a dot.
    public static func isSafeName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first != ".", name.count <= 128 else { return false }
        return name.unicodeScalars.allSatisfy {
            ($0.value >= 0x30 && $0.value <= 0x39) || ($0.value >= 0x41 && $0.value <= 0x5A)
                || ($0.value >= 0x61 && $0.value <= 0x7A) || $0 == "." || $0 == "-" || $0 == "_"
        }
    }

    public static func signaturePath(for path: String) -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return (path as NSString).appendingPathComponent(signatureFileName)
        }
        return path + ".sig"
    }

    /// The folder and the names of the files a bundle holds: every `*.yaml`/`*.yml` of a folder, or one file.
    static func bundleFiles(_ path: String) throws -> (root: String, names: [String]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PolicyError(.unreadableFile, "\(path): no such file or folder")
        }
        if !isDirectory.boolValue {
            let name = (path as NSString).lastPathComponent
            guard isSafeName(name) else {
                throw PolicyError(
                    .invalidBundle, "file name \(name.debugDescription.prefix(80)) is not allowed in a bundle")
            }
            let root = (path as NSString).deletingLastPathComponent
            return (root, try withReferencedFiles(root: root, [name]))
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: path)
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        guard !names.isEmpty else { throw PolicyError(.unreadableFile, "\(path): no policy files to sign") }
        if let unsafe = names.first(where: { !isSafeName($0) }) {
            throw PolicyError(
                .invalidBundle,
                "\(path): file name \(unsafe.debugDescription.prefix(80)) is not allowed in a bundle (letters, digits, '.', '-', '_')"
            )
        }
        return (path, try withReferencedFiles(root: path, names))
    }

    /// The bundle's YAML files and the files its policies point to (each partner's `trusted-ca`), sorted. A referenced
    /// file must be a plain file name in the bundle's folder, or the signature could not cover it.
    static func withReferencedFiles(root: String, _ names: [String]) throws -> [String] {
        var files = Set(names)
        for name in names {
            let path = root.isEmpty ? name : (root as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            // A file that does not parse has no references; loading it fails later with its own diagnostics.
            guard let document = PolicyParser.parse(data, file: path).0 else { continue }
            for partner in document.partners {
                guard let reference = partner.identity.trustedCA, !reference.isEmpty else { continue }
                guard isSafeName(reference) else {
                    throw PolicyError(
                        .invalidBundle,
                        """
                        \(name): partner \(partner.id.rawValue)'s trusted-ca \(reference.debugDescription.prefix(80)) must be a file \
                        in the policy's folder, so that the bundle signature covers it
                        """)
                }
                guard
                    FileManager.default.fileExists(
                        atPath: root.isEmpty ? reference : (root as NSString).appendingPathComponent(reference))
                else {
                    throw PolicyError(
                        .unreadableFile,
                        "\(name): partner \(partner.id.rawValue)'s trusted-ca \(reference) does not exist")
                }
                files.insert(reference)
            }
        }
        return files.sorted()
    }

    static func digest(of root: String, _ name: String) throws -> String {
        let path = root.isEmpty ? name : (root as NSString).appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PolicyError(.unreadableFile, "\(path): cannot read the file")
        }
        return hex(SHA256.hash(data: data))
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    static func signerID(_ key: Curve25519.Signing.PublicKey) -> String {
        SHA256.hash(data: key.rawRepresentation).map { String(format: "%02x", $0) }.joined()
    }
}

/// Reading and writing Ed25519 keys as small PEM-style text files.
enum KeyFile {
    static let privateLabel = "VEILGATE ED25519 PRIVATE KEY"
    static let publicLabel = "VEILGATE ED25519 PUBLIC KEY"

    static func pem(_ raw: Data, label: String) -> String {
        "-----BEGIN \(label)-----\n\(raw.base64EncodedString())\n-----END \(label)-----\n"
    }

    static func readPrivateKey(_ path: String) throws -> Curve25519.Signing.PrivateKey {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let mode = (attributes?[.posixPermissions] as? NSNumber)?.intValue else {
            throw PolicyError(.unreadableFile, "\(path): cannot read the private key")
        }
        guard mode & 0o077 == 0 else {
            throw PolicyError(
                .invalidKey,
                "\(path): private key is readable by others (mode \(String(mode & 0o777, radix: 8))); run chmod 600")
        }
        var raw = try decode(path, label: privateLabel)
        defer { raw.wipe() }
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
            throw PolicyError(.invalidKey, "\(path): not an Ed25519 private key")
        }
        return key
    }

    static func readPublicKey(_ path: String) throws -> Curve25519.Signing.PublicKey {
        let raw = try decode(path, label: publicLabel)
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            throw PolicyError(.invalidKey, "\(path): not an Ed25519 public key")
        }
        return key
    }

    private static func decode(_ path: String, label: String) throws -> Data {
        guard var file = FileManager.default.contents(atPath: path) else {
            throw PolicyError(.unreadableFile, "\(path): cannot read the key file")
        }
        defer { file.wipe() }
        let text = String(decoding: file, as: UTF8.self)
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard lines.count == 3, lines[0] == "-----BEGIN \(label)-----", lines[2] == "-----END \(label)-----",
            let raw = Data(base64Encoded: lines[1]), raw.count == 32
        else { throw PolicyError(.invalidKey, "\(path): not a Veilgate key file (\(label))") }
        return raw
    }
}

extension Data {
    /// Overwrites the buffer with zeros before it is released, so key bytes do not linger in freed memory.
    mutating func wipe() {
        withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            // memset through a volatile-like opaque call so the compiler cannot drop it as a dead store.
            _ = memset(base, 0, buffer.count)
        }
    }
}
