import ArgumentParser

/// `veilgate policy …`: the data-protection officer's tools.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Lint, explain, test, document, compare and sign GDPR sharing policies.",
        discussion: """
            Policies are YAML files in policies/ (see docs/policy-language.md). Every command reads them \
            the way the gateway does: default deny, explicit deny overrides allow, least revealing \
            redaction wins.
            """,
        subcommands: [
            PolicyLintCommand.self, PolicyExplainCommand.self, PolicyTestCommand.self, PolicyRopaCommand.self,
            PolicyDiffCommand.self, PolicyKeygenCommand.self, PolicySignCommand.self, PolicyVerifyCommand.self,
        ]
    )
}
