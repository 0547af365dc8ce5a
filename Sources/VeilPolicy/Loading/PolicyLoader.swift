public import Foundation

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
            return Outcome(file: file, document: nil,
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
        let outcome = lint(file: file, now: now)
        guard let document = outcome.document, !outcome.diagnostics.containsErrors else {
            throw PolicyError(.invalidPolicy, "\(file): the policy has errors",
                              diagnostics: outcome.diagnostics.filter { $0.severity == .error })
        }
        return CompiledPolicy(validated: document)
    }

    /// The policy files a path names: the file itself, or every `*.yaml`/`*.yml` file in a folder (not
    /// recursing) whose first key is `veilgate: policy/v1`.
    public static func policyFiles(at path: String, header: String = PolicyParser.header) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PolicyError(.unreadableFile, "\(path): no such file or folder")
        }
        guard isDirectory.boolValue else { return [path] }
        let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
            .map { (path as NSString).appendingPathComponent($0) }
            .filter { declaredHeader(of: $0) == header }
    }

    /// The value of the file's `veilgate:` key, read from its first lines without parsing the whole file.
    static func declaredHeader(of file: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: file) else { return nil }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 4096)) ?? Data()
        let text = String(decoding: head, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("veilgate:") {
            return line.dropFirst("veilgate:".count).split(separator: "#").first?
                .trimmingCharacters(in: .whitespaces)
        }
        return nil
    }
}
