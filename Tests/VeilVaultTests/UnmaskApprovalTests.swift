import Foundation
import Testing
import VeilCore

@testable import VeilVault

/// Issue 16, item 3: the unmask layer opens only with two approvals of different roles, each made with the approver's
/// own key for that one request.
@Suite("Unmasking under the two-person rule")
struct UnmaskApprovalTests {
    /// A vault holding one unmask-layer segment of camera `cam-a` at noon, sealed to a DPO and a duty officer; their
    /// keys.
    struct Setup {
        let fixture: VaultFixture
        let vault: Vault
        let dpo: RecipientKey
        let officer: RecipientKey
        let pixels: [UInt8]
        let folder: String

        init() async throws {
            fixture = try VaultFixture()
            var schedule = FixedSchedule()
            schedule.stored.insert(.unmaskLayer)
            schedule.periods[.unmaskLayer] = .days(7)
            vault = try fixture.open(schedule)
            folder = fixture.state.path + "/people"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try RecipientKey.generate(writingTo: folder + "/dpo")
            try RecipientKey.generate(writingTo: folder + "/officer")
            dpo = try RecipientKey.load(from: folder + "/dpo.key")
            officer = try RecipientKey.load(from: folder + "/officer.key")
            pixels = VaultFixture.payload(3000, marker: "original pixels of a face")
            let start = VaultFixture.noon
            let approvers: [UnmaskApprover] = [
                .init(role: "dpo", key: dpo.publicKey), .init(role: "duty-officer", key: officer.publicKey),
            ]
            // Two faces: track 7 at the top left, track 8 further right.
            let layer = UnmaskLayer(
                width: 768, height: 576,
                tracks: try [(7, 10), (8, 300)].map { track, x in
                    .init(
                        track: track, kind: "faces", canvasWidth: 32, canvasHeight: 32,
                        crops: [.init(time: start.timeIntervalSince1970, x: x, y: 20, width: 30, height: 32)],
                        sealed: try TwoPersonSealed.seal(
                            track == 7 ? pixels : [UInt8](repeating: 8, count: 100), for: approvers,
                            binding: Vault.unmaskBinding(camera: "cam-a", start: start, track: track)))
                })
            var descriptor = VaultFixture.descriptor(start: start)
            descriptor.category = .unmaskLayer
            descriptor.container = UnmaskLayer.container
            try await vault.store(try layer.encoded(), as: descriptor)
        }

        func request(_ name: String = "request.json") async throws -> (UnmaskRequest, String) {
            let path = folder + "/" + name
            let request = try await vault.requestUnmask(
                camera: "cam-a", from: VaultFixture.noon.addingTimeInterval(-1),
                to: VaultFixture.noon.addingTimeInterval(10), reason: "robbery at the kiosk, case 2026-114",
                by: "operator", writingTo: path)
            return (request, path)
        }

        func approve(_ path: String, with key: RecipientKey) async throws -> UnmaskApproval {
            try UnmaskApprovals.approve(requestAt: path, publicKey: #require(vault.publicKey), key: key).1
        }
    }

    @Test("two approvals of different roles open the original pixels; the request is then used up and audited")
    func twoApprovalsOpen() async throws {
        let setup = try await Setup()
        defer { setup.fixture.remove() }
        let (request, path) = try await setup.request()
        #expect(request.approvers.keys.sorted() == ["dpo", "duty-officer"])
        let approvals = [
            try await setup.approve(path, with: setup.dpo), try await setup.approve(path, with: setup.officer),
        ]
        #expect(approvals.map(\.role).sorted() == ["dpo", "duty-officer"])
        let (_, opened) = try await setup.vault.unmask(request: request.id, approvals: approvals, by: "operator")
        #expect(opened.map(\.track.track) == [7, 8])
        #expect(opened[0].pixels == setup.pixels && opened[0].track.crops.count == 1)
        // Used once.
        await #expect(throws: VaultError.self) {
            try await setup.vault.unmask(request: request.id, approvals: approvals, by: "operator")
        }
        let actions = try setup.vault.audit.entries().map(\.action)
        #expect(actions.contains("unmask-requested") && actions.contains("unmask"))
    }

    @Test("one approval, one person approving twice, or an approval of another request opens nothing")
    func oneIsNotEnough() async throws {
        let setup = try await Setup()
        defer { setup.fixture.remove() }
        let (request, path) = try await setup.request()
        let dpo = try await setup.approve(path, with: setup.dpo)
        let officer = try await setup.approve(path, with: setup.officer)
        await #expect(throws: VaultError(.twoPersonRule, "")) {
            try await setup.vault.unmask(request: request.id, approvals: [dpo], by: "operator")
        }
        await #expect(throws: VaultError(.twoPersonRule, "")) {
            try await setup.vault.unmask(request: request.id, approvals: [dpo, dpo], by: "operator")
        }
        // A forged second role with the DPO's own key.
        var forged = dpo
        forged.role = "duty-officer"
        await #expect(throws: VaultError(.twoPersonRule, "")) {
            try await setup.vault.unmask(request: request.id, approvals: [dpo, forged], by: "operator")
        }
        // Approvals made for another request open nothing here.
        let (other, otherPath) = try await setup.request("other.json")
        let elsewhere = try await setup.approve(otherPath, with: setup.officer)
        await #expect(throws: VaultError(.twoPersonRule, "")) {
            try await setup.vault.unmask(request: request.id, approvals: [dpo, elsewhere], by: "operator")
        }
        // And the right pair still does.
        #expect(
            try await setup.vault.unmask(request: request.id, approvals: [dpo, officer], by: "operator").1.count == 2)
        _ = other
    }

    @Test("a key the request does not ask, or a request whose signature does not verify, is refused by name")
    func refusedByName() async throws {
        let setup = try await Setup()
        defer { setup.fixture.remove() }
        let (_, path) = try await setup.request()
        try RecipientKey.generate(writingTo: setup.folder + "/stranger")
        let stranger = try RecipientKey.load(from: setup.folder + "/stranger.key")
        #expect {
            _ = try UnmaskApprovals.approve(requestAt: path, publicKey: #require(setup.vault.publicKey), key: stranger)
        } throws: { String(describing: $0).contains("asks nothing of key") }
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "robbery at the kiosk", with: "routine check")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            _ = try UnmaskApprovals.approve(requestAt: path, publicKey: #require(setup.vault.publicKey), key: setup.dpo)
        } throws: { String(describing: $0).contains("does not verify") }
    }

    @Test("a request forged with the gateway's own key, saying another time than the halves it carries, is refused")
    func forgedRequest() async throws {
        let setup = try await Setup()
        defer { setup.fixture.remove() }
        let (_, path) = try await setup.request()
        // Whoever holds the state folder holds the signing key: they say "an hour later" and sign it again.
        var text = try String(contentsOfFile: path, encoding: .utf8)
        let later = Timestamp.precise(VaultFixture.noon.addingTimeInterval(3600))
        let end = Timestamp.precise(VaultFixture.noon.addingTimeInterval(3700))
        let from = try #require(text.range(of: #""from" : "[^"]*""#, options: .regularExpression))
        text.replaceSubrange(from, with: "\"from\" : \"\(later)\"")
        let to = try #require(text.range(of: #""to" : "[^"]*""#, options: .regularExpression))
        text.replaceSubrange(to, with: "\"to\" : \"\(end)\"")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let signingKey = try GatewaySigningKey.load(from: setup.fixture.configuration.signingKeyPath)
        try (signingKey.sign([UInt8](text.utf8)).hex + "\n").write(
            toFile: path + ".sig", atomically: true, encoding: .utf8)
        #expect {
            _ = try UnmaskApprovals.approve(requestAt: path, publicKey: #require(setup.vault.publicKey), key: setup.dpo)
        } throws: { String(describing: $0).contains("outside") && String(describing: $0).contains("do not approve") }
    }

    @Test("the layer holds no readable pixels, and the seal refuses approvers of one role or one key")
    func sealed() async throws {
        let setup = try await Setup()
        defer { setup.fixture.remove() }
        let stored = try await setup.vault.segments(
            camera: "cam-a", from: VaultFixture.noon.addingTimeInterval(-1),
            to: VaultFixture.noon.addingTimeInterval(10))
        let bytes = try await setup.vault.read(#require(stored.first).id)
        #expect(bytes.count > setup.pixels.count)
        #expect(
            !Data(bytes).contains(Data("original pixels of a face".utf8)), "the vault's own keys do not reveal them")
        #expect(throws: VaultError.self) {
            try TwoPersonSealed.seal(
                [1, 2, 3],
                for: [.init(role: "dpo", key: setup.dpo.publicKey), .init(role: "dpo", key: setup.officer.publicKey)],
                binding: "x")
        }
        #expect(throws: VaultError.self) {
            try TwoPersonSealed.seal(
                [1, 2, 3],
                for: [.init(role: "dpo", key: setup.dpo.publicKey), .init(role: "officer", key: setup.dpo.publicKey)],
                binding: "x")
        }
        let layer = try UnmaskLayer(decoding: bytes, segment: "s")
        #expect(try UnmaskLayer(decoding: layer.encoded(), segment: "s") == layer)
        #expect(throws: VaultError.self) { try UnmaskLayer(decoding: Array(bytes.dropLast()), segment: "s") }
    }

    @Test("erasure by subject (Art. 17): the regions of the track pointed at are gone from the layer, the rest stays")
    func erasureBySubject() async throws {
        let setup = try await Setup()
        defer { setup.fixture.remove() }
        let noon = VaultFixture.noon
        let range = (noon.addingTimeInterval(-1), noon.addingTimeInterval(10))
        let found = try await setup.vault.unmaskTracks(
            camera: "cam-a", from: range.0, to: range.1, at: noon, x: 20, y: 30)
        #expect(found.map(\.track) == [7])
        #expect(
            try await setup.vault.unmaskTracks(camera: "cam-a", from: range.0, to: range.1, at: noon, x: 0.5, y: 0.9)
                .isEmpty)
        // Not while a hold keeps the footage.
        let hold = try await setup.vault.placeHold(
            camera: "cam-a", from: range.0, to: range.1, caseReference: "case-1", by: "dpo")
        await #expect(throws: VaultError(.onHold, "")) {
            try await setup.vault.eraseFromUnmaskLayers(
                camera: "cam-a", from: range.0, to: range.1, tracks: found, by: "dpo")
        }
        try await setup.vault.releaseHold(hold.id, by: "dpo")
        let erased = try await setup.vault.eraseFromUnmaskLayers(
            camera: "cam-a", from: range.0, to: range.1, tracks: found, by: "dpo")
        #expect(erased.segments == 1 && erased.regions == 1)
        // Whatever is approved now, track 7 does not come back; track 8 still opens.
        let (request, path) = try await setup.request()
        let approvals = [
            try await setup.approve(path, with: setup.dpo), try await setup.approve(path, with: setup.officer),
        ]
        let opened = try await setup.vault.unmask(request: request.id, approvals: approvals, by: "operator").1
        #expect(opened.map(\.track.track) == [8])
        #expect(try setup.vault.audit.entries().contains { $0.action == "erasure" })
    }
}
