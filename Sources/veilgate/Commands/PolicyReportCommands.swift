import ArgumentParser
import Foundation
import VeilAnalytics
import VeilPolicy

struct PolicyRopaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ropa",
        abstract: "Generate the GDPR Art. 30 record of processing activities from a policy."
    )

    @Argument(help: ArgumentHelp("The policy file or folder.", valueName: "path"))
    var path: String = "policies"

    @Option(help: "markdown or html.")
    var format: ReportFormat = .markdown

    @Option(
        name: .shortAndLong, help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String?

    func run() throws {
        let policy: CompiledPolicy
        do { policy = try PolicyLocation.load(path, at: Date()) } catch let error as PolicyError {
            throw reportPolicyError(error)
        }
        // Only analytics this gateway runs are processing; the others a camera lists are named apart.
        let text = RecordOfProcessing(policy, analyticsRun: CameraAnalytics.Setup.supported).render(format.recordFormat)
        if let output {
            try Data(text.utf8).write(to: URL(fileURLWithPath: output))
            printError("wrote \(output)")
        } else {
            print(text, terminator: "")
        }
    }
}

/// The formats of generated reports.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case markdown, html

    var recordFormat: RecordOfProcessing.Format { self == .markdown ? .markdown : .html }
}

struct PolicyDiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what each partner gains or loses between two policy versions.",
        discussion: "Exits with 0 when nothing changes for any partner, 1 otherwise (like diff)."
    )

    @Argument(help: ArgumentHelp("The current policy.", valueName: "old"))
    var old: String

    @Argument(help: ArgumentHelp("The proposed policy.", valueName: "new"))
    var new: String

    func run() throws {
        let before: CompiledPolicy, after: CompiledPolicy
        do {
            before = try PolicyLocation.load(old, at: Date())
            after = try PolicyLocation.load(new, at: Date())
        } catch let error as PolicyError {
            throw reportPolicyError(error)
        }
        let diff = PolicyDiff(old: before, new: after)
        print("policy \(before.version) → \(after.version)")
        print(diff.render(), terminator: "")
        if !diff.isEmpty { throw ExitCode(1) }
    }
}
