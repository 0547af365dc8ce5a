import ArgumentParser
import Foundation
import VeilPolicy

struct PolicyTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the DPO's policy tests (like `opa test`).",
        discussion: """
            A test file starts with `veilgate: policy-tests/v1`, names its policy, and lists requests with \
            the decision each must get. Exits with 1 when any test fails.
            """
    )

    @Argument(help: ArgumentHelp("Test files or folders.", valueName: "path"))
    var paths: [String] = ["policies"]

    @Flag(name: .shortAndLong, help: "List passing tests too.")
    var verbose = false

    func run() throws {
        var suites: [PolicyTestSuite] = []
        do {
            for path in paths {
                for file in try PolicyLoader.files(at: path, of: .tests) {
                    suites.append(try PolicyTestSuite.load(file: file))
                }
            }
        } catch let error as PolicyError {
            throw reportPolicyError(error)
        }
        guard !suites.isEmpty else {
            printError(
                "error: no test files (YAML files starting with 'veilgate: \(PolicyTestSuite.header)') in \(paths.joined(separator: ", "))"
            )
            throw ExitCode(1)
        }
        var passed = 0, failed = 0
        var policies: [String: CompiledPolicy] = [:]
        for suite in suites {
            let policy: CompiledPolicy
            do {
                if let cached = policies[suite.policyFile] {
                    policy = cached
                } else {
                    policy = try PolicyLoader.load(file: suite.policyFile, now: Date())
                    policies[suite.policyFile] = policy
                }
            } catch let error as PolicyError {
                throw reportPolicyError(error)
            }
            print("\(suite.file) (policy \(suite.policyFile)):")
            for result in suite.run(against: policy) {
                if result.passed {
                    passed += 1
                    if verbose { print("  PASS  \(result.name)") }
                } else {
                    failed += 1
                    print("  FAIL  \(result.name)")
                    for failure in result.failures { print("        \(result.location): \(failure)") }
                }
            }
        }
        print("policy tests: \(passed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }
}
