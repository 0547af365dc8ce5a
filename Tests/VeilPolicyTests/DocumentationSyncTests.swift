import Foundation
import Testing
import VeilCore

@testable import VeilPolicy

/// `docs/policy-language.md` is the DPO's reference: it must name every key the parser accepts and every
/// rule the linter reports, or it has fallen behind the code.
@Suite("Documentation stays in sync with the language")
struct DocumentationSyncTests {
    static let reference: String =
        (try? String(
            contentsOf: PolicyFixture.repositoryRoot.appendingPathComponent("docs/policy-language.md"), encoding: .utf8))
        ?? ""

    static let grammar: [(section: String, keys: [String])] = [
        ("top level", DocumentBuilder.topKeys), ("metadata", DocumentBuilder.metadataKeys),
        ("dpo", DocumentBuilder.dpoKeys), ("purposes", DocumentBuilder.purposeKeys),
        ("cameras", DocumentBuilder.cameraKeys), ("credentials", DocumentBuilder.credentialKeys),
        ("zones", DocumentBuilder.zoneKeys), ("lines", DocumentBuilder.lineKeys),
        ("retention", DocumentBuilder.retentionKeys), ("retention rules", DocumentBuilder.retentionRuleKeys),
        ("legal-hold", DocumentBuilder.legalHoldKeys), ("unmasking", DocumentBuilder.unmaskingKeys),
        ("unmasking approvers", DocumentBuilder.unmaskApproverKeys), ("redaction", DocumentBuilder.redactionKeys),
        ("profiles", DocumentBuilder.profileKeys), ("partners", DocumentBuilder.partnerKeys),
        ("identity", DocumentBuilder.identityKeys), ("grants", DocumentBuilder.grantKeys),
        ("windows", DocumentBuilder.windowKeys), ("deny", DocumentBuilder.denyKeys),
        ("operators", DocumentBuilder.operatorKeys),
        ("policy tests", PolicyTestSuite.topKeys), ("test cases", PolicyTestSuite.caseKeys),
        ("test requests", PolicyTestSuite.requestKeys), ("test expectations", PolicyTestSuite.expectKeys),
    ]

    @Test("every key of the grammar is documented")
    func keysDocumented() {
        #expect(!Self.reference.isEmpty, "docs/policy-language.md is missing")
        for (section, keys) in Self.grammar {
            for key in keys {
                // The key must appear as code: `key`, `parent.key`, `key[]…` or `key.child`.
                let documented = ["`\(key)`", ".\(key)`", "`\(key)[]", "`\(key).", ".\(key),"].contains {
                    Self.reference.contains($0)
                }
                #expect(documented, "key '\(key)' of \(section) is not in docs/policy-language.md")
            }
        }
    }

    @Test("every lint rule is documented with its code and name", arguments: LintRule.all)
    func ruleDocumented(_ rule: LintRule) {
        #expect(
            Self.reference.contains("| \(rule.code) | \(rule.name) |"),
            "\(rule.code) \(rule.name) is not in the rule table")
    }

    @Test("every decision reason code is documented")
    func reasonsDocumented() {
        let codes = [
            "granted", "denied-by-rule", "unknown-partner", "unknown-camera", "grant-expired",
            "outside-time-window", "justification-missing", "footage-too-old", "footage-start-missing",
            "zone-not-granted", "default-deny",
        ]
        for code in codes { #expect(Self.reference.contains("`\(code)`"), "reason \(code) is not documented") }
        // The list above must be every code the evaluator produces.
        let produced: [Decision.Reason] = [
            .granted("r"), .deniedByRule("r"), .unknownPartner, .unknownCamera,
            .grantExpired("r", CalendarDate(parsing: "2026-01-01")!), .outsideTimeWindow("r"),
            .justificationMissing("r"), .footageTooOld("r", .hours(1)),
            .footageStartMissing("r"), .zoneNotGranted("r"),
            .defaultDeny,
        ]
        #expect(produced.map { Decision.code(of: $0).code } == codes)
    }
}
