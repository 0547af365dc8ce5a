import Foundation

/// The signed description of an export bundle: what it holds, from where and when, under which policy and
/// redaction, with the SHA-256 of every part, so a receiving partner can check the chain of custody.
public struct ExportManifest: Codable, Sendable, Equatable {
    public struct Part: Codable, Sendable, Equatable {
        public var file: String
        public var segment: String
        public var start: String
        public var end: String
        public var category: String
        public var redaction: String
        public var policyVersion: String
        /// Of the file in the bundle (encrypted, for an export to a recipient): anyone can check it.
        public var size: Int
        public var sha256: String
        /// For an export to a recipient: the decrypted part's size and SHA-256, checked when it is opened.
        public var plaintextSize: Int?
        public var plaintextSHA256: String?
    }

    /// How an export to one recipient is encrypted: a fresh content key per export encrypts every part (libsodium
    /// secretstream, XChaCha20-Poly1305, each part bound to the export and its file name), and that key is sealed to
    /// the recipient's X25519 public key (`crypto_box_seal`). The manifest, which carries the sealed key, is signed.
    public struct Encryption: Codable, Sendable, Equatable {
        public static let currentScheme = "x25519-sealedbox+xchacha20poly1305-secretstream/v1"
        public var scheme: String
        /// The recipient key's fingerprint (``RecipientPublicKey/fingerprint``).
        public var recipient: String
        /// The content key sealed to the recipient, hex.
        public var sealedKey: String
    }

    public static let currentFormat = "veilgate-export/v1"
    public static let manifestName = "manifest.json"
    public static let signatureName = "manifest.sig"

    public var format: String
    public var exportID: String
    public var camera: String
    public var from: String
    public var to: String
    public var createdAt: String
    /// Who asked (an operator or partner id) and the policy version in force at export time.
    public var requestedBy: String
    public var policyVersion: String
    /// A transform applied on the way out (e.g. the subject-access redaction), or nil.
    public var transform: String?
    /// What the transform recorded about the request (a subject access: the selections, the frames in which the
    /// subject was shown and hidden), signed with the rest; nil without a transform.
    public var transformRecord: [String: String]?
    /// The fingerprint of the gateway key that signed the manifest.
    public var signer: String
    /// Set for an export only its recipient can open; nil for a plain one.
    public var encryption: Encryption?
    public var parts: [Part]
}

/// Verification of a bundle received from another gateway or handed to a partner.
public enum ExportVerifier {
    /// Checks the manifest's signature with the gateway's public key, then every part's size and digest, and
    /// that no file was added. Throws ``VaultError/Code/exportInvalid`` naming the first failure.
    public static func verify(bundle: String, publicKey: GatewayPublicKey) throws -> ExportManifest {
        let manifestPath = bundle + "/" + ExportManifest.manifestName
        let signaturePath = bundle + "/" + ExportManifest.signatureName
        guard let manifestData = FileManager.default.contents(atPath: manifestPath) else {
            throw VaultError(.exportInvalid, "\(manifestPath): missing")
        }
        guard let signatureData = FileManager.default.contents(atPath: signaturePath),
            let signature = [UInt8](
                hex: String(decoding: signatureData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw VaultError(.exportInvalid, "\(signaturePath): missing or malformed") }
        guard publicKey.isValidSignature(signature, for: [UInt8](manifestData)) else {
            throw VaultError(
                .exportInvalid, "\(manifestPath): signature does not verify with gateway key \(publicKey.fingerprint)")
        }
        let manifest: ExportManifest
        do { manifest = try JSONDecoder().decode(ExportManifest.self, from: manifestData) } catch {
            throw VaultError(.exportInvalid, "\(manifestPath): malformed manifest")
        }
        guard manifest.format == ExportManifest.currentFormat else {
            throw VaultError(.exportInvalid, "\(manifestPath): unknown format \(manifest.format.prefix(40))")
        }
        var listed = Set<String>()
        for part in manifest.parts {
            guard !part.file.contains(".."), part.file.hasPrefix("video/") else {
                throw VaultError(
                    .exportInvalid, "\(manifestPath): part path \(part.file.prefix(80)) is not inside the bundle")
            }
            listed.insert(part.file)
            var status = stat()
            guard lstat(bundle + "/" + part.file, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG,
                status.st_size == part.size
            else { throw VaultError(.exportInvalid, "\(part.file): missing, not a plain file, or not the signed size") }
            guard let data = FileManager.default.contents(atPath: bundle + "/" + part.file) else {
                throw VaultError(.exportInvalid, "\(part.file): missing from the bundle")
            }
            guard data.count == part.size, Sodium.sha256(data).hex == part.sha256 else {
                throw VaultError(
                    .exportInvalid, "\(part.file): does not match the signed manifest (changed after export)")
            }
        }
        // Everything in the bundle must be the manifest, its signature, or a listed part: a regular file, no links.
        let expected = listed.union([ExportManifest.manifestName, ExportManifest.signatureName, "video"])
        let present = (FileManager.default.enumerator(atPath: bundle)?.compactMap { $0 as? String } ?? []).sorted()
        for item in present {
            var status = stat()
            guard lstat(bundle + "/" + item, &status) == 0 else {
                throw VaultError(.exportInvalid, "\(item): unreadable")
            }
            let isDirectory = (status.st_mode & S_IFMT) == S_IFDIR
            let isRegular = (status.st_mode & S_IFMT) == S_IFREG
            guard expected.contains(item), isRegular || (isDirectory && item == "video") else {
                throw VaultError(
                    .exportInvalid, "\(item): not part of the signed export (added after export, or not a plain file)")
            }
        }
        return manifest
    }
}
