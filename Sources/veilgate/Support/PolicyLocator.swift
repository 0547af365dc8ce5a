import ArgumentParser
import Foundation
import VeilCore
import VeilGateway
import VeilPolicy

/// `--policy PATH`: the policy file, or a folder holding exactly one policy file.
struct PolicyLocation: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The policy file, or a folder with one policy file.", valueName: "path"))
    var policy: String = "policies"

    func load(at now: Date) throws -> CompiledPolicy {
        try PolicyLocation.load(policy, at: now)
    }

    static func load(_ path: String, at now: Date) throws -> CompiledPolicy {
        try gatewayOperation { try PolicyFile.load(path, at: now) }
    }
}

/// Parses `--at` times: ISO 8601 with a zone (`2026-12-01T20:00:00Z`, `2026-12-01T21:00:00+01:00`).
func parseTime(_ text: String?, option: String = "--at") throws -> Date {
    guard let text else { return Date() }
    if let date = Timestamp.parse(text) { return date }
    throw ValidationError("\(option) '\(text)' is not an ISO 8601 time such as 2026-12-01T20:00:00Z")
}

/// Output formats shared by the commands that print results.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Renders a ``PolicyError`` for a terminal and exits non-zero, instead of ArgumentParser's generic text.
func reportPolicyError(_ error: PolicyError) -> ExitCode {
    printError("error: \(error.message)")
    for diagnostic in error.diagnostics { printError(diagnostic.description) }
    return ExitCode(1)
}

/// Runs gateway work, turning a ``GatewayError`` about what the operator gave into a usage error (with the command's
/// usage, exit code 64), as the command's own checks do.
func gatewayOperation<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as GatewayError where error.code == .invalidConfiguration {
        throw ValidationError(error.message)
    }
}

func gatewayOperation<T>(_ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch let error as GatewayError where error.code == .invalidConfiguration {
        throw ValidationError(error.message)
    }
}
