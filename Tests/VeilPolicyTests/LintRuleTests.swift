import Foundation
import Testing
import VeilCore

@testable import VeilPolicy

@Suite("Lint rules")
struct LintRuleTests {
    /// One mutation of the valid fixture per rule: applying it must produce that rule's finding.
    struct Case: CustomTestStringConvertible, Sendable {
        let rule: LintRule
        let old: String
        let new: String
        var testDescription: String { "\(rule.code) \(rule.name)" }
    }

    static let cases: [Case] = [
        Case(rule: .yamlSyntax, old: "  site: test", new: "  site: [test"),
        Case(rule: .unknownKey, old: "  site: test", new: "  site: test\n  stie: x"),
        Case(rule: .wrongType, old: "  dpia: DPIA-1", new: "  dpia: [DPIA-1]"),
        Case(rule: .missingKey, old: "  version: \"1\"\n", new: ""),
        Case(rule: .invalidValue, old: "basis: public-task", new: "basis: public-tasks"),
        Case(rule: .duplicateID, old: "- id: cam-b", new: "- id: cam-a"),
        Case(rule: .danglingReference, old: "default: standard", new: "default: nonexistent"),
        Case(rule: .impossibleValue, old: "[0.5, 0.5]]", new: "[1.5, 0.5]]"),
        Case(
            rule: .referenceCycle, old: "- id: strict\n      classes",
            new: "- id: strict\n      extends: strict\n      classes"),
        Case(
            rule: .documentTooLarge, old: "  dpia: DPIA-1",
            new: "  dpia: " + String(repeating: "[", count: 70) + String(repeating: "]", count: 70)),
        Case(rule: .unsupportedVersion, old: "veilgate: policy/v1", new: "veilgate: policy/v2"),
        Case(
            rule: .misplacedKey, old: "purpose: safety\n        cameras: \"*\"",
            new: "purpose: safety\n        cameras: \"*\"\n        max-age: 3h"),
        Case(rule: .anchorsNotAllowed, old: "dpia: DPIA-1", new: "dpia: &ref DPIA-1"),
        Case(rule: .purposeWithoutBasis, old: "    basis: public-task\n", new: ""),
        Case(rule: .cameraWithoutPurpose, old: "purposes: [safety]\n", new: "purposes: []\n"),
        Case(
            rule: .vaguePurpose, old: "Detect fights and falls on the test square so that help arrives quickly",
            new: "for your safety"),
        Case(rule: .longRetentionWithoutJustification, old: "duration: 48h", new: "duration: 96h"),
        Case(
            rule: .biometricWithoutException, old: "analytics: [crowd-count]\n",
            new: "analytics: [crowd-count, face-recognition]\n"),
        Case(rule: .grantWithoutAgreement, old: "    agreement: DSA-1\n", new: ""),
        Case(
            rule: .unredactedWithoutLegalGround, old: "purpose: safety\n        cameras: \"*\"",
            new: "purpose: safety\n        cameras: \"*\"\n        redaction: open"),
        Case(rule: .expiredGrant, old: "expires: 2027-12-31", new: "expires: 2026-02-01"),
        Case(
            rule: .purposeMismatch, old: "purpose: safety\n        cameras: \"*\"",
            new: "purpose: investigation\n        cameras: \"*\""),
        Case(
            rule: .missingRetention,
            old: "    - id: counts-1y\n      cameras: \"*\"\n      category: counts\n      duration: 365d\n",
            new: ""),
        Case(rule: .legitimateInterestWithoutAssessment, old: "basis: public-task", new: "basis: legitimate-interests"),
        Case(rule: .credentialsInSource, old: "rtsp://10.0.0.1/stream", new: "rtsp://admin:pw@10.0.0.1/stream"),
        Case(
            rule: .analyticWithoutGeometry, old: "analytics: [crowd-count]\n",
            new: "analytics: [crowd-count, line-crossing]\n"),
        Case(rule: .peerReshare, old: "role: retailer", new: "role: peer-site"),
        Case(rule: .dataNotProduced, old: "cameras: [cam-a]\n        kinds", new: "cameras: [cam-b]\n        kinds"),
        Case(rule: .consentForSurveillance, old: "basis: public-task", new: "basis: consent"),
    ]

    @Test("the fixture and the example policy lint clean")
    func cleanPolicies() throws {
        #expect(PolicyFixture.lint(PolicyFixture.base).diagnostics == [])
        let example = PolicyFixture.repositoryRoot.appendingPathComponent("policies/city-centre.yaml").path
        let outcome = PolicyLoader.lint(file: example, now: PolicyFixture.now)
        #expect(outcome.document != nil)
        #expect(outcome.diagnostics == [])
    }

    @Test("each rule fires on its mutation", arguments: cases)
    func ruleFires(_ testCase: Case) {
        var text = PolicyFixture.replacing(testCase.old, with: testCase.new)
        if testCase.rule == .peerReshare {
            text = PolicyFixture.replacing("zones: [zone-1]", with: "zones: [zone-1]\n        reshare: true", in: text)
        }
        let diagnostics = PolicyFixture.lint(text).diagnostics
        #expect(diagnostics.contains { $0.rule == testCase.rule }, "got \(diagnostics)")
        for diagnostic in diagnostics {
            #expect(diagnostic.location.file == "test.yaml")
            #expect(diagnostic.location.line >= 1 && diagnostic.location.column >= 1)
        }
    }

    @Test("every rule in the catalogue has a test case")
    func everyRuleTested() {
        let tested = Set(Self.cases.map(\.rule.code))
        let missing = LintRule.all.map(\.code).filter { !tested.contains($0) }
        #expect(missing.isEmpty, "rules without a test: \(missing)")
    }

    @Test("errors point at the offending line and column")
    func positions() throws {
        let text = PolicyFixture.replacing("  site: test", with: "  site: test\n  stie: x")
        let diagnostic = try #require(PolicyFixture.lint(text).diagnostics.first { $0.rule == .unknownKey })
        #expect(diagnostic.location.line == 9)
        #expect(diagnostic.location.column == 3)
        #expect(
            diagnostic.description.hasPrefix(
                "test.yaml:9:3: error: unknown key 'stie' in metadata; did you mean 'site'?"))

        let dangling = PolicyFixture.replacing(
            "cameras: [cam-a]\n        max-age", with: "cameras: [cam-z]\n        max-age")
        let reference = try #require(PolicyFixture.lint(dangling).diagnostics.first { $0.rule == .danglingReference })
        let line = dangling.split(separator: "\n", omittingEmptySubsequences: false)[reference.location.line - 1]
        #expect(line.contains("cam-z"))
        #expect(line.dropFirst(reference.location.column - 1).hasPrefix("cam-z"))
    }

    @Test("warnings do not stop a policy from compiling; errors do")
    func errorsStopCompilation() throws {
        let warned = PolicyFixture.replacing("basis: public-task", with: "basis: legitimate-interests")
        _ = try CompiledPolicy(#require(PolicyFixture.lint(warned).document), lintedAt: PolicyFixture.now)

        let broken = PolicyFixture.replacing("duration: 48h", with: "duration: 96h")
        #expect(throws: PolicyError(.invalidPolicy, "")) {
            try CompiledPolicy(#require(PolicyFixture.lint(broken).document), lintedAt: PolicyFixture.now)
        }
    }

    @Test(
        "findings from review: each is an error now",
        arguments: [
            // An alert snapshot is an image: sharing it unredacted needs a legal ground like a clip does.
            (
                "unredacted alert snapshots", "zones: [zone-1]",
                "zones: [zone-1]\n        fields: [kind, snapshot]\n        redaction: open",
                LintRule.unredactedWithoutLegalGround
            ),
            // A profile weaker than the default profile needs a stated reason.
            (
                "weaker than default", "purpose: safety\n        cameras: \"*\"",
                "purpose: safety\n        cameras: \"*\"\n        redaction: weak", .unredactedWithoutLegalGround
            ),
            // Unredacted clips of a camera that keeps no raw video cannot exist.
            (
                "unredacted clip without raw video", "cameras: [cam-a]\n        max-age: 48h",
                "cameras: [cam-a, cam-b]\n        max-age: 48h", .dataNotProduced
            ),
            // Police unredacted live view needs a case reference per request.
            (
                "unredacted police live", "purpose: safety\n        cameras: \"*\"",
                "purpose: safety\n        cameras: \"*\"\n        redaction: open\n        legal-ground: Police Act",
                .unredactedWithoutLegalGround
            ),
            ("grant without expiry", "        expires: 2027-12-31\n", "", .missingKey),
            ("empty alert fields", "zones: [zone-1]", "zones: [zone-1]\n        fields: []", .impossibleValue),
            (
                "redaction on counts", "        expires: 2027-12-29\n",
                "        expires: 2027-12-29\n      - {id: shop-counts, action: counts, purpose: safety, cameras: [cam-a], redaction: standard, expires: 2027-12-01}\n",
                .misplacedKey
            ),
            (
                "credentials in a query", "rtsp://10.0.0.1/stream", "rtsp://10.0.0.1/stream?user=admin&password=x",
                .credentialsInSource
            ),
            (
                "credentials after a semicolon", "rtsp://10.0.0.1/stream", "rtsp://10.0.0.1/stream;pwd=x",
                .credentialsInSource
            ),
            (
                "credentials without a scheme", "rtsp://10.0.0.1/stream", "admin:pw@10.0.0.1/stream",
                .credentialsInSource
            ),
        ])
    func reviewFindings(_ name: String, _ old: String, _ new: String, _ rule: LintRule) {
        var text = PolicyFixture.replacing(old, with: new)
        text = PolicyFixture.replacing(
            "    - id: open\n", with: "    - id: weak\n      classes: [faces]\n    - id: open\n", in: text)
        let diagnostics = PolicyFixture.lint(text).diagnostics
        #expect(diagnostics.contains { $0.rule == rule && $0.severity == .error }, "\(name): \(diagnostics)")
    }

    @Test("deny rules that name no partner or camera are errors")
    func emptyDenySelectors() {
        let text = PolicyFixture.replacing(
            "deny: []",
            with: """
                deny:
                  - {id: nobody, partners: [], cameras: [cam-a], reason: x}
                """)
        #expect(PolicyFixture.lint(text).diagnostics.contains { $0.rule == .impossibleValue })
    }

    @Test("a camera with an unmask layer needs two approvers, of different roles and keys, each a public key")
    func unmaskingApprovers() throws {
        let (first, second) = (String(repeating: "ab", count: 32), String(repeating: "cd", count: 32))
        func policy(_ approvers: String?) -> String {
            var text = PolicyFixture.replacing(
                "produces: [redacted-video, events]", with: "produces: [redacted-video, events, unmask-layer]")
            text = PolicyFixture.replacing(
                "    - id: redacted-7d\n",
                with:
                    "    - id: layer-48h\n      cameras: \"*\"\n      category: unmask-layer\n      duration: 48h\n    - id: redacted-7d\n",
                in: text)
            if let approvers {
                text = PolicyFixture.replacing(
                    "retention:\n  rules:\n", with: "retention:\n  unmasking:\n    approvers: \(approvers)\n  rules:\n",
                    in: text)
            }
            return text
        }
        func errors(_ text: String) -> [PolicyDiagnostic] {
            PolicyFixture.lint(text).diagnostics.filter { $0.severity == .error }
        }
        let valid = policy("[{role: dpo, key: \(first)}, {role: duty-officer, key: \(second)}]")
        #expect(errors(valid).isEmpty, "\(errors(valid))")
        let compiled = try CompiledPolicy(#require(PolicyFixture.lint(valid).document), lintedAt: PolicyFixture.now)
        #expect(compiled.unmaskApprovers.map(\.role) == ["dpo", "duty-officer"])
        #expect(compiled.unmaskApprovers.map(\.key) == [first, second])

        #expect(errors(policy(nil)).contains { $0.rule == .missingKey && $0.message.contains("two approvers") })
        #expect(
            errors(policy("[{role: dpo, key: \(first)}, {role: dpo, key: \(second)}]")).contains {
                $0.rule == .impossibleValue && $0.message.contains("same role")
            })
        #expect(
            errors(policy("[{role: dpo, key: \(first)}, {role: duty-officer, key: \(first)}]")).contains {
                $0.rule == .impossibleValue && $0.message.contains("same key")
            })
        let badKey = policy("[{role: dpo, key: 12ab}, {role: duty-officer, key: \(second)}]")
        let found = try #require(errors(badKey).first { $0.rule == .invalidValue })
        #expect(found.message.contains("64 hex digits"))
        let line = badKey.split(separator: "\n", omittingEmptySubsequences: false)[found.location.line - 1]
        #expect(line.dropFirst(found.location.column - 1).hasPrefix("12ab"), "\(found)")
    }

    @Test("a justification makes long retention of raw video acceptable")
    func justifiedRetention() {
        let text = PolicyFixture.replacing(
            "duration: 48h", with: "duration: 96h\n      justification: Weekend gap in staffing, see DPIA-1 §4")
        #expect(!PolicyFixture.lint(text).diagnostics.contains { $0.rule == .longRetentionWithoutJustification })
    }
}

@Suite("Zones and privacy masks")
struct PolygonTests {
    @Test(
        "a zone or mask whose edges cross is refused with its position and the edges that cross; a simple one is kept")
    func selfCrossing() throws {
        let bowTie = PolicyFixture.replacing(
            "polygon: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]",
            with: "polygon: [[0.1, 0.1], [0.5, 0.1], [0.1, 0.5], [0.5, 0.5]]")
        let zone = PolicyFixture.lint(bowTie).diagnostics.first { $0.rule == .impossibleValue }
        #expect(
            zone?.message.contains("zone 'zone-1': the polygon crosses itself (edge 2–3 crosses edge 4–1)") == true,
            "\(String(describing: zone))")
        func line(of fragment: String, in text: String) -> Int? {
            text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(fragment) }.map {
                $0 + 1
            }
        }
        #expect(zone?.location.line == line(of: "polygon: [[0.1, 0.1], [0.5, 0.1], [0.1, 0.5]", in: bowTie))

        let masked = PolicyFixture.replacing(
            """
                zones:
                  - id: zone-1
            """,
            with: """
                    masks:
                      - id: window
                        polygon: [[0.6, 0.1], [0.9, 0.1], [0.6, 0.4], [0.9, 0.4]]
                    zones:
                      - id: zone-1
                """)
        let mask = PolicyFixture.lint(masked).diagnostics.first { $0.rule == .impossibleValue }
        #expect(
            mask?.message.contains("mask 'window': the polygon crosses itself") == true, "\(String(describing: mask))")
        #expect(mask?.location.line == line(of: "polygon: [[0.6, 0.1]", in: masked))

        let simple = masked.replacingOccurrences(of: "[0.6, 0.4], [0.9, 0.4]", with: "[0.9, 0.4], [0.6, 0.4]")
        #expect(PolicyFixture.lint(simple).diagnostics == [])
        let compiled = try PolicyFixture.compile(simple)
        #expect(compiled.document.cameras.first?.masks.first?.polygon.count == 4)
        // A mask with an id a zone has is a duplicate: one name, one area.
        let duplicate = simple.replacingOccurrences(of: "- id: window", with: "- id: zone-1")
        #expect(PolicyFixture.lint(duplicate).diagnostics.contains { $0.rule == .duplicateID })
    }
}

@Suite("Analytics thresholds in the policy")
struct ThresholdTests {
    static let withThresholds = PolicyFixture.replacing(
        """
            analytics: [loitering, crowd-count]
            zones:
              - id: zone-1
                polygon: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]
        """,
        with: """
                analytics: [loitering, crowd-count]
                thresholds:
                  loitering: {after: 90s}
                  crowd-count: {people: 30, hold: 5s}
                zones:
                  - id: zone-1
                    polygon: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]
                    thresholds: {loitering: {after: 2m}}
            """)

    @Test("camera and zone thresholds are read; the zone's own win over the camera's, the rest fall through")
    func parsed() throws {
        #expect(PolicyFixture.lint(Self.withThresholds).diagnostics == [])
        let camera = try #require(try PolicyFixture.compile(Self.withThresholds).document.cameras.first)
        #expect(
            camera.thresholds.loiteringAfter?.seconds == 90 && camera.thresholds.crowdPeople == 30
                && camera.thresholds.crowdHold?.seconds == 5)
        let zone = try #require(camera.zones.first).thresholds.over(camera.thresholds)
        #expect(zone.loiteringAfter?.seconds == 120 && zone.crowdPeople == 30)
        // unattended-object: on the camera and per zone, as the other zone analytics.
        let unattended = Self.withThresholds.replacingOccurrences(
            of: "analytics: [loitering, crowd-count]", with: "analytics: [loitering, crowd-count, unattended-object]"
        ).replacingOccurrences(
            of: "thresholds: {loitering: {after: 2m}}",
            with: "thresholds: {loitering: {after: 2m}, unattended-object: {after: 90s}}")
        #expect(PolicyFixture.lint(unattended).diagnostics == [], "\(PolicyFixture.lint(unattended).diagnostics)")
        let compiled = try #require(try PolicyFixture.compile(unattended).document.cameras.first?.zones.first)
        #expect(compiled.thresholds.unattendedAfter?.seconds == 90)
    }

    @Test(
        "out of range, unknown, misplaced and not-run thresholds are refused with their position",
        arguments: [
            (
                "{after: 90s}", "{after: 3s}", LintRule.impossibleValue,
                "loitering of camera 'cam-a': after 3s must be from 10s"
            ),
            (
                "{people: 30, hold: 5s}", "{people: 1, hold: 5s}", LintRule.impossibleValue,
                "people 1.0 must be from 2.0"
            ),
            ("{people: 30, hold: 5s}", "{persons: 30}", LintRule.unknownKey, "persons"),
            ("  loitering: {after: 90s}\n", "  speeding: {after: 90s}\n", LintRule.unknownKey, "speeding"),
            ("{loitering: {after: 2m}}", "{running: {speed: 2}}", LintRule.unknownKey, "running"),
            (
                "  loitering: {after: 90s}\n", "  running: {speed: 2.5}\n", LintRule.misplacedKey,
                "camera 'cam-a' sets thresholds for running, which the camera does not run"
            ),
            (
                "analytics: [loitering, crowd-count]\n    thresholds:\n      loitering: {after: 90s}",
                "analytics: [loitering, crowd-count, unattended-object]\n    thresholds:\n      unattended-object: {after: 2s}",
                LintRule.impossibleValue, "unattended-object of camera 'cam-a': after 2s must be from 5s"
            ),
            (
                "analytics: [loitering, crowd-count]\n    thresholds:\n      loitering: {after: 90s}",
                "analytics: [loitering, crowd-count, vehicle-dwell]\n    thresholds:\n      vehicle-dwell: {after: 30s}",
                LintRule.impossibleValue, "vehicle-dwell of camera 'cam-a': after 30s must be from 1m"
            ),
            (
                "  loitering: {after: 90s}\n", "  vehicle-dwell: {after: 15m}\n", LintRule.misplacedKey,
                "camera 'cam-a' sets thresholds for vehicle-dwell, which the camera does not run"
            ),
        ])
    func refused(_ old: String, _ new: String, _ rule: LintRule, _ message: String) {
        let text = Self.withThresholds.replacingOccurrences(of: old, with: new)
        #expect(text != Self.withThresholds)
        let found = PolicyFixture.lint(text).diagnostics.first { $0.rule == rule }
        #expect(found?.message.contains(message) == true, "\(PolicyFixture.lint(text).diagnostics)")
        #expect((found?.location.line ?? 0) > 0)
    }
}
