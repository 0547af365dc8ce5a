import ArgumentParser
import Foundation
import VeilFederation
import VeilVault

/// `veilgate audit …`: the tamper-evident audit log.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show and verify the hash-chained audit log.",
        subcommands: [Verify.self, Show.self, Checkpoint.self, Justification.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Detect any modified, deleted, inserted or reordered entry, and say where."
        )
        @OptionGroup var location: VaultLocation
        @Option(
            name: .customLong("public-key"),
            help: ArgumentHelp("The gateway public key (default: the state folder's).", valueName: "file"))
        var publicKey: String?

        @Option(
            help: ArgumentHelp(
                "The signing key's fingerprint, as recorded outside the gateway. Without it, someone who can write the state folder could replace the key.",
                valueName: "hex"))
        var fingerprint: String?

        @Option(
            help: ArgumentHelp(
                "The audit anchor: signed checkpoint heads kept outside the state folder (default: $VEILGATE_AUDIT_ANCHOR or STATE.audit-anchor). It finds a log whose tail was cut with its checkpoints, or an old copy of the state folder put back.",
                valueName: "file"))
        var anchor: String?

        func run() async throws {
            let (vault, _) = try await location.open(mode: .readOnly)
            if let anchor, !FileManager.default.fileExists(atPath: anchor) {
                printError("error: \(anchor): no such audit anchor")
                throw ExitCode(1)
            }
            let defaultPath = location.configuration.signingKeyPath
            let keyPath =
                publicKey
                ?? (defaultPath.hasSuffix(".key") ? String(defaultPath.dropLast(4)) + ".pub" : defaultPath + ".pub")
            let key = try await vaultOperation { try GatewayPublicKey.load(from: keyPath) }
            if let fingerprint, fingerprint.lowercased() != key.fingerprint {
                printError("error: \(keyPath) has fingerprint \(key.fingerprint), not the expected \(fingerprint)")
                throw ExitCode(1)
            }
            let verification = try await vaultOperation { try vault.audit.verify(publicKey: key, anchor: anchor) }
            let anchorPath =
                anchor ?? vault.audit.anchorPath.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
            print(
                anchorPath.map { "anchor: \($0)" }
                    ?? "anchor: none (without one, a log whose tail was cut together with its checkpoints looks intact)"
            )
            for problem in verification.problems { print("TAMPERED  \(problem)") }
            print(
                "\(verification.entries) entries, \(verification.checkpoints) signed checkpoint(s), key \(key.fingerprint): "
                    + (verification.isIntact ? "intact" : "\(verification.problems.count) problem(s)"))
            if fingerprint == nil {
                print("(pin the key with --fingerprint \(key.fingerprint) from a copy kept off this machine)")
            }
            if !verification.isIntact { throw ExitCode(1) }
        }
    }

    struct Justification: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "justification",
            abstract:
                "Find the entries of requests justified by a case reference (audited as a keyed digest, never as text)."
        )
        @OptionGroup var location: VaultLocation
        @Argument(
            help: ArgumentHelp(
                "The case or warrant reference, or - to read it from standard input (kept out of shell history).",
                valueName: "text"))
        var text: String

        func run() async throws {
            let path = (location.state as NSString).appendingPathComponent(JustificationDigest.fileName)
            guard FileManager.default.fileExists(atPath: path) else {
                printError("error: \(path) does not exist: no justification has been audited in this state folder")
                throw ExitCode(1)
            }
            let reference = text == "-" ? (readLine(strippingNewline: true) ?? "") : text
            let digest = try await federationOperation { try JustificationDigest.load(creatingAt: path) }
                .digest(of: String(reference.prefix(512)))
            let (vault, _) = try await location.open(mode: .readOnly)
            print("justification-hmac=\(digest)")
            var after: Int64 = 0, found = 0
            while true {
                let entries = try await vaultOperation { try vault.audit.entries(after: after, limit: 1000) }
                guard let last = entries.last else { break }
                for entry in entries where entry.details["justification-hmac"] == digest {
                    found += 1
                    print(
                        "\(entry.seq)  \(ISO8601DateFormatter.veilgate(entry.time))  \(entry.action)  \(entry.actor) → \(entry.subject)"
                    )
                }
                after = last.seq
            }
            print("\(found) entr\(found == 1 ? "y" : "ies")")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Print entries (ids only, no personal data).")
        @OptionGroup var location: VaultLocation
        @Option(help: "Start after this sequence number.") var after: Int64 = 0
        @Option(help: "At most this many entries.") var limit: Int = 50

        func run() async throws {
            let (vault, _) = try await location.open(mode: .readOnly)
            let entries = try await vaultOperation { try vault.audit.entries(after: after, limit: limit) }
            for entry in entries {
                let details = entry.details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
                    separator: " ")
                let rules = entry.rules.isEmpty ? "" : " rules=\(entry.rules.joined(separator: ","))"
                print(
                    "\(entry.seq)  \(ISO8601DateFormatter.veilgate(entry.time))  \(entry.action)  \(entry.actor) → \(entry.subject)\(rules)  \(details)"
                )
            }
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "checkpoint", abstract: "Sign a checkpoint at the newest entry (before a backup, at shutdown)."
        )
        @OptionGroup var location: VaultLocation

        func run() async throws {
            let (vault, _) = try await location.open()
            try await vaultOperation { try vault.audit.checkpoint() }
            print("checkpoint signed")
        }
    }
}
