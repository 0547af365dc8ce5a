import Foundation
import Testing
import VeilCore

@testable import VeilPolicy

@Suite("Reports: record of processing, diff, policy tests")
struct ReportTests {
    @Test("the record of processing covers every Art. 30(1) item from the policy")
    func ropaMarkdown() throws {
        let policy = try PolicyFixture.compile()
        let markdown = RecordOfProcessing(policy).render(.markdown)
        for heading in [
            "Art. 30(1)(a)", "Art. 30(1)(b)", "Art. 30(1)(c)", "Art. 30(1)(d)", "Art. 30(1)(f)", "Art. 30(1)(g)",
        ] {
            #expect(markdown.contains(heading), "missing \(heading)")
        }
        #expect(markdown.contains("| safety | Detect fights and falls"))
        #expect(markdown.contains("Public task — Art. 6(1)(e)"))
        #expect(
            markdown.contains(
                "Test Police (police) | DSA-1 | investigation | clip, footage up to 48 hours old | cam-a | none (unredacted) | 2027-12-30 |"
            ))
        #expect(markdown.contains("None declared in the policy (metadata.transfers)."))
        #expect(markdown.contains("| raw-48h | cam-a | Original video (identifiable) | 48 hours |"))
    }

    @Test("HTML output escapes the policy's text")
    func ropaHTMLEscapes() throws {
        let text = PolicyFixture.replacing(
            "controller: Test City", with: "controller: \"<script>alert(1)</script> & Co\"")
        let html = RecordOfProcessing(try PolicyFixture.compile(text)).render(.html)
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"))
        #expect(html.hasPrefix("<!DOCTYPE html>"))
    }

    @Test("diff names what each partner gains, loses and what changes")
    func diff() throws {
        let old = try PolicyFixture.compile()
        var text = PolicyFixture.replacing(
            "cameras: [cam-a]\n        max-age: 48h", with: "cameras: [cam-a]\n        max-age: 24h")
        text = PolicyFixture.replacing("kinds: [loitering]", with: "kinds: [loitering, crowd-count]", in: text)
        text = PolicyFixture.replacing(
            "purpose: safety\n        cameras: \"*\"", with: "purpose: safety\n        cameras: [cam-a]", in: text)
        let new = try PolicyFixture.compile(text)
        let diff = PolicyDiff(old: old, new: new)
        let rendered = diff.render()
        #expect(rendered.contains("partner police:"))
        #expect(rendered.contains("  - live on cam-b"))
        #expect(rendered.contains("  ~ clip on cam-a"))
        #expect(rendered.contains("max-age 48h"))
        #expect(rendered.contains("max-age 24h"))
        #expect(rendered.contains("partner shop:\n  + alert:crowd-count on cam-a"))
        #expect(PolicyDiff(old: old, new: old).isEmpty)

        // Handing a partner's grants to another certificate is a change the DPO must see.
        let moved = try PolicyFixture.compile(
            PolicyFixture.replacing("spiffe://test.example/police", with: "spiffe://elsewhere.example/x"))
        #expect(
            PolicyDiff(old: old, new: moved).render().contains(
                "partner police:\n  ~ identity\n      was: uri spiffe://test.example/police"))
    }

    @Test(
        "diff names what changes for the people in front of a camera: analytics, thresholds, zones, masks, what it records"
    )
    func cameraDiff() throws {
        let old = try PolicyFixture.compile()
        var text = PolicyFixture.replacing(
            "analytics: [loitering, crowd-count]\n",
            with: """
                analytics: [loitering, crowd-count, running]
                    thresholds: {loitering: {after: 90s}}
                    masks:
                      - id: window
                        polygon: [[0.6, 0.1], [0.9, 0.1], [0.9, 0.4]]

                """)
        text = PolicyFixture.replacing(
            "polygon: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]", with: "polygon: [[0.1, 0.1], [0.6, 0.1], [0.5, 0.5]]",
            in: text)
        let new = try PolicyFixture.compile(text)
        let rendered = PolicyDiff(old: old, new: new).render()
        #expect(rendered.contains("No partner gains or loses anything."), "\(rendered)")
        #expect(
            rendered.contains(
                "camera cam-a:\n  ~ analytics\n      was: crowd-count, loitering\n      now: crowd-count, loitering, running"
            ), "\(rendered)")
        #expect(rendered.contains("  + privacy mask window ([0.6, 0.1] [0.9, 0.1] [0.9, 0.4])"), "\(rendered)")
        #expect(rendered.contains("  + thresholds (loitering after 90s)"), "\(rendered)")
        #expect(rendered.contains("  ~ zone zone-1"), "\(rendered)")
        #expect(!rendered.contains("camera cam-b"), "cam-b did not change")
        #expect(!PolicyDiff(old: old, new: new).isEmpty, "a camera change alone is a change (policy diff exits 1)")
    }

    @Test("policy tests report passes and failures with positions")
    func policyTests() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "veilgate-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(PolicyFixture.base.utf8).write(to: folder.appendingPathComponent("policy.yaml"))
        try Data(
            """
            veilgate: policy-tests/v1
            policy: policy.yaml
            tests:
              - name: police live
                request: {partner: police, camera: cam-b, action: live, at: 2026-06-01T12:00:00Z}
                expect: {decision: allow, redaction: standard, rules: [police-live]}
              - name: wrong expectation
                request: {partner: shop, camera: cam-b, action: live, at: 2026-06-01T12:00:00Z}
                expect: {decision: allow}
            """.utf8
        ).write(to: folder.appendingPathComponent("policy.test.yaml"))
        let suite = try PolicyTestSuite.load(file: folder.appendingPathComponent("policy.test.yaml").path)
        let results = suite.run(against: try PolicyLoader.load(file: suite.policyFile, now: PolicyFixture.now))
        #expect(results.map(\.passed) == [true, false])
        #expect(results[1].location.line == 7)
        #expect(results[1].failures.first?.hasPrefix("expected allow, got deny") == true)
    }

    @Test("malformed test files are errors with positions")
    func malformedTests() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "veilgate-bad-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(
            "veilgate: policy-tests/v1\npolicy: p.yaml\ntests:\n  - name: x\n    request: {partner: a, camera: b, action: watch, at: now}\n    expect: {decision: maybe}\n"
                .utf8
        )
        .write(to: file)
        let error = try #require(throws: PolicyError.self) { try PolicyTestSuite.load(file: file.path) }
        #expect(error.code == .invalidTests)
        #expect(error.diagnostics.contains { $0.location.line == 6 && $0.message.contains("decision 'maybe'") })
    }

    @Test("the record lists as processing only the analytics the gateway runs; the others a camera declares, apart")
    func analyticsThatRun() throws {
        let text = PolicyFixture.replacing(
            "analytics: [loitering, crowd-count]", with: "analytics: [loitering, crowd-count, unattended-object]")
        #expect(text != PolicyFixture.base)
        let policy = try PolicyFixture.compile(text)
        let all = RecordOfProcessing(policy).render(.markdown)
        #expect(all.contains("loitering, crowd-count, unattended-object"))
        let running = RecordOfProcessing(policy, analyticsRun: [.loitering, .crowdCount]).render(.markdown)
        #expect(running.contains("loitering, crowd-count (declared, not run by this gateway: unattended-object)"))
    }

    @Test("the record says what is processed without being kept: plate text read for watchlists, sound measured")
    func processedNotKept() throws {
        let text = PolicyFixture.replacing(
            "analytics: [loitering, crowd-count]",
            with: "analytics: [loitering, crowd-count, watchlist-match, loud-sound]\n    audio: true")
        #expect(text != PolicyFixture.base)
        let record = RecordOfProcessing(try PolicyFixture.compile(text)).render(.markdown)
        let row = try #require(record.split(separator: "\n").first { $0.hasPrefix("| cam-a") })
        #expect(
            row.contains("Licence-plate text read in memory and compared with partners' watchlists as keyed hashes"))
        #expect(row.contains("loudness measured in memory for loud-sound alerts (not stored)"))
        let plain = RecordOfProcessing(try PolicyFixture.compile()).render(.markdown)
        #expect(!plain.contains("Licence-plate text") && !plain.contains("loudness"))
    }
}
