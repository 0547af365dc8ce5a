public import Foundation
internal import Yams

/// Reads policy files from disk: parse, lint, compile. The only part of VeilPolicy that touches the file
/// system; everything it calls is pure.
public enum PolicyLoader {
    /// The result of reading one policy file.
    public struct Outcome: Sendable {
        public var file: String
        public var document: PolicyDocument?
        public var diagnostics: [PolicyDiagnostic]

        public var hasErrors: Bool { document == nil || diagnostics.containsErrors }
    }

    /// Parses and lints one file; never throws, since every problem is a diagnostic.
    public static func lint(file: String, now: Date) -> Outcome {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            let location = SourceLocation(file: file, line: 1, column: 1)
            return Outcome(
                file: file, document: nil,
                diagnostics: [PolicyDiagnostic(.error, .yamlSyntax, "cannot read the file", at: location)])
        }
        return lint(data: data, file: file, now: now)
    }

    /// Parses and lints policy text.
    public static func lint(data: Data, file: String, now: Date) -> Outcome {
        let (document, parseDiagnostics) = PolicyParser.parse(data, file: file)
        var diagnostics = parseDiagnostics
        if let document { diagnostics += PolicyLinter(now: now).lint(document) }
        diagnostics.sort { ($0.location, $0.rule.code) < ($1.location, $1.rule.code) }
        return Outcome(file: file, document: document, diagnostics: diagnostics)
    }

    /// Reads, lints and compiles a policy file; throws ``PolicyError/Code/invalidPolicy`` with every error.
    public static func load(file: String, now: Date) throws -> CompiledPolicy {
        try compile(lint(file: file, now: now))
    }

    /// Lints and compiles policy text; throws ``PolicyError/Code/invalidPolicy`` with every error.
    public static func compile(data: Data, file: String, now: Date) throws -> CompiledPolicy {
        try compile(lint(data: data, file: file, now: now))
    }

    private static func compile(_ outcome: Outcome) throws -> CompiledPolicy {
        let file = outcome.file
        guard let document = outcome.document, !outcome.diagnostics.containsErrors else {
            throw PolicyError(
                .invalidPolicy, "\(file): the policy has errors",
                diagnostics: outcome.diagnostics.filter { $0.severity == .error })
        }
        return CompiledPolicy(validated: document)
    }

    /// Lints a policy, validates a test file, and reports any other YAML file in a policy folder: nothing in a
    /// bundle goes unchecked.
    public static func check(_ file: String, kind: PolicyLoader.FileKind, now: Date) -> PolicyLoader.Outcome {
        let start = SourceLocation(file: file, line: 1, column: 1)
        switch kind {
        case .policy:
            return PolicyLoader.lint(file: file, now: now)
        case .tests:
            do {
                _ = try PolicyTestSuite.load(file: file)
                return PolicyLoader.Outcome(file: file, document: nil, diagnostics: [])
            } catch let error as PolicyError {
                let diagnostics =
                    error.diagnostics.isEmpty
                    ? [PolicyDiagnostic(.error, .yamlSyntax, error.message, at: start)] : error.diagnostics
                return PolicyLoader.Outcome(file: file, document: nil, diagnostics: diagnostics)
            } catch {
                return PolicyLoader.Outcome(
                    file: file, document: nil,
                    diagnostics: [PolicyDiagnostic(.error, .yamlSyntax, "cannot read the file", at: start)])
            }
        case .unknown:
            let parsed = PolicyLoader.lint(file: file, now: now)
            let diagnostics = parsed.diagnostics.filter { $0.rule == .yamlSyntax || $0.rule == .documentTooLarge }
            return PolicyLoader.Outcome(
                file: file, document: nil,
                diagnostics: diagnostics.isEmpty
                    ? [
                        PolicyDiagnostic(
                            .error, .unsupportedVersion,
                            "not a Veilgate file: the first key must be 'veilgate: \(PolicyParser.header)' or 'veilgate: \(PolicyTestSuite.header)'",
                            at: start)
                    ] : diagnostics)
        }
    }

    /// What a YAML file in a policy folder is, by its `veilgate:` key.
    public enum FileKind: Equatable, Sendable {
        case policy
        case tests
        /// Not a Veilgate file, or unreadable: lint reports it rather than skipping it silently.
        case unknown
    }

    /// Classifies a file by parsing it (so quoting, CRLF line ends and comments do not hide its kind).
    public static func kind(of file: String) -> FileKind {
        guard let data = FileManager.default.contents(atPath: file) else { return .unknown }
        let reader = YAMLReader(file: file)
        guard let root = reader.compose(data), case .mapping(let mapping) = root,
            let header = mapping["veilgate"]?.string?.trimmingCharacters(in: .whitespaces)
        else { return .unknown }
        switch header {
        case PolicyParser.header: return .policy
        case PolicyTestSuite.header: return .tests
        default: return .unknown
        }
    }

    /// The YAML files a path names: the file itself, or every `*.yaml`/`*.yml` file of a folder (not recursing),
    /// sorted.
    public static func yamlFiles(at path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PolicyError(.unreadableFile, "\(path): no such file or folder")
        }
        guard isDirectory.boolValue else { return [path] }
        let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
            .map { (path as NSString).appendingPathComponent($0) }
    }

    /// The files of one kind a path names. A file named directly is taken as that kind whatever it says, so
    /// the parser reports a wrong header.
    public static func files(at path: String, of kind: FileKind) throws -> [String] {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            return [path]
        }
        return try yamlFiles(at: path).filter { self.kind(of: $0) == kind }
    }

    /// The policy files a path names (see ``files(at:of:)``).
    public static func policyFiles(at path: String) throws -> [String] {
        try files(at: path, of: .policy)
    }
}
