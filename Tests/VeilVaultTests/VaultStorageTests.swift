import Foundation
import GRDB
import Testing
import VeilCore

@testable import VeilVault

@Suite("Vault storage and tamper resistance")
struct VaultStorageTests {
    /// Edits an index row the way an attacker who also holds the index key would: the row still authenticates,
    /// so only the segment's own encryption can catch the change.
    func forge(_ vault: Vault, _ id: String, _ change: @escaping @Sendable (inout SegmentRow) -> Void) async throws {
        let authenticator = vault.authenticator
        try VaultFixture.tamper(index: await vault.configuration.indexPath) { db in
            var row = try #require(try SegmentRow.fetchOne(db, key: id))
            change(&row)
            row.mac = authenticator.mac(row.authenticatedFields)
            try row.update(db)
        }
    }

    @Test(
        "segments round-trip; files hold no plaintext", arguments: [0, 1, 1000, 256 * 1024, 256 * 1024 + 1, 3_000_000])
    func roundTrip(_ size: Int) async throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let vault = try fixture.open()
        let plaintext = VaultFixture.payload(size)
        let stored = try await vault.store(plaintext, as: VaultFixture.descriptor(start: VaultFixture.noon))
        #expect(try await vault.read(stored.id) == plaintext)
        let file = try Data(contentsOf: URL(fileURLWithPath: fixture.segmentFile(stored)))
        #expect(Int64(file.count) == stored.size)
        if size >= 16 { #expect(file.range(of: Data("PLAINTEXT-MARKER".utf8)) == nil) }
        let listed = try await vault.segments(
            camera: "cam-a", from: VaultFixture.noon, to: VaultFixture.noon.addingTimeInterval(60))
        #expect(listed.map(\.id) == [stored.id])
    }

    @Test("the policy decides what may be stored")
    func storageNotAllowed() async throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let vault = try fixture.open(FixedSchedule(stored: [.redactedVideo]))
        await #expect(throws: VaultError(.storageNotAllowed, "")) {
            try await vault.store([1, 2, 3], as: VaultFixture.descriptor("cam-a", .rawVideo, start: VaultFixture.noon))
        }
        let second = try VaultFixture()
        defer { second.remove() }
        let unscheduled = try Vault(configuration: second.configuration, schedule: nil)
        await #expect(throws: VaultError(.storageNotAllowed, "")) {
            try await unscheduled.store([1], as: VaultFixture.descriptor(start: VaultFixture.noon))
        }
    }

    @Test("a flipped byte, a truncated file, a moved file or an edited index row is refused by segment id")
    func tampering() async throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let vault = try fixture.open()
        let first = try await vault.store(
            VaultFixture.payload(600_000), as: VaultFixture.descriptor(start: VaultFixture.noon))
        let second = try await vault.store(
            VaultFixture.payload(1000), as: VaultFixture.descriptor(start: VaultFixture.noon.addingTimeInterval(6)))
        let path = fixture.segmentFile(first)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))

        // 1. A flipped byte, with the index digest updated too so that the AEAD itself must catch it.
        let flipped = {
            var data = original
            data[data.count / 2] ^= 0x01
            return data
        }()
        try flipped.write(to: URL(fileURLWithPath: path))
        let digestError = try await #require(throws: VaultError.self) { try await vault.read(first.id) }
        #expect(digestError.code == .authenticationFailed && digestError.message.contains(first.id))
        let flippedPrint = try SegmentCipher.fingerprint(of: flipped, segment: "x").hex
        try await forge(vault, first.id) { $0.fingerprint = flippedPrint }
        let aeadError = try await #require(throws: VaultError.self) { try await vault.read(first.id) }
        #expect(aeadError.code == .authenticationFailed)
        #expect(aeadError.message.contains("segment \(first.id): chunk 1 failed authentication"))

        // 2. Truncated after the first chunk (index made consistent), so only the missing FINAL tag betrays it.
        let truncated = original.prefix(8 + 24 + 4 + 256 * 1024 + 17)
        try truncated.write(to: URL(fileURLWithPath: path))
        let truncatedPrint = try SegmentCipher.fingerprint(of: truncated, segment: "x").hex
        try await forge(vault, first.id) {
            $0.fingerprint = truncatedPrint
            $0.size = Int64(truncated.count)
        }
        let truncation = try await #require(throws: VaultError.self) { try await vault.read(first.id) }
        #expect(truncation.code == .truncated)

        // 3. The second segment's file copied over the first, index row made to match: the binding fails.
        let secondFile = try Data(contentsOf: URL(fileURLWithPath: fixture.segmentFile(second)))
        try secondFile.write(to: URL(fileURLWithPath: path))
        let secondPrint = try SegmentCipher.fingerprint(of: secondFile, segment: "x").hex
        try await forge(vault, first.id) {
            $0.fingerprint = secondPrint
            $0.size = Int64(secondFile.count)
        }
        await #expect(throws: VaultError(.authenticationFailed, "")) { try await vault.read(first.id) }

        // 4. An index row edited by hand (no index key): refused before any decryption.
        try fixture.tamper { db in
            try db.execute(sql: "UPDATE segment SET start = start - 3600 WHERE id = ?", arguments: [second.id])
        }
        let edited = try await #require(throws: VaultError.self) { try await vault.read(second.id) }
        #expect(
            edited.code == .authenticationFailed && edited.message == "segment \(second.id): its index row was altered")

        // 5. The same edit by someone holding the index key: the segment's binding still refuses it.
        try await forge(vault, second.id) { $0.start -= 3600 }
        let moved = try await #require(throws: VaultError.self) { try await vault.read(second.id) }
        #expect(moved.code == .authenticationFailed && moved.message.contains("chunk 0 failed authentication"))

        // 6. Absurd numbers written into the index are errors, not crashes.
        try fixture.tamper { db in
            try db.execute(sql: "UPDATE segment SET start = 1e300 WHERE id = ?", arguments: [second.id])
        }
        await #expect(throws: VaultError(.authenticationFailed, "")) { try await vault.read(second.id) }
    }

    @Test(
        "a segment's redaction is stored typed; an edited one reads as unknown, and a row from before it was typed is read from its words"
    )
    func typedRedaction() async throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let vault = try fixture.open()
        let strict = RedactionSpec(classes: [.faces, .plates, .persons], mode: .pixelate, shape: .ellipse, margin: 0.2)
        var descriptor = VaultFixture.descriptor(start: VaultFixture.noon)
        descriptor.redaction = strict
        let stored = try await vault.store([1, 2, 3], as: descriptor)
        let raw = try await vault.store([4], as: VaultFixture.descriptor("cam-a", .rawVideo, start: VaultFixture.noon))
        #expect(try await vault.segment(stored.id)?.descriptor.redaction == strict)
        #expect(try await vault.segment(raw.id)?.descriptor.redaction == .unredacted)
        #expect(try await vault.segment(raw.id)?.descriptor.redactionLabel == "none (original footage)")

        // Someone claims the raw footage is redacted (the typed column is not what the row's MAC covers): unknown.
        let claimed = String(decoding: try JSONEncoder().encode(strict), as: UTF8.self)
        try fixture.tamper { db in
            try db.execute(sql: "UPDATE segment SET redactionSpec = ? WHERE id = ?", arguments: [claimed, raw.id])
        }
        #expect(try await vault.segment(raw.id)?.descriptor.redaction == nil)
        // A row written before the column existed has its words only: they are read back.
        try fixture.tamper { db in
            try db.execute(sql: "UPDATE segment SET redactionSpec = NULL WHERE id = ?", arguments: [stored.id])
        }
        #expect(try await vault.segment(stored.id)?.descriptor.redaction == strict)
    }

    @Test("an index from before typed redaction is migrated: each segment's redaction is read from its words")
    func redactionMigration() async throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        var descriptor = VaultFixture.descriptor(start: VaultFixture.noon)
        descriptor.redaction = RedactionSpec(classes: [.faces], mode: .solid, shape: .box, margin: 0.3)
        let stored = try await fixture.open().store([1, 2, 3], as: descriptor)
        // Back to the first schema: no typed column, the vault's own event table, migration v2 not applied.
        try fixture.tamper { db in
            try db.execute(sql: "ALTER TABLE segment DROP COLUMN redactionSpec")
            try db.execute(
                sql:
                    "CREATE TABLE event (id TEXT PRIMARY KEY, camera TEXT NOT NULL, kind TEXT NOT NULL, time DOUBLE NOT NULL, zone TEXT, payload TEXT NOT NULL)"
            )
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v2'")
        }
        let reopened = try fixture.open()
        #expect(try await reopened.segment(stored.id)?.descriptor.redaction == descriptor.redaction)
        try fixture.tamper { db in
            let typed = try String.fetchOne(
                db, sql: "SELECT redactionSpec FROM segment WHERE id = ?", arguments: [stored.id])
            #expect(typed?.contains(#""mode":"solid""#) == true, "\(typed ?? "nil")")
            #expect(try !db.tableExists("event"))
        }
    }

    @Test("one writer at a time; readers open beside it without touching its files")
    func locking() async throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let writer = try fixture.open()
        let stored = try await writer.store(
            VaultFixture.payload(100), as: VaultFixture.descriptor(start: VaultFixture.noon))
        #expect(throws: VaultError(.inUse, "")) { try fixture.open() }
        // A stray temporary file is the writer's business: a reader must not "recover" it away.
        let stray = fixture.configuration.temporaryDirectory + "/in-progress.part"
        #expect(FileManager.default.createFile(atPath: stray, contents: Data([1])))
        let reader = try Vault(configuration: fixture.configuration, schedule: FixedSchedule(), mode: .readOnly)
        #expect(try await reader.read(stored.id).count == 100)
        #expect(FileManager.default.fileExists(atPath: stray))
        await #expect(throws: VaultError(.invalidArgument, "")) {
            try await reader.store([1], as: VaultFixture.descriptor(start: VaultFixture.noon))
        }
    }

    @Test("index and keystore files are readable by their owner only")
    func permissions() async throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        _ = try fixture.open()
        for path in [fixture.configuration.indexPath, fixture.configuration.keystorePath] {
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber
            #expect(mode?.intValue == 0o600, "\(path)")
        }
    }

    @Test("a wrong key-encryption key is refused before anything is read; an insecure key file too")
    func wrongKEK() async throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        _ = try fixture.open()
        let otherKEK = fixture.state.appendingPathComponent("other.key").path
        try KeyEncryptionKeySource.createFile(at: otherKEK)
        var wrong = fixture.configuration
        wrong.keyEncryptionKey = .file(otherKEK)
        #expect(throws: VaultError(.wrongKeyEncryptionKey, "")) {
            try Vault(configuration: wrong, schedule: FixedSchedule())
        }

        guard case .file(let kekPath) = fixture.configuration.keyEncryptionKey else {
            Issue.record("expected a KEK file")
            return
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: kekPath)
        let insecure = try #require(throws: VaultError.self) { try fixture.open() }
        #expect(insecure.code == .keyFileInsecure)
        #expect(insecure.message.contains("chmod 600"))
        // The key's bytes never appear in the message.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: kekPath)
        let kekText = try String(contentsOfFile: kekPath, encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        #expect(!insecure.description.contains(kekText))

        // The same key from the environment opens the vault.
        setenv("VEILGATE_TEST_KEK", kekText, 1)
        defer { unsetenv("VEILGATE_TEST_KEK") }
        var fromEnvironment = fixture.configuration
        fromEnvironment.keyEncryptionKey = .environment("VEILGATE_TEST_KEK")
        _ = try Vault(configuration: fromEnvironment, schedule: FixedSchedule())
        setenv("VEILGATE_TEST_KEK", "not-hex", 1)
        #expect(throws: VaultError(.keyFileInvalid, "")) {
            try Vault(configuration: fromEnvironment, schedule: FixedSchedule())
        }
    }
}
