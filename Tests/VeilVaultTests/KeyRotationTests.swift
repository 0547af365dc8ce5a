import Foundation
import GRDB
import Testing
import VeilCore

@testable import VeilVault

@Suite("Key-encryption key rotation")
struct KeyRotationTests {
    func kekPath(_ fixture: VaultFixture) throws -> String {
        guard case .file(let path) = fixture.configuration.keyEncryptionKey else {
            throw VaultError(.notFound, "no KEK file")
        }
        return path
    }

    /// A vault with footage on two cameras and a legal hold; returns the segments' ids.
    func populate(_ fixture: VaultFixture) async throws -> [String] {
        let vault = try fixture.open()
        let now = VaultFixture.noon
        var ids: [String] = []
        for (index, camera) in ["cam-a", "cam-b", "cam-a"].enumerated() {
            let start = now.addingTimeInterval(Double(index) * 6 + (index == 2 ? 86_400 : 0))
            ids.append(
                try await vault.store(
                    VaultFixture.payload(5000, marker: "SEG\(index)"),
                    as: VaultFixture.descriptor(CameraID(camera), start: start)
                ).id)
        }
        _ = try await vault.placeHold(
            camera: "cam-b", from: now, to: now.addingTimeInterval(60), caseReference: "C-7", by: "dpo", at: now)
        return ids
    }

    @Test(
        "after a rotation the new key opens everything, the old key nothing; holds, reads and the audit log are intact")
    func rotation() async throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let ids = try await populate(fixture)
        let path = try kekPath(fixture)
        let oldKey = fixture.state.appendingPathComponent("old.key").path
        try FileManager.default.copyItem(atPath: path, toPath: oldKey)

        let report = try Vault.rotateKeyEncryptionKey(fixture.configuration, by: "security-officer")
        // Two cameras over two days: three buckets, plus the keystore's check value.
        #expect(report.keysRewrapped == 4)
        #expect(report.rowsReauthenticated == 3 + 3 + 1, "three segments, three buckets, one hold")
        #expect(report.rowsLeftInvalid == 0 && !report.resumed)
        #expect(!FileManager.default.fileExists(atPath: path + ".next"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) != Data(contentsOf: URL(fileURLWithPath: oldKey)))

        let vault = try fixture.open()
        for (index, id) in ids.enumerated() {
            #expect(try await vault.read(id) == VaultFixture.payload(5000, marker: "SEG\(index)"))
        }
        #expect(try await vault.holds().count == 1)
        let verification = try vault.audit.verify(publicKey: #require(vault.publicKey))
        #expect(verification.isIntact)
        #expect(
            try vault.audit.entries(limit: 1000).contains {
                $0.action == "kek-rotated" && $0.actor == "security-officer"
            })

        var old = fixture.configuration
        old.keyEncryptionKey = .file(oldKey)
        #expect(throws: VaultError(.wrongKeyEncryptionKey, "")) {
            try Vault(configuration: old, schedule: FixedSchedule(), mode: .readOnly)
        }
    }

    @Test("rotation needs the vault closed, and does not launder a row edited by hand")
    func lockAndTamperedRows() async throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let ids = try await populate(fixture)
        do {
            let open = try fixture.open()
            #expect(throws: VaultError(.inUse, "")) {
                try Vault.rotateKeyEncryptionKey(fixture.configuration, by: "x")
            }
            _ = open
        }
        // Someone without the key moves a segment in time (to dodge expiry): its MAC no longer matches.
        let index = try DatabaseQueue(path: fixture.indexPath)
        try await index.write { db in
            try db.execute(sql: "UPDATE segment SET start = start + 3600 WHERE id = ?", arguments: [ids[0]])
        }
        try index.close()

        let report = try Vault.rotateKeyEncryptionKey(fixture.configuration, by: "security-officer")
        #expect(report.rowsLeftInvalid == 1)
        let vault = try fixture.open()
        await #expect(throws: VaultError(.authenticationFailed, "")) { try await vault.read(ids[0]) }
        #expect(try await vault.read(ids[1]).count == 5000)
    }

    @Test("an interrupted rotation keeps the vault closed until rotate-kek runs again, which finishes it")
    func interrupted() async throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let ids = try await populate(fixture)
        let path = try kekPath(fixture)
        // The crash: the new key was written and the keystore rewrapped, the index not yet re-authenticated.
        try KeyEncryptionKeySource.createFile(at: path + ".next")
        let keystore = try Keystore(
            path: fixture.configuration.keystoreDirectory + "/keys.sqlite",
            kek: KeyEncryptionKeySource.file(path).load())
        _ = try keystore.rewrapTopLevelKeys(under: KeyEncryptionKeySource.file(path + ".next").load())

        let refused = try #require(throws: VaultError.self) { try fixture.open() }
        #expect(refused.code == .keyRotationInterrupted && refused.message.contains("rotate-kek"))

        let report = try Vault.rotateKeyEncryptionKey(fixture.configuration, by: "security-officer")
        #expect(report.resumed && report.keysRewrapped == 0 && report.rowsReauthenticated == 7)
        let vault = try fixture.open()
        for (index, id) in ids.enumerated() {
            #expect(try await vault.read(id) == VaultFixture.payload(5000, marker: "SEG\(index)"))
        }
    }

    @Test("with the KEK in a variable, the new key comes from another variable; the old one then opens nothing")
    func environmentKey() async throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let ids = try await populate(fixture)
        let oldText = try String(contentsOfFile: try kekPath(fixture), encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        let newText = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        setenv("VEILGATE_TEST_OLD_KEK", oldText, 1)
        setenv("VEILGATE_TEST_NEW_KEK", newText, 1)
        defer {
            unsetenv("VEILGATE_TEST_OLD_KEK")
            unsetenv("VEILGATE_TEST_NEW_KEK")
        }
        var configuration = fixture.configuration
        configuration.keyEncryptionKey = .environment("VEILGATE_TEST_OLD_KEK")
        #expect(throws: VaultError(.notFound, "")) {
            try Vault.rotateKeyEncryptionKey(configuration, newKeyVariable: "VEILGATE_TEST_UNSET", by: "x")
        }
        let report = try Vault.rotateKeyEncryptionKey(configuration, newKeyVariable: "VEILGATE_TEST_NEW_KEK", by: "x")
        #expect(report.keysRewrapped == 4 && report.newKeyLocation.contains("VEILGATE_TEST_NEW_KEK"))
        #expect(throws: VaultError(.wrongKeyEncryptionKey, "")) {
            try Vault(configuration: configuration, schedule: FixedSchedule())
        }
        configuration.keyEncryptionKey = .environment("VEILGATE_TEST_NEW_KEK")
        let vault = try Vault(configuration: configuration, schedule: FixedSchedule())
        #expect(try await vault.read(ids[2]) == VaultFixture.payload(5000, marker: "SEG2"))
    }
}
