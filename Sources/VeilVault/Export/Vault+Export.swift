public import Foundation
public import VeilCore

extension Vault {
    /// Exports a camera's footage in a range into a new folder: the decrypted segments under `video/`, a
    /// manifest with their digests, and the manifest's Ed25519 signature. Every segment is authenticated
    /// before anything is written; the export is audited.
    /// - Parameters:
    ///   - transform: applied to each segment on the way out; the subject-access export (Art. 15) passes one
    ///     that redacts everyone but the data subject.
    ///   - categories: export only segments of these categories (a subject access reads the original footage only);
    ///     nil exports every category in the range.
    ///   - recipient: encrypt the parts so that only this key opens them (``ExportManifest/Encryption``); a bundle lost
    ///     on the way is then ciphertext to everyone else, and its signature and digests can still be checked by
    /// anyone.
    @discardableResult
    public func export(
        camera: CameraID, from: Date, to: Date, into bundle: String, requestedBy actor: String,
        transform: (any SegmentTransform)? = nil, categories: Set<DataCategory>? = nil,
        recipient: RecipientPublicKey? = nil, at now: Date = Date()
    ) async throws -> ExportManifest {
        guard let signingKey else {
            throw VaultError(.notFound, "\(configuration.signingKeyPath): exports need the gateway signing key")
        }
        guard !FileManager.default.fileExists(atPath: bundle) else {
            throw VaultError(.invalidArgument, "\(bundle) already exists; choose a new folder for the export")
        }
        let segments = try segments(camera: camera, from: from, to: to).filter {
            categories?.contains($0.descriptor.category) ?? true
        }
        guard !segments.isEmpty else {
            let which = categories.map { " (" + $0.map(\.rawValue).sorted().joined(separator: ", ") + ")" } ?? ""
            throw VaultError(.notFound, "no footage\(which) of \(camera) in that range")
        }
        // Decrypt and verify everything first: a bundle is never left half-written by a tampered segment.
        var contents: [(StoredSegment, [UInt8])] = []
        for segment in segments {
            var plaintext = try read(segment.id)
            if let transform {
                plaintext = try await transform.transform(
                    plaintext, id: segment.id, container: segment.descriptor.container)
            }
            contents.append((segment, plaintext))
        }
        // Recorded before anything leaves the vault: an export that fails half-way is still on the record.
        let exportID = UUID().uuidString.lowercased()
        _ = try audit.append(
            .export, actor: actor, subject: camera.rawValue,
            details: [
                "export": exportID, "segments": String(contents.count), "from": Self.timestamp(from),
                "to": Self.timestamp(to),
                "transform": transform == nil ? "none" : "applied", "recipient": recipient?.fingerprint ?? "none",
            ], at: now)
        let video = bundle + "/video"
        do {
            try FileManager.default.createDirectory(
                atPath: video, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch { throw VaultError(.io, "\(bundle): cannot create", underlying: error) }
        var parts: [ExportManifest.Part] = []
        let contentKey = recipient == nil ? nil : try SecretKey()
        for (number, (segment, plaintext)) in contents.enumerated() {
            let name =
                String(format: "video/%04d-%@.%@", number + 1, segment.id, segment.descriptor.container)
                + (contentKey == nil ? "" : ExportManifest.encryptedSuffix)
            var part = ExportManifest.Part(
                file: name, segment: segment.id, start: Self.timestamp(segment.descriptor.start),
                end: Self.timestamp(segment.descriptor.end), category: segment.descriptor.category.rawValue,
                redaction: transform?.redactionLabel ?? segment.descriptor.redactionLabel,
                policyVersion: segment.descriptor.policyVersion,
                size: plaintext.count, sha256: Sodium.sha256(plaintext).hex)
            if let contentKey {
                let sealed = try SegmentCipher.encrypt(
                    plaintext, key: contentKey, binding: ExportManifest.binding(exportID: exportID, file: name))
                (part.plaintextSize, part.plaintextSHA256) = (part.size, part.sha256)
                (part.size, part.sha256) = (sealed.count, Sodium.sha256(sealed).hex)
                try Self.writeDurably(sealed, to: bundle + "/" + name)
            } else {
                try Self.writeDurably(Data(plaintext), to: bundle + "/" + name)
            }
            parts.append(part)
        }
        let encryption = try recipient.map { recipient in
            guard let contentKey else { throw VaultError(.io, "no content key") }
            var keyBytes = contentKey.exportBytes()
            defer { Sodium.wipe(&keyBytes) }
            return ExportManifest.Encryption(
                scheme: ExportManifest.Encryption.currentScheme, recipient: recipient.fingerprint,
                sealedKey: recipient.seal(keyBytes).hex)
        }
        let manifest = ExportManifest(
            format: ExportManifest.currentFormat, exportID: exportID, camera: camera.rawValue,
            from: Self.timestamp(from), to: Self.timestamp(to), createdAt: Self.timestamp(now), requestedBy: actor,
            policyVersion: schedule?.policyVersion ?? "unknown", transform: transform?.summary,
            transformRecord: transform.map(\.record),
            signer: signingKey.publicKey.fingerprint, encryption: encryption, parts: parts)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(manifest) } catch {
            throw VaultError(.io, "cannot encode the manifest", underlying: error)
        }
        try Self.writeDurably(data, to: bundle + "/" + ExportManifest.manifestName)
        try Self.writeDurably(
            Data((signingKey.sign([UInt8](data)).hex + "\n").utf8), to: bundle + "/" + ExportManifest.signatureName)
        return manifest
    }

    /// The gateway's public key, for partners verifying exports and for `audit verify`.
    public nonisolated var publicKey: GatewayPublicKey? { signingKey?.publicKey }
}

extension ExportManifest {
    /// Added to a part's file name when it is encrypted to a recipient.
    public static let encryptedSuffix = ".enc"

    /// What each encrypted part is bound to: its export and its name, so parts cannot be swapped or moved between
    /// exports.
    static func binding(exportID: String, file: String) -> [UInt8] { Array("veilgate-export:\(exportID):\(file)".utf8) }
}

extension ExportVerifier {
    /// Verifies an export to a recipient (``verify(bundle:publicKey:)``: signature, every file's digest, nothing
    /// added), then opens it with the recipient's key into `output`: the decrypted parts under their names without
    /// `.enc`, and the signed manifest and signature beside them. Nothing is written unless every part decrypts and
    /// matches its signed plaintext digest. A key the export was not made for opens nothing, and says which key it was
    /// made for.
    @discardableResult
    public static func open(
        bundle: String, publicKey: GatewayPublicKey, key: RecipientKey, into output: String
    ) throws -> ExportManifest {
        let manifest = try verify(bundle: bundle, publicKey: publicKey)
        guard let encryption = manifest.encryption else {
            throw VaultError(.invalidArgument, "\(bundle) is not encrypted: its parts can be read as they are")
        }
        guard encryption.scheme == ExportManifest.Encryption.currentScheme else {
            throw VaultError(.exportInvalid, "\(bundle): unknown encryption \(encryption.scheme.prefix(60))")
        }
        guard !FileManager.default.fileExists(atPath: output) else {
            throw VaultError(.invalidArgument, "\(output) already exists; choose a new folder")
        }
        guard let sealed = [UInt8](hex: encryption.sealedKey), var keyBytes = key.open(sealed) else {
            throw VaultError(
                .wrongKeyEncryptionKey,
                "this export was encrypted for recipient key \(encryption.recipient), not for \(key.publicKey.fingerprint): it opens only with that key"
            )
        }
        defer { Sodium.wipe(&keyBytes) }
        let contentKey = try SecretKey(copying: keyBytes)
        var opened: [(name: String, data: Data)] = []
        for part in manifest.parts {
            guard part.file.hasSuffix(ExportManifest.encryptedSuffix), let size = part.plaintextSize,
                let digest = part.plaintextSHA256,
                let file = FileManager.default.contents(atPath: bundle + "/" + part.file)
            else { throw VaultError(.exportInvalid, "\(part.file): not an encrypted part") }
            let plaintext = try SegmentCipher.decrypt(
                file, key: contentKey,
                binding: ExportManifest.binding(exportID: manifest.exportID, file: part.file),
                segment: part.file)
            guard plaintext.count == size, Sodium.sha256(plaintext).hex == digest else {
                throw VaultError(.exportInvalid, "\(part.file): decrypts to something other than what was signed")
            }
            opened.append((String(part.file.dropLast(ExportManifest.encryptedSuffix.count)), plaintext))
        }
        do {
            try FileManager.default.createDirectory(
                atPath: output + "/video", withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            for (name, data) in opened { try Vault.writeDurably(data, to: output + "/" + name) }
            for name in [ExportManifest.manifestName, ExportManifest.signatureName] {
                try FileManager.default.copyItem(atPath: bundle + "/" + name, toPath: output + "/" + name)
            }
        } catch let error as VaultError { throw error } catch {
            throw VaultError(.io, "\(output): cannot write the opened export", underlying: error)
        }
        return manifest
    }
}
