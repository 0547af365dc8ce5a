import ArgumentParser

/// The `veilgate` command: the one place where Veilgate's targets are wired together.
struct Veilgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "veilgate",
        abstract: "A privacy-first federation gateway for safe-city video.",
        discussion: """
            Veilgate analyses and redacts camera feeds on site, keeps recordings under encrypted retention \
            governed by declarative GDPR policies, and shares only what a policy authorises with partners \
            over mutual TLS.

            Start with the policy tools: `veilgate policy lint policies/`.
            """,
        version: VeilgateVersion.current,
        subcommands: [
            PolicyCommand.self, RedactCommand.self, AnalyseCommand.self, VaultCommand.self, AuditCommand.self,
            CertsCommand.self, ServeCommand.self,
            PartnerCommand.self, AlertsCommand.self, WatchlistCommand.self, SubjectAccessCommand.self,
        ]
    )
}

enum VeilgateVersion {
    static let current = "0.1.0"
}
