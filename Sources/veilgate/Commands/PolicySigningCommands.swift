import ArgumentParser
import Foundation
import VeilPolicy

struct PolicyKeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create the DPO's Ed25519 signing key pair (NAME.key, mode 0600, and NAME.pub)."
    )

    @Option(help: ArgumentHelp("Path and base name of the key files.", valueName: "name"))
    var out: String = "dpo"

    func run() throws {
        do {
            try PolicyBundle.generateKey(privateKeyPath: out + ".key", publicKeyPath: out + ".pub")
        } catch let error as PolicyError {
            throw reportPolicyError(error)
        }
        print("wrote \(out).key (private, keep it off the gateway) and \(out).pub (install on every gateway)")
    }
}

struct PolicySignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign a policy bundle (a folder's policy and test files) with the DPO's key.",
        discussion: "The policy must lint without errors: a broken policy is never signed."
    )

    @Argument(help: ArgumentHelp("The bundle folder (or one policy file).", valueName: "path"))
    var path: String = "policies"

    @Option(help: ArgumentHelp("The DPO's private key file (mode 0600).", valueName: "file"))
    var key: String

    func run() throws {
        do {
            let files = try PolicyLoader.yamlFiles(at: path)
            let named = files == [path]
            for file in files {
                let outcome = PolicyLoader.check(file, kind: named ? .policy : PolicyLoader.kind(of: file), now: Date())
                if outcome.diagnostics.containsErrors {
                    throw PolicyError(
                        .invalidPolicy, "\(file): refusing to sign a bundle with errors",
                        diagnostics: outcome.diagnostics.filter { $0.severity == .error })
                }
            }
            let written = try PolicyBundle.sign(path, privateKeyPath: key)
            print("signed \(path) → \(written)")
        } catch let error as PolicyError {
            throw reportPolicyError(error)
        }
    }
}

struct PolicyVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a signed policy bundle; fails on any changed, added or removed file."
    )

    @Argument(help: ArgumentHelp("The bundle folder (or one policy file).", valueName: "path"))
    var path: String = "policies"

    @Option(name: .customLong("public-key"), help: ArgumentHelp("The DPO's public key file.", valueName: "file"))
    var publicKey: String

    func run() throws {
        do {
            let verified = try PolicyBundle.verify(path, publicKeyPath: publicKey)
            print("verified \(path): \(verified.files.count) files signed by key \(verified.signer.prefix(16))")
        } catch let error as PolicyError {
            throw reportPolicyError(error)
        }
    }
}
