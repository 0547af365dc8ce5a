import Foundation
import Testing
import VeilCore

@testable import VeilPolicy

/// `operators:` — who uses the console and with which roles — parsed, linted with positions, and asked by the console.
@Suite("Console operators in the policy")
struct OperatorsTests {
    static let operators = """
        operators:
          - name: control-room
            roles: [operator]
          - name: dpo-office
            roles: [dpo, auditor]

        """

    @Test("Each operator gets exactly the roles the policy names; a name it does not list gets none")
    func roles() throws {
        let policy = try PolicyFixture.compile(PolicyFixture.base + Self.operators)
        #expect(policy.roles(of: "control-room") == [.operator])
        #expect(policy.roles(of: "dpo-office") == [.dpo, .auditor])
        #expect(policy.roles(of: "night-shift").isEmpty)
        #expect(try PolicyFixture.compile().roles(of: "control-room").isEmpty)
    }

    @Test(
        "Unknown roles, a missing role, a repeated name and a partner claiming an operator identity are errors with positions"
    )
    func lint() throws {
        let typo = PolicyFixture.lint(
            PolicyFixture.base + Self.operators.replacingOccurrences(of: "[operator]", with: "[operater]"))
        let unknown = try #require(typo.diagnostics.first { $0.rule == .invalidValue })
        #expect(unknown.message.contains("did you mean 'operator'"))
        let lines = (PolicyFixture.base + Self.operators).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(unknown.location.line == lines.firstIndex { $0.contains("[operator]") }! + 1)

        let empty = PolicyFixture.lint(
            PolicyFixture.base + Self.operators.replacingOccurrences(of: "[dpo, auditor]", with: "[]"))
        #expect(empty.diagnostics.contains { $0.rule == .missingKey && $0.message.contains("dpo-office") })

        let twice = PolicyFixture.lint(
            PolicyFixture.base + Self.operators.replacingOccurrences(of: "dpo-office", with: "control-room"))
        #expect(twice.diagnostics.contains { $0.rule == .duplicateID && $0.message.contains("operator id") })

        let claimed = PolicyFixture.lint(
            PolicyFixture.replacing(
                #"identity: {uri: "spiffe://test.example/police"}"#,
                with: #"identity: {uri: "urn:veilgate:operator:control-room"}"#))
        #expect(claimed.diagnostics.contains { $0.rule == .invalidValue && $0.message.contains("reserved") })

        let bad = PolicyFixture.lint(
            PolicyFixture.base + "operators:\n  - name: Control Room\n    roles: [operator]\n")
        #expect(bad.diagnostics.contains { $0.rule == .invalidValue && $0.message.contains("operator name") })
    }

    @Test("Operator certificate URIs: only well-formed names under the console's prefix")
    func certificateURIs() {
        #expect(OperatorID(certificateURI: "urn:veilgate:operator:control-room") == "control-room")
        #expect(OperatorID("dpo-office").certificateURI == "urn:veilgate:operator:dpo-office")
        #expect(OperatorID(certificateURI: "spiffe://city.example/partner/police") == nil)
        #expect(OperatorID(certificateURI: "urn:veilgate:operator:") == nil)
        #expect(OperatorID(certificateURI: "urn:veilgate:operator:Bad Name") == nil)
    }
}
