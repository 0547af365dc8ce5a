import ArgumentParser
import Foundation
import VeilPolicy

struct PolicyLintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Check policies for errors and GDPR problems.",
        discussion: """
            Prints every finding as `file:line:col: severity: message [code rule]` and exits with 1 when \
            any error is found. A folder is searched for files starting with `veilgate: policy/v1`. \
            The rules are listed in docs/policy-language.md.
            """
    )

    @Argument(help: ArgumentHelp("Policy files or folders.", valueName: "path"))
    var paths: [String] = ["policies"]

    @Option(help: ArgumentHelp("Judge expiry dates at this time (ISO 8601) instead of now.", valueName: "time"))
    var at: String?

    @Flag(help: "Treat warnings as errors.")
    var strict = false

    @Option(help: "Output format.")
    var format: OutputFormat = .text

    func run() throws {
        let now = try parseTime(at)
        var outcomes: [PolicyLoader.Outcome] = []
        do {
            for path in paths {
                let files = try PolicyLoader.yamlFiles(at: path)
                if files.isEmpty { printError("warning: \(path) holds no YAML file") }
                let named = files == [path]
                for file in files {
                    outcomes.append(
                        PolicyLoader.check(file, kind: named ? .policy : PolicyLoader.kind(of: file), now: now))
                }
            }
        } catch let error as PolicyError {
            throw reportPolicyError(error)
        }
        let diagnostics = outcomes.flatMap(\.diagnostics)
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.count - errors
        switch format {
        case .text:
            for diagnostic in diagnostics { print(diagnostic) }
            let files = outcomes.count == 1 ? "1 file" : "\(outcomes.count) files"
            print(
                "\(files) checked: \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")"
            )
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(diagnostics), as: UTF8.self))
        }
        if errors > 0 || (strict && warnings > 0) || outcomes.isEmpty { throw ExitCode(1) }
    }
}
