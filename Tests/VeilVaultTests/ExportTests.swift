import Foundation
import Testing
import VeilCore
@testable import VeilVault

/// Reverses bytes: stands in for the media target's subject-access redaction, which is not the vault's concern.
struct ReversingTransform: SegmentTransform {
    let summary = "test transform: bytes reversed"
    func transform(_ segment: [UInt8], container: String) async throws -> [UInt8] { segment.reversed() }
}

@Suite("Signed exports")
struct ExportTests {
    func exported(transform: (any SegmentTransform)? = nil) async throws -> (VaultFixture, Vault, String, [UInt8]) {
        let fixture = try VaultFixture()
        let vault = try fixture.open()
        let first = VaultFixture.payload(70_000, marker: "first-segment")
        try await vault.store(first, as: VaultFixture.descriptor(start: VaultFixture.noon))
        try await vault.store(VaultFixture.payload(500, marker: "second"), as: VaultFixture.descriptor(start: VaultFixture.noon.addingTimeInterval(6)))
        try await vault.store(VaultFixture.payload(500), as: VaultFixture.descriptor("cam-b", start: VaultFixture.noon))
        let bundle = fixture.state.appendingPathComponent("export-1").path
        try await vault.export(camera: "cam-a", from: VaultFixture.noon.addingTimeInterval(-1), to: VaultFixture.noon.addingTimeInterval(60),
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
        #expect(manifest.parts[0].redaction == "faces, plates: blur")
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
            let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\"police\"", with: "\"nobody\"")
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
        let segment = try await vault.store(VaultFixture.payload(1000), as: VaultFixture.descriptor(start: VaultFixture.noon))
        var data = try Data(contentsOf: URL(fileURLWithPath: fixture.segmentFile(segment)))
        data[100] ^= 1
        try data.write(to: URL(fileURLWithPath: fixture.segmentFile(segment)))
        let bundle = fixture.state.appendingPathComponent("export").path
        await #expect(throws: VaultError(.authenticationFailed, "")) {
            try await vault.export(camera: "cam-a", from: VaultFixture.noon, to: VaultFixture.noon.addingTimeInterval(10),
                                   into: bundle, requestedBy: "police")
        }
        #expect(!FileManager.default.fileExists(atPath: bundle))
    }
}
