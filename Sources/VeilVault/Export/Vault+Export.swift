public import Foundation
public import VeilCore

extension Vault {
    /// Exports a camera's footage in a range into a new folder: the decrypted segments under `video/`, a
    /// manifest with their digests, and the manifest's Ed25519 signature. Every segment is authenticated
    /// before anything is written; the export is audited.
    /// - Parameters:
    ///   - transform: applied to each segment on the way out; the subject-access export (Art. 15) passes one
    ///     that redacts everyone but the data subject.
    @discardableResult
    public func export(camera: CameraID, from: Date, to: Date, into bundle: String, requestedBy actor: String,
                       transform: (any SegmentTransform)? = nil, at now: Date = Date()) async throws -> ExportManifest
    {
        guard let signingKey else {
            throw VaultError(.notFound, "\(configuration.signingKeyPath): exports need the gateway signing key")
        }
        guard !FileManager.default.fileExists(atPath: bundle) else {
            throw VaultError(.invalidArgument, "\(bundle) already exists; choose a new folder for the export")
        }
        let segments = try segments(camera: camera, from: from, to: to)
        guard !segments.isEmpty else { throw VaultError(.notFound, "no footage of \(camera) in that range") }
        // Decrypt and verify everything first: a bundle is never left half-written by a tampered segment.
        var contents: [(StoredSegment, [UInt8])] = []
        for segment in segments {
            var plaintext = try read(segment.id)
            if let transform { plaintext = try await transform.transform(plaintext, container: segment.descriptor.container) }
            contents.append((segment, plaintext))
        }
        // Recorded before anything leaves the vault: an export that fails half-way is still on the record.
        let exportID = UUID().uuidString.lowercased()
        _ = try audit.append(.export, actor: actor, subject: camera.rawValue, details: [
            "export": exportID, "segments": String(contents.count), "from": Self.timestamp(from), "to": Self.timestamp(to),
            "transform": transform == nil ? "none" : "applied",
        ], at: now)
        let video = bundle + "/video"
        do {
            try FileManager.default.createDirectory(atPath: video, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch { throw VaultError(.io, "\(bundle): cannot create", underlying: error) }
        var parts: [ExportManifest.Part] = []
        for (number, (segment, plaintext)) in contents.enumerated() {
            let name = String(format: "video/%04d-%@.%@", number + 1, segment.id, segment.descriptor.container)
            try Self.writeDurably(Data(plaintext), to: bundle + "/" + name)
            parts.append(ExportManifest.Part(
                file: name, segment: segment.id, start: Self.timestamp(segment.descriptor.start),
                end: Self.timestamp(segment.descriptor.end), category: segment.descriptor.category.rawValue,
                redaction: segment.descriptor.redaction, policyVersion: segment.descriptor.policyVersion,
                size: plaintext.count, sha256: Sodium.sha256(plaintext).hex))
        }
        let manifest = ExportManifest(
            format: ExportManifest.currentFormat, exportID: exportID, camera: camera.rawValue,
            from: Self.timestamp(from), to: Self.timestamp(to), createdAt: Self.timestamp(now), requestedBy: actor,
            policyVersion: schedule?.policyVersion ?? "unknown", transform: transform?.summary,
            signer: signingKey.publicKey.fingerprint, parts: parts)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(manifest) } catch { throw VaultError(.io, "cannot encode the manifest", underlying: error) }
        try Self.writeDurably(data, to: bundle + "/" + ExportManifest.manifestName)
        try Self.writeDurably(Data((signingKey.sign([UInt8](data)).hex + "\n").utf8), to: bundle + "/" + ExportManifest.signatureName)
        return manifest
    }

    /// The gateway's public key, for partners verifying exports and for `audit verify`.
    public nonisolated var publicKey: GatewayPublicKey? { signingKey?.publicKey }
}
