/// One finding of the parser or the linter: a typed value, so the CLI, the JSON output and the server's
/// refusal to load a policy all render the same facts.
public struct PolicyDiagnostic: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Severity: String, Sendable, Codable, Comparable {
        case warning
        case error

        public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs == .warning && rhs == .error }
    }

    public var severity: Severity
    /// The rule that produced the finding (see ``LintRule``), e.g. `VG201`.
    public var rule: LintRule
    public var message: String
    public var location: SourceLocation

    public init(_ severity: Severity, _ rule: LintRule, _ message: String, at location: SourceLocation) {
        self.severity = severity
        self.rule = rule
        self.message = message
        self.location = location
    }

    /// `file:line:col: error: message [VG201 rule-name]`
    public var description: String {
        "\(location): \(severity.rawValue): \(message) [\(rule.code) \(rule.name)]"
    }
}

extension [PolicyDiagnostic] {
    /// Whether any finding is an error (warnings alone do not stop a policy from loading).
    public var containsErrors: Bool { contains { $0.severity == .error } }
}
