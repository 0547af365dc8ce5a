import Foundation
import Testing
import VeilCore
import VeilTestSupport

@testable import VeilPolicy

@Suite("Decisions")
struct DecisionTests {
    let policy: CompiledPolicy
    init() throws { policy = try PolicyFixture.compile() }

    func decide(
        _ partner: PartnerID, _ camera: CameraID, _ action: SharingAction, at time: String = "2026-06-01T12:00:00Z",
        footageAge: PolicyDuration? = nil, justification: Bool = false, zone: ZoneID? = nil,
        in policy: CompiledPolicy? = nil
    ) -> Decision {
        let at = PolicyFixture.time(time)
        let request = AccessRequest(
            partner: partner, camera: camera, action: action, at: at,
            footageStart: footageAge.map { at.addingTimeInterval(-Double($0.seconds)) },
            hasJustification: justification, zone: zone)
        return (policy ?? self.policy).decide(request)
    }

    @Test("default deny: no grant, unknown partner, unknown camera")
    func defaultDeny() {
        let noGrant = decide("shop", "cam-a", .live)
        #expect(noGrant.effect == .deny)
        #expect(noGrant.reasons == [.defaultDeny])
        #expect(noGrant.redaction == nil)
        #expect(decide("nobody", "cam-a", .live).reasons == [.unknownPartner, .defaultDeny])
        #expect(decide("police", "cam-z", .live).reasons == [.unknownCamera, .defaultDeny])
        // An alert grant for one kind allows no other kind.
        #expect(decide("shop", "cam-a", .alert(.crowdCount), zone: "zone-1").effect == .deny)
    }

    @Test(
        "listing cameras and subscribing to alerts are decisions too: a known partner lists, only one with alert grants subscribes"
    )
    func partnerWideRequests() {
        let at = PolicyFixture.time("2026-06-01T12:00:00Z")
        func verdict(_ partner: PartnerID, _ action: PartnerWideRequest.Action) -> SharingVerdict {
            policy.verdict(for: PartnerWideRequest(partner: partner, action: action, at: at))
        }
        #expect(verdict("police", .listCameras).isAllowed)
        #expect(verdict("shop", .listCameras).isAllowed)
        #expect(
            verdict("nobody", .listCameras)
                == SharingVerdict(
                    isAllowed: false, rules: [], reasons: ["unknown-partner", "default-deny"],
                    redaction: nil))
        let shop = verdict("shop", .subscribeAlerts)
        #expect(shop.isAllowed && shop.rules == ["shop-alerts"], "\(shop)")
        let police = verdict("police", .subscribeAlerts)
        #expect(
            !police.isAllowed && police.reasons == ["default-deny"],
            "the police have live and clip grants only: \(police)")
        #expect(!verdict("nobody", .subscribeAlerts).isAllowed)
    }

    @Test("a grant allows, with the default profile when it names none, and cites its id")
    func grantAllows() {
        let decision = decide("police", "cam-b", .live)
        #expect(decision.effect == .allow)
        #expect(decision.decidingRules == ["police-live"])
        #expect(decision.redaction == policy.profiles["standard"])
        #expect(decision.redaction == policy.defaultRedaction)
    }

    @Test("an explicit deny overrides every grant, and only in its window")
    func denyOverrides() throws {
        let text = PolicyFixture.replacing(
            "deny: []",
            with: """
                deny:
                  - id: no-police-on-b
                    partners: [police]
                    actions: [live]
                    cameras: [cam-b]
                    windows: [{days: [mon], from: "10:00", to: "16:00"}]
                    reason: market day
                """)
        let policy = try PolicyFixture.compile(text)
        // 2026-06-01 is a Monday; 12:00 UTC is 14:00 in Berlin.
        let denied = decide("police", "cam-b", .live, in: policy)
        #expect(denied.effect == .deny)
        #expect(denied.decidingRules == ["no-police-on-b"])
        #expect(decide("police", "cam-b", .live, at: "2026-06-01T15:00:00Z", in: policy).effect == .allow)
        #expect(decide("police", "cam-b", .live, at: "2026-06-02T12:00:00Z", in: policy).effect == .allow)
        #expect(decide("police", "cam-a", .live, in: policy).effect == .allow)
    }

    @Test("when grants overlap, the least revealing redaction wins")
    func leastRevealing() throws {
        let text = PolicyFixture.replacing(
            "        expires: 2027-12-31\n",
            with: """
                        expires: 2027-12-31
                      - id: police-live-strict
                        action: live
                        purpose: safety
                        cameras: [cam-b]
                        redaction: strict
                        expires: 2027-12-31

                """)
        let policy = try PolicyFixture.compile(text)
        let decision = decide("police", "cam-b", .live, in: policy)
        #expect(decision.effect == .allow)
        #expect(Set(decision.decidingRules) == ["police-live", "police-live-strict"])
        #expect(decision.redaction?.classes == [.faces, .plates, .persons])
        #expect(decision.redaction?.mode == .solid)
        // Where only the standard grant applies, the standard profile stays.
        #expect(decide("police", "cam-a", .live, in: policy).redaction == policy.profiles["standard"])
    }

    @Test("grants stop applying after their expiry date, read in the policy's time zone")
    func expiry() throws {
        let text = PolicyFixture.replacing("expires: 2027-12-31", with: "expires: 2026-06-30")
        let policy = try PolicyFixture.compile(text)
        // The last minute of 30 June in Berlin (CEST, UTC+2) is 21:59 UTC.
        #expect(decide("police", "cam-b", .live, at: "2026-06-30T21:59:00Z", in: policy).effect == .allow)
        let expired = decide("police", "cam-b", .live, at: "2026-06-30T22:00:00Z", in: policy)
        #expect(expired.effect == .deny)
        #expect(expired.reasons.contains(.grantExpired("police-live", CalendarDate(parsing: "2026-06-30")!)))
    }

    @Test(
        "time windows, including windows over midnight",
        arguments: [
            // Friday 22:00–04:00 Berlin; June is UTC+2.
            ("2026-06-05T20:00:00Z", true),  // Fri 22:00
            ("2026-06-05T19:59:00Z", false),  // Fri 21:59
            ("2026-06-06T01:59:00Z", true),  // Sat 03:59, still Friday's window
            ("2026-06-06T02:00:00Z", false),  // Sat 04:00
            ("2026-06-06T20:30:00Z", false),  // Sat 22:30, no Saturday window
            ("2026-06-04T23:00:00Z", false),  // Fri 01:00, belongs to Thursday's night
        ])
    func windows(_ time: String, _ open: Bool) throws {
        let text = PolicyFixture.replacing(
            "purpose: safety\n        cameras: \"*\"",
            with: """
                purpose: safety
                        cameras: "*"
                        windows: [{days: [fri], from: "22:00", to: "04:00"}]
                """)
        let policy = try PolicyFixture.compile(text)
        let decision = decide("police", "cam-b", .live, at: time, in: policy)
        #expect(decision.isAllowed == open)
        if !open { #expect(decision.reasons.contains(.outsideTimeWindow("police-live"))) }
    }

    @Test("clips: justification required, footage age limited, unredacted with raw retention")
    func clips() {
        let allowed = decide("police", "cam-a", .clip, footageAge: .hours(47), justification: true)
        #expect(allowed.effect == .allow)
        #expect(allowed.redaction == .unredacted)
        #expect(allowed.justificationRecorded)
        #expect(allowed.maxAge == .hours(48))
        #expect(allowed.retention == RetentionOutcome(rule: "raw-48h", category: .rawVideo, duration: .hours(48)))

        let unjustified = decide("police", "cam-a", .clip, footageAge: .hours(1))
        #expect(unjustified.effect == .deny)
        #expect(unjustified.reasons.contains(.justificationMissing("police-clips")))

        let tooOld = decide("police", "cam-a", .clip, footageAge: .hours(49), justification: true)
        #expect(tooOld.effect == .deny)
        #expect(tooOld.reasons.contains(.footageTooOld("police-clips", .hours(48))))

        #expect(decide("police", "cam-b", .clip, footageAge: .hours(1), justification: true).effect == .deny)
    }

    @Test("clips must name their footage; clips of cameras without raw video stay redacted")
    func clipSafety() throws {
        let noStart = decide("police", "cam-a", .clip, justification: true)
        #expect(noStart.effect == .deny)
        #expect(noStart.reasons.contains(.footageStartMissing("police-clips")))

        // Defence in depth behind lint rule VG215: even if a policy promised unredacted clips of a camera that
        // keeps only redacted video, the decision redacts as stored.
        let text = PolicyFixture.replacing(
            "cameras: [cam-a]\n        max-age: 48h", with: "cameras: [cam-a, cam-b]\n        max-age: 48h")
        let document = try #require(PolicyFixture.lint(text).document)
        let policy = CompiledPolicy(validated: document)
        let clip = decide("police", "cam-b", .clip, footageAge: .hours(1), justification: true, in: policy)
        #expect(clip.effect == .allow)
        #expect(clip.redaction == policy.defaultRedaction)
        #expect(clip.retention?.category == .redactedVideo)
        #expect(
            decide("police", "cam-a", .clip, footageAge: .hours(1), justification: true, in: policy).redaction
                == .unredacted)
    }

    @Test(
        "time windows follow daylight saving time in the policy's zone",
        arguments: [
            // Berlin leaves summer time on 2026-10-25 at 03:00 CEST (01:00 UTC): 22:00 local is 20:00 UTC before, 21:00
            // UTC after.
            ("2026-10-23T20:00:00Z", true), ("2026-10-23T19:59:00Z", false),
            ("2026-10-30T21:00:00Z", true), ("2026-10-30T20:30:00Z", false),
            // It enters summer time on 2027-03-28: Friday 2027-03-26 is still winter time, 2027-04-02 is summer time.
            ("2027-03-26T21:00:00Z", true), ("2027-04-02T20:00:00Z", true), ("2027-04-02T19:30:00Z", false),
        ])
    func daylightSaving(_ time: String, _ open: Bool) throws {
        let text = PolicyFixture.replacing(
            "purpose: safety\n        cameras: \"*\"",
            with: """
                purpose: safety
                        cameras: "*"
                        windows: [{days: [fri], from: "22:00", to: "04:00"}]
                """)
        let policy = try PolicyFixture.compile(text)
        #expect(decide("police", "cam-b", .live, at: time, in: policy).isAllowed == open)
    }

    @Test("live grants can require a justification per request")
    func liveJustification() throws {
        let text = PolicyFixture.replacing(
            "purpose: safety\n        cameras: \"*\"",
            with: """
                purpose: safety
                        cameras: "*"
                        justification: required
                """)
        let policy = try PolicyFixture.compile(text)
        #expect(decide("police", "cam-b", .live, in: policy).reasons.contains(.justificationMissing("police-live")))
        #expect(decide("police", "cam-b", .live, justification: true, in: policy).isAllowed)
    }

    @Test("memory grows with rules, not with partners × cameras")
    func sparseTables() throws {
        var text =
            "veilgate: policy/v1\nmetadata: {controller: c, dpo: {name: n, email: e}, version: '1', effective: 2026-01-01, site: s}\n"
        text +=
            "purposes: [{id: p, description: Detect incidents endangering people on the large test site, basis: public-task}]\n"
        text += "redaction: {default: std, profiles: [{id: std, classes: [faces, plates]}]}\n"
        text += "retention: {rules: [{id: r, category: redacted-video, duration: 7d}]}\ncameras:\n"
        for camera in 0..<3000 { text += "  - {id: c\(camera), source: rtsp://h/\(camera), purposes: [p]}\n" }
        text += "partners:\n"
        for partner in 0..<3000 {
            text += "  - {id: p\(partner), organisation: o, role: agency, identity: {uri: 'spiffe://x/\(partner)'}}\n"
        }
        let policy = try PolicyLoader.compile(data: Data(text.utf8), file: "big.yaml", now: PolicyFixture.now)
        #expect(policy.grantTable.isEmpty && policy.denyTable.isEmpty)
        #expect(
            !policy.decide(AccessRequest(partner: "p1", camera: "c1", action: .live, at: PolicyFixture.now)).isAllowed)
    }

    @Test("alerts: kinds, zones and fields")
    func alerts() {
        let allowed = decide("shop", "cam-a", .alert(.loitering), zone: "zone-1")
        #expect(allowed.effect == .allow)
        #expect(allowed.alertFields == [.kind, .camera, .zone, .time, .count])
        #expect(allowed.retention?.rule == "events-30d")
        let otherZone = decide("shop", "cam-a", .alert(.loitering), zone: "zone-2")
        #expect(otherZone.reasons.contains(.zoneNotGranted("shop-alerts")))
        #expect(decide("shop", "cam-a", .alert(.loitering)).effect == .deny)
    }

    @Test("partners are found by certificate identity")
    func identities() {
        #expect(policy.partner(forCertificateURI: "spiffe://test.example/police") == "police")
        #expect(policy.partner(forCertificateURI: "spiffe://test.example/other") == nil)
        #expect(policy.partner(forFingerprint: "ab" + String(repeating: "CD", count: 31)) == "shop")
        #expect(policy.partner(forFingerprint: "00" + String(repeating: "cd", count: 31)) == nil)
    }

    @Test("merging redaction never reveals more than either side", arguments: 0..<200)
    func mergeIsMonotone(_ seed: Int) {
        var generator = SeededGenerator(seed: UInt64(seed))
        func randomSpec() -> RedactionSpec {
            RedactionSpec(
                classes: Set(RedactionClass.allCases.filter { _ in Bool.random(using: &generator) }),
                mode: RedactionMode.allCases.randomElement(using: &generator)!,
                shape: RedactionShape.allCases.randomElement(using: &generator)!,
                margin: Double(Int.random(in: 0...50, using: &generator)) / 100)
        }
        let a = randomSpec(), b = randomSpec()
        let merged = a.merged(with: b)
        #expect(merged.isAtLeastAsProtective(as: a))
        #expect(merged.isAtLeastAsProtective(as: b))
        #expect(merged == b.merged(with: a))
    }

    @Test("the explanation and the JSON report carry the same rule ids")
    func reportMatchesDecision() {
        let decision = decide("police", "cam-a", .clip, footageAge: .hours(1), justification: true)
        let report = decision.report(in: policy)
        #expect(report.decision == "allow")
        #expect(report.rules == ["police-clips"])
        #expect(report.reasons.map(\.code) == ["granted"])
        #expect(report.retention?.rule == "raw-48h")
        #expect(decision.explanation(in: policy).first?.contains("Legal obligation, Art. 6(1)(c)") == true)
    }

    @Test(
        "alert snapshots: made where a grant sends them, with the least revealing profile of those grants; nowhere else"
    )
    func snapshotRedaction() throws {
        // The shop's alert grant sends the default fields: no images, so no camera makes snapshots.
        #expect(policy.snapshotRedaction(camera: "cam-a") == nil)
        #expect(policy.snapshotRedaction(camera: "nowhere") == nil)
        // With snapshots, cam-a makes them with the default profile; cam-b (no such grant) still makes none.
        let sending = PolicyFixture.replacing(
            "        zones: [zone-1]\n", with: "        zones: [zone-1]\n        fields: [kind, time, snapshot]\n")
        let withSnapshots = try PolicyFixture.compile(sending)
        #expect(withSnapshots.snapshotRedaction(camera: "cam-a") == withSnapshots.defaultRedaction)
        #expect(withSnapshots.snapshotRedaction(camera: "cam-b") == nil)
        // A second grant that sends them with whole people covered: the snapshot is made with that, the stricter.
        let second = [
            "      - id: shop-strict-alerts", "        action: alert", "        purpose: safety",
            "        cameras: [cam-a]",
            "        kinds: [crowd-count]", "        fields: [kind, snapshot]", "        redaction: strict",
            "        expires: 2027-12-29", "deny: []",
        ].joined(separator: "\n")
        let strict = try PolicyFixture.compile(PolicyFixture.replacing("deny: []", with: second, in: sending))
        #expect(strict.snapshotRedaction(camera: "cam-a") == strict.profiles["strict"])
        #expect(strict.snapshotRedactions(camera: "cam-a").count == 2)
    }
}
