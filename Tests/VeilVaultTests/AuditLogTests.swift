import Foundation
import GRDB
import Testing
import VeilCore

@testable import VeilVault

@Suite("Audit log: hash chain and signed checkpoints")
struct AuditLogTests {
    /// A vault whose log holds `count` decision entries.
    func populated(_ count: Int) async throws -> (VaultFixture, Vault) {
        let fixture = try VaultFixture()
        let vault = try fixture.open()
        for number in 1...count {
            try vault.audit.append(
                .decision, actor: "police", subject: "market-square", rules: ["police-live"],
                details: ["effect": number % 3 == 0 ? "deny" : "allow", "n": String(number)],
                at: VaultFixture.noon.addingTimeInterval(Double(number)))
        }
        return (fixture, vault)
    }

    func problems(_ vault: Vault) throws -> [AuditLog.Problem] {
        try vault.audit.verify(publicKey: #require(vault.publicKey)).problems
    }

    func sql(_ vault: Vault, _ statement: String) async throws {
        try VaultFixture.tamper(index: await vault.configuration.indexPath) { db in try db.execute(sql: statement) }
    }

    /// Recomputes the chain from `seq` on, as an attacker without the signing key can.
    static func rechain(_ db: Database, from seq: Int64) throws {
        var previous = try String.fetchOne(db, sql: "SELECT hash FROM audit WHERE seq = ?", arguments: [seq - 1])!
        for var row in try AuditRow.filter(Column("seq") >= seq).order(Column("seq")).fetchAll(db) {
            row.previousHash = previous
            row.hash = AuditLog.hash(
                seq: row.seq, time: row.time, action: row.action, actor: row.actor, subject: row.subject,
                rules: row.rules, details: row.details, previous: previous)
            try row.update(db)
            previous = row.hash
        }
    }

    @Test("an untouched log verifies, with a checkpoint every 100 entries")
    func intact() async throws {
        let (fixture, vault) = try await populated(250)
        defer { fixture.remove() }
        let verification = try vault.audit.verify(publicKey: #require(vault.publicKey))
        #expect(verification.isIntact)
        #expect(verification.entries == 250)
        #expect(verification.checkpoints == 2)
    }

    @Test("a modified entry is found by its sequence number")
    func modified() async throws {
        let (fixture, vault) = try await populated(120)
        defer { fixture.remove() }
        try await sql(vault, "UPDATE audit SET rules = 'police-evidence-clips' WHERE seq = 42")
        #expect(
            try problems(vault) == [
                AuditLog.Problem(kind: .modified, seq: 42, message: "content does not match its hash")
            ])
    }

    @Test("a deleted entry is found")
    func deleted() async throws {
        let (fixture, vault) = try await populated(120)
        defer { fixture.remove() }
        try await sql(vault, "DELETE FROM audit WHERE seq = 110")
        let found = try problems(vault)
        #expect(found.first?.kind == .deleted)
        #expect(found.first?.seq == 110)
    }

    @Test("swapped (reordered) entries are found")
    func reordered() async throws {
        let (fixture, vault) = try await populated(20)
        defer { fixture.remove() }
        // Swap the contents of entries 7 and 8, keeping their sequence numbers.
        try await sql(
            vault,
            """
            UPDATE audit SET time = (SELECT time FROM audit a WHERE a.seq = 15 - audit.seq),
              action = (SELECT action FROM audit a WHERE a.seq = 15 - audit.seq),
              actor = (SELECT actor FROM audit a WHERE a.seq = 15 - audit.seq),
              subject = (SELECT subject FROM audit a WHERE a.seq = 15 - audit.seq),
              rules = (SELECT rules FROM audit a WHERE a.seq = 15 - audit.seq),
              details = (SELECT details FROM audit a WHERE a.seq = 15 - audit.seq),
              previousHash = (SELECT previousHash FROM audit a WHERE a.seq = 15 - audit.seq),
              hash = (SELECT hash FROM audit a WHERE a.seq = 15 - audit.seq)
            WHERE seq IN (7, 8)
            """)
        let found = try problems(vault)
        #expect(!found.isEmpty)
        #expect(found.allSatisfy { (7...9).contains($0.seq) })
    }

    @Test("an inserted entry with a recomputed chain is caught by the signed checkpoint")
    func rewrittenChain() async throws {
        let (fixture, vault) = try await populated(150)
        defer { fixture.remove() }
        // An attacker without the signing key inserts an entry at 50 and re-chains everything after it.
        try fixture.tamper { db in
            try db.execute(sql: "UPDATE audit SET seq = seq + 1000 WHERE seq >= 50")
            try db.execute(sql: "UPDATE audit SET seq = seq - 999 WHERE seq >= 1000")
            let forged = AuditRow(
                seq: 50, time: 1, action: "view", actor: "x", subject: "y", rules: "", details: "{}",
                previousHash: "", hash: "")
            try forged.insert(db)
            try Self.rechain(db, from: 50)
        }
        let found = try problems(vault)
        #expect(
            found.contains {
                $0.seq == 100 && $0.kind == .modified && $0.message.contains("rewritten after it was checkpointed")
            })
    }

    @Test("deleting the checkpoints to rewrite the chain is found")
    func deletedCheckpoints() async throws {
        let (fixture, vault) = try await populated(230)
        defer { fixture.remove() }
        try fixture.tamper { db in
            try db.execute(sql: "DELETE FROM checkpoint")
            try db.execute(sql: "DELETE FROM audit WHERE seq = 5")
            // Renumber and re-chain everything after the deleted entry, as a careful attacker would.
            try db.execute(sql: "UPDATE audit SET seq = seq - 1 WHERE seq > 5")
            try Self.rechain(db, from: 5)
        }
        let found = try problems(vault)
        #expect(found.filter { $0.kind == .checkpointInvalid }.map(\.seq) == [100, 200])
    }

    @Test("truncating the log after a checkpoint is found; a forged checkpoint does not verify")
    func truncationAndForgery() async throws {
        let (fixture, vault) = try await populated(130)
        defer { fixture.remove() }
        try await sql(vault, "DELETE FROM audit WHERE seq > 90")
        #expect(try problems(vault).contains { $0.kind == .truncated && $0.seq == 100 })

        let (other, otherVault) = try await populated(100)
        defer { other.remove() }
        let foreign = try #require(otherVault.publicKey)
        let verification = try vault.audit.verify(publicKey: foreign)
        #expect(verification.problems.contains { $0.kind == .checkpointInvalid })
    }

    @Test("a share entry keeps the whole segment id, so it proves which segment left (issue 15, finding 8)")
    func fullSegmentIds() async throws {
        let fixture = try VaultFixture()
        defer { fixture.remove() }
        let vault = try fixture.open()
        let camera = String(repeating: "c", count: 60),
            segment = "raw-video-" + String(repeating: "0123456789abcdef", count: 6)
        let subject = "camera:\(camera)/segment:\(segment)"
        #expect(subject.count > 160)
        let entry = try vault.audit.append(.share, actor: "partner:police", subject: subject, at: VaultFixture.noon)
        #expect(entry.subject == subject)
        #expect(try vault.audit.entries().last?.subject == subject)
        #expect(try vault.audit.verify(publicKey: #require(vault.publicKey)).isIntact)
        // Still one printable line: control characters are dropped, not kept.
        let forged = try vault.audit.append(
            .share, actor: "partner:police", subject: "camera:a\nseq 1", at: VaultFixture.noon)
        #expect(forged.subject == "camera:aseq 1")
    }

    @Test(
        "cutting the log's tail together with its checkpoints is found by the anchor outside the state folder (issue 15, finding 4)"
    )
    func tailTruncationWithCheckpoints() async throws {
        let (fixture, vault) = try await populated(130)
        defer { fixture.remove() }
        // as at shutdown: heads at 100 and 130
        try vault.audit.checkpoint(at: VaultFixture.noon.addingTimeInterval(200))
        let anchor = try #require(vault.audit.anchorPath)
        #expect(
            anchor.hasSuffix(".audit-anchor") && !anchor.hasPrefix(fixture.state.path + "/"),
            "beside the state folder, not in it")
        #expect(try problems(vault).isEmpty)
        // The attack: delete the last entries and the checkpoints that cover them; what is left is a consistent chain.
        try await sql(vault, "DELETE FROM audit WHERE seq > 90")
        try await sql(vault, "DELETE FROM checkpoint WHERE seq > 90")
        let empty = fixture.state.path + ".empty-anchor"
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let withoutAnchor = try vault.audit.verify(publicKey: #require(vault.publicKey), anchor: empty)
        #expect(withoutAnchor.isIntact, "without the anchor nothing in the state folder tells (the finding)")
        let found = try problems(vault)
        #expect(found.contains { $0.kind == .truncated && $0.seq == 130 }, "\(found)")
        #expect(found.contains { $0.kind == .truncated && $0.seq == 100 })
        // A forged anchor line does not verify.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: anchor))
        try handle.seekToEnd()
        try handle.write(
            contentsOf: Data(
                "500 \(String(repeating: "a", count: 64)) 0 signer \(String(repeating: "b", count: 128))\n".utf8))
        try handle.close()
        #expect(try problems(vault).contains { $0.kind == .checkpointInvalid && $0.seq == 500 })
    }
}
