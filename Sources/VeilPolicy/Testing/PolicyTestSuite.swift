import Foundation
public import VeilCore
internal import Yams

/// A DPO's own tests of a policy, in YAML (like `opa test`): given a request, expect a decision.
///
/// ```yaml
/// veilgate: policy-tests/v1
/// policy: city-centre.yaml
/// tests:
///   - name: police watch the market square live, faces blurred
///     request: {partner: police, camera: market-square, action: live, at: 2026-12-01T20:00:00Z}
///     expect: {decision: allow, redaction: standard, rules: [police-live]}
/// ```
public struct PolicyTestSuite: Sendable {
    public static let header = "policy-tests/v1"

    public struct Case: Sendable {
        public var name: String
        public var request: AccessRequest
        public var expectation: Expectation
        public var location: SourceLocation
    }

    public struct Expectation: Sendable {
        public var effect: Decision.Effect
        /// A profile id the applied redaction must equal.
        public var profile: Located<RuleID>?
        public var classes: Set<RedactionClass>?
        public var mode: RedactionMode?
        /// The deciding rules, in any order.
        public var rules: [RuleID]?
        /// Reason codes that must all appear (see ``Decision/code(of:)``).
        public var reasons: [String]
        public var retention: PolicyDuration?
        public var fields: [AlertField]?
    }

    public struct Result: Sendable {
        public var name: String
        public var location: SourceLocation
        /// Empty when the test passed.
        public var failures: [String]
        public var passed: Bool { failures.isEmpty }
    }

    public var file: String
    /// The policy file the tests are for, resolved against the test file's folder.
    public var policyFile: String
    public var cases: [Case]

    /// Parses a test file; throws ``PolicyError/Code/invalidTests`` with positioned diagnostics.
    public static func load(file: String) throws -> PolicyTestSuite {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw PolicyError(.unreadableFile, "\(file): cannot read the file")
        }
        let reader = YAMLReader(file: file)
        let suite = reader.compose(data).flatMap { parse($0, reader: reader) }
        guard let suite, !reader.diagnostics.containsErrors else {
            throw PolicyError(.invalidTests, "\(file): the test file has errors", diagnostics: reader.diagnostics)
        }
        return suite
    }

    static let topKeys = ["veilgate", "policy", "tests"]
    static let caseKeys = ["name", "request", "expect"]
    static let requestKeys = ["partner", "camera", "action", "at", "footage-age", "justification", "zone"]
    static let expectKeys = ["decision", "redaction", "classes", "mode", "rules", "reasons", "retention", "fields"]

    static func parse(_ root: Node, reader: YAMLReader) -> PolicyTestSuite? {
        guard let top = reader.mapping(root, "the test file", keys: topKeys),
            let header = reader.required(top, "veilgate", "a test file").flatMap({ reader.string($0, "veilgate") })
        else { return nil }
        guard header == Self.header else {
            reader.error(.unsupportedVersion, "expected 'veilgate: \(Self.header)'", at: top.location)
            return nil
        }
        guard let policy = reader.required(top, "policy", "a test file").flatMap({ reader.string($0, "policy") }),
            let testsNode = reader.required(top, "tests", "a test file"),
            let items = reader.sequence(testsNode, "tests")
        else { return nil }
        let folder = (reader.file as NSString).deletingLastPathComponent
        let policyFile = policy.hasPrefix("/") ? policy : (folder as NSString).appendingPathComponent(policy)
        let cases = items.compactMap { testCase($0, reader: reader) }
        return PolicyTestSuite(file: reader.file, policyFile: policyFile, cases: cases)
    }

    private static func testCase(_ node: Node, reader: YAMLReader) -> Case? {
        guard let map = reader.mapping(node, "a test", keys: caseKeys),
            let name = reader.required(map, "name", "a test").flatMap({ reader.string($0, "name") }),
            let requestNode = reader.required(map, "request", "test '\(name)'"),
            let request = reader.mapping(requestNode, "request", keys: requestKeys),
            let expectNode = reader.required(map, "expect", "test '\(name)'"),
            let expect = reader.mapping(expectNode, "expect", keys: expectKeys),
            let partner = reader.required(request, "partner", "request").flatMap({
                reader.identifier($0, "partner", as: PartnerID.self)
            }),
            let camera = reader.required(request, "camera", "request").flatMap({
                reader.identifier($0, "camera", as: CameraID.self)
            }),
            let actionNode = reader.required(request, "action", "request"),
            let actionText = reader.string(actionNode, "action"),
            let atNode = reader.required(request, "at", "request"), let atText = reader.string(atNode, "at"),
            let decisionNode = reader.required(expect, "decision", "expect"),
            let effect = reader.enumeration(decisionNode, "decision", as: Decision.Effect.self)
        else { return nil }
        guard let action = SharingAction(parsing: actionText) else {
            reader.error(
                .invalidValue, "action '\(actionText.prefix(32))' is not live, clip, counts or alert:KIND",
                at: actionNode)
            return nil
        }
        guard let at = ISO8601DateFormatter().date(from: atText) else {
            reader.error(
                .invalidValue, "at '\(atText.prefix(40))' is not an ISO 8601 time such as 2026-12-01T20:00:00Z",
                at: atNode)
            return nil
        }
        var accessRequest = AccessRequest(partner: partner, camera: camera, action: action, at: at)
        if let age = request["footage-age"].flatMap({ reader.duration($0, "footage-age") }) {
            accessRequest.footageStart = at.addingTimeInterval(-Double(age.seconds))
        }
        accessRequest.hasJustification = request["justification"].flatMap { reader.bool($0, "justification") } ?? false
        accessRequest.zone = request["zone"].flatMap { reader.identifier($0, "zone", as: ZoneID.self) }

        var expectation = Expectation(effect: effect, reasons: [])
        expectation.profile = expect["redaction"].flatMap { reader.located($0, "redaction profile", as: RuleID.self) }
        expectation.classes = expect["classes"].map { Set(reader.enumerations($0, "class", as: RedactionClass.self)) }
        expectation.mode = expect["mode"].flatMap { reader.enumeration($0, "mode", as: RedactionMode.self) }
        expectation.rules = expect["rules"].map { reader.identifiers($0, "rule", as: RuleID.self).map(\.value) }
        if let node = expect["reasons"], let items = reader.sequence(node, "reasons") {
            expectation.reasons = items.compactMap { reader.string($0, "reason") }
        }
        expectation.retention = expect["retention"].flatMap { reader.duration($0, "retention") }
        expectation.fields = expect["fields"].map { reader.enumerations($0, "field", as: AlertField.self) }
        return Case(name: name, request: accessRequest, expectation: expectation, location: map.location)
    }

    /// Runs every case against a compiled policy.
    public func run(against policy: CompiledPolicy) -> [Result] {
        cases.map { testCase in
            Result(
                name: testCase.name, location: testCase.location,
                failures: Self.check(policy.decide(testCase.request), testCase.expectation, policy))
        }
    }

    static func check(_ decision: Decision, _ expected: Expectation, _ policy: CompiledPolicy) -> [String] {
        var failures: [String] = []
        let why = decision.explanation(in: policy).joined(separator: "; ")
        if decision.effect != expected.effect {
            failures.append("expected \(expected.effect.rawValue), got \(decision.effect.rawValue) (\(why))")
            return failures
        }
        if let profile = expected.profile {
            if let spec = policy.profiles[profile.value] {
                if decision.redaction != spec {
                    failures.append(
                        "expected redaction '\(profile.value)' (\(spec)), got \(decision.redaction?.description ?? "none")"
                    )
                }
            } else {
                failures.append("redaction profile '\(profile.value)' is not in the policy")
            }
        }
        if let classes = expected.classes, decision.redaction?.classes != classes {
            failures.append(
                "expected classes \(classes.sorted().map(\.rawValue)), got \(decision.redaction?.classes.sorted().map(\.rawValue) ?? [])"
            )
        }
        if let mode = expected.mode, decision.redaction?.mode != mode {
            failures.append("expected mode \(mode.rawValue), got \(decision.redaction?.mode.rawValue ?? "none")")
        }
        if let rules = expected.rules, Set(rules) != Set(decision.decidingRules) {
            failures.append(
                "expected rules \(rules.map(\.rawValue).sorted()), got \(decision.decidingRules.map(\.rawValue).sorted())"
            )
        }
        let codes = Set(decision.reasons.map { Decision.code(of: $0).code })
        for reason in expected.reasons where !codes.contains(reason) {
            failures.append("expected reason '\(reason)', got \(codes.sorted()) (\(why))")
        }
        if let retention = expected.retention, decision.retention?.duration != retention {
            failures.append(
                "expected retention \(retention), got \(decision.retention?.duration.description ?? "none")")
        }
        if let fields = expected.fields, Set(fields) != Set(decision.alertFields) {
            failures.append(
                "expected fields \(fields.map(\.rawValue).sorted()), got \(decision.alertFields.map(\.rawValue).sorted())"
            )
        }
        return failures
    }
}
