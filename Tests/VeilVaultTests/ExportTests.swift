import Foundation
import Testing
import VeilCore

@testable import VeilVault

/// Reverses bytes: stands in for the media target's subject-access redaction, which is not the vault's concern.
struct ReversingTransform: SegmentTransform {
    let summary = "test transform: bytes reversed"
    func transform(_ segment: [UInt8], id: String, container: String) async throws -> [UInt8] { segment.reversed() }
}

@Suite("Signed exports")
struct ExportTests {
    func exported(transform: (any SegmentTransform)? = nil) async throws -> (VaultFixture, Vault, String, [UInt8]) {
        let fixture = try VaultFixture()
        let vault = try fixture.open()
        let first = VaultFixture.payload(70_000, marker: "first-segment")
        try await vault.store(first, as: VaultFixture.descriptor(start: VaultFixture.noon))
        try await vault.store(
            VaultFixture.payload(500, marker: "second"),
            as: VaultFixture.descriptor(start: VaultFixture.noon.addingTimeInterval(6)))
        try await vault.store(VaultFixture.payload(500), as: VaultFixture.descriptor("cam-b", start: VaultFixture.noon))
        let bundle = fixture.state.appendingPathComponent("export-1").path
        try await vault.export(
            camera: "cam-a", from: VaultFixture.noon.addingTimeInterval(-1),
            to: VaultFixture.noon.addingTimeInterval(60),
            into: bundle, requestedBy: "police", transform: transform)
        return (fixture, vault, bundle, first)
    }

    @Test("an export verifies with the gateway key and holds exactly the range's segments")
    func verifies() async throws {
        let (fixture, vault, bundle, first) = try await exported()
        defer { fixture.remove() }
        let manifest = try ExportVerifier.verify(bundle: bundle, publicKey: #require(vault.publicKey))
        #expect(manifest.camera == "cam-a")
        #expect(manifest.parts.count == 2)
        #expect(manifest.policyVersion == "test-1")
        #expect(manifest.parts[0].redaction == "faces, plates: blur, ellipse, margin 10 %")
        let data = try Data(contentsOf: URL(fileURLWithPath: bundle + "/" + manifest.parts[0].file))
        #expect([UInt8](data) == first)
        let export = try vault.audit.entries().last
        #expect(export?.action == "export")
        #expect(export?.details["segments"] == "2")
    }

    @Test("a changed part, an added file, a changed manifest or another key is refused by name", arguments: 0..<4)
    func tampering(_ kind: Int) async throws {
        let (fixture, vault, bundle, _) = try await exported()
        defer { fixture.remove() }
        var key = try #require(vault.publicKey)
        let manifest = try ExportVerifier.verify(bundle: bundle, publicKey: key)
        var expected = ""
        switch kind {
        case 0:
            let path = bundle + "/" + manifest.parts[1].file
            var data = try Data(contentsOf: URL(fileURLWithPath: path))
            data[3] ^= 0x40
            try data.write(to: URL(fileURLWithPath: path))
            expected = manifest.parts[1].file + ": does not match"
        case 1:
            try Data("extra".utf8).write(to: URL(fileURLWithPath: bundle + "/video/9999-extra.mp4"))
            expected = "video/9999-extra.mp4: not part of the signed export"
        case 2:
            let path = bundle + "/manifest.json"
            let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(
                of: "\"police\"", with: "\"nobody\"")
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            expected = "signature does not verify"
        default:
            let other = try VaultFixture()
            defer { other.remove() }
            key = try #require(try other.open().publicKey)
            expected = "signature does not verify"
        }
        let error = try #require(throws: VaultError.self) { try ExportVerifier.verify(bundle: bundle, publicKey: key) }
        #expect(error.code == .exportInvalid)
        #expect(error.message.contains(expected), "\(error.message)")
    }

    @Test("files added beside the video folder, and links, are refused")
    func extraFilesAndLinks() async throws {
        let (fixture, vault, bundle, _) = try await exported()
        defer { fixture.remove() }
        let key = try #require(vault.publicKey)
        try Data("x".utf8).write(to: URL(fileURLWithPath: bundle + "/evil.exe"))
        #expect(throws: VaultError(.exportInvalid, "")) { try ExportVerifier.verify(bundle: bundle, publicKey: key) }
        try FileManager.default.removeItem(atPath: bundle + "/evil.exe")
        let manifest = try ExportVerifier.verify(bundle: bundle, publicKey: key)
        let part = bundle + "/" + manifest.parts[1].file
        try FileManager.default.removeItem(atPath: part)
        try FileManager.default.createSymbolicLink(atPath: part, withDestinationPath: "/dev/zero")
        let error = try #require(throws: VaultError.self) { try ExportVerifier.verify(bundle: bundle, publicKey: key) }
        #expect(error.message.contains("not a plain file"))
    }

    @Test("the subject-access transform is applied and declared in the signed manifest")
    func transform() async throws {
        let (fixture, vault, bundle, first) = try await exported(transform: ReversingTransform())
        defer { fixture.remove() }
        let manifest = try ExportVerifier.verify(bundle: bundle, publicKey: #require(vault.publicKey))
        #expect(manifest.transform == "test transform: bytes reversed")
        let data = try Data(contentsOf: URL(fileURLWithPath: bundle + "/" + manifest.parts[0].file))
        #expect([UInt8](data) == first.reversed())
    }

    @Test("an export of tampered footage writes nothing")
    func tamperedSource() async throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let vault = try fixture.open()
        let segment = try await vault.store(
            VaultFixture.payload(1000), as: VaultFixture.descriptor(start: VaultFixture.noon))
        var data = try Data(contentsOf: URL(fileURLWithPath: fixture.segmentFile(segment)))
        data[100] ^= 1
        try data.write(to: URL(fileURLWithPath: fixture.segmentFile(segment)))
        let bundle = fixture.state.appendingPathComponent("export").path
        await #expect(throws: VaultError(.authenticationFailed, "")) {
            try await vault.export(
                camera: "cam-a", from: VaultFixture.noon, to: VaultFixture.noon.addingTimeInterval(10),
                into: bundle, requestedBy: "police")
        }
        #expect(!FileManager.default.fileExists(atPath: bundle))
    }
}

@Suite("Exports only the recipient can open")
struct RecipientExportTests {
    @Test("encrypted to a partner key: ciphertext to anyone else, verifiable by anyone, opened only by that key")
    func encrypted() async throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let vault = try fixture.open()
        let first = VaultFixture.payload(300_000, marker: "PLAINTEXT-MARKER")
        try await vault.store(first, as: VaultFixture.descriptor(start: VaultFixture.noon))
        try await vault.store(
            VaultFixture.payload(500, marker: "PLAINTEXT-MARKER"),
            as: VaultFixture.descriptor(start: VaultFixture.noon.addingTimeInterval(6)))
        let keys = fixture.state.appendingPathComponent("police").path
        let recipient = try RecipientKey.generate(writingTo: keys)
        let other = try RecipientKey.generate(writingTo: fixture.state.appendingPathComponent("mall").path)
        #expect(recipient != other)
        let bundle = fixture.state.appendingPathComponent("export-enc").path
        let manifest = try await vault.export(
            camera: "cam-a", from: VaultFixture.noon.addingTimeInterval(-1),
            to: VaultFixture.noon.addingTimeInterval(60), into: bundle, requestedBy: "police",
            recipient: recipient)
        #expect(manifest.encryption?.recipient == recipient.fingerprint)
        #expect(manifest.parts.allSatisfy { $0.file.hasSuffix(".enc") && $0.plaintextSHA256 != nil })
        // Nothing readable in the bundle: no part holds the footage's bytes.
        let marker = Array("PLAINTEXT-MARKER".utf8)
        for part in manifest.parts {
            let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: bundle + "/" + part.file)))
            #expect(
                !data.indices.dropLast(marker.count).contains { data[$0..<($0 + marker.count)].elementsEqual(marker) })
        }
        let publicKey = try #require(vault.publicKey)
        #expect(
            try ExportVerifier.verify(bundle: bundle, publicKey: publicKey).parts.count == 2, "anyone can check custody"
        )

        let opened = fixture.state.appendingPathComponent("opened").path
        try ExportVerifier.open(
            bundle: bundle, publicKey: publicKey, key: RecipientKey.load(from: keys + ".key"), into: opened)
        let firstName = String(manifest.parts[0].file.dropLast(4))
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: opened + "/" + firstName))) == first)

        // Another partner's key opens nothing, and says which key it was for.
        let wrong = try #require(throws: VaultError.self) {
            try ExportVerifier.open(
                bundle: bundle, publicKey: publicKey, key: RecipientKey.load(from: fixture.state.path + "/mall.key"),
                into: fixture.state.path + "/opened-by-mall")
        }
        #expect(wrong.message.contains(recipient.fingerprint) && wrong.message.contains(other.fingerprint))
        #expect(!FileManager.default.fileExists(atPath: fixture.state.path + "/opened-by-mall"))

        // Two parts swapped (names and contents exchanged consistently would break the signature): swap contents only.
        let (a, b) = (bundle + "/" + manifest.parts[0].file, bundle + "/" + manifest.parts[1].file)
        let (dataA, dataB) = (
            try Data(contentsOf: URL(fileURLWithPath: a)), try Data(contentsOf: URL(fileURLWithPath: b))
        )
        try dataB.write(to: URL(fileURLWithPath: a))
        try dataA.write(to: URL(fileURLWithPath: b))
        let swapped = try #require(throws: VaultError.self) {
            try ExportVerifier.verify(bundle: bundle, publicKey: publicKey)
        }
        #expect(swapped.code == .exportInvalid && swapped.message.contains(manifest.parts[0].file))
        // A flipped byte in a part is refused by name before anything is decrypted.
        try dataA.write(to: URL(fileURLWithPath: a))
        try dataB.write(to: URL(fileURLWithPath: b))
        var flipped = dataA
        flipped[flipped.count / 2] ^= 0x01
        try flipped.write(to: URL(fileURLWithPath: a))
        let tampered = try #require(throws: VaultError.self) {
            try ExportVerifier.open(
                bundle: bundle, publicKey: publicKey, key: RecipientKey.load(from: keys + ".key"),
                into: fixture.state.path + "/opened-tampered")
        }
        #expect(tampered.code == .exportInvalid && tampered.message.contains(manifest.parts[0].file))
        #expect(!FileManager.default.fileExists(atPath: fixture.state.path + "/opened-tampered"))
        let audited = try vault.audit.entries().last { $0.action == "export" }
        #expect(audited?.details["recipient"] == recipient.fingerprint)
    }

    @Test("a recipient key file readable by others is refused; so is a malformed public key")
    func keyFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "veilgate-recipient-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let name = folder.appendingPathComponent("p").path
        try RecipientKey.generate(writingTo: name)
        #expect(throws: VaultError(.invalidArgument, "")) { try RecipientKey.generate(writingTo: name) }
        chmod(name + ".key", 0o644)
        #expect(throws: VaultError(.keyFileInsecure, "")) { try RecipientKey.load(from: name + ".key") }
        try "not a key\n".write(toFile: name + ".pub", atomically: true, encoding: .utf8)
        #expect(throws: VaultError(.keyFileInvalid, "")) { try RecipientPublicKey.load(from: name + ".pub") }
    }
}
