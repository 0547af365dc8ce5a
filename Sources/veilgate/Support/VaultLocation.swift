import ArgumentParser
import Foundation
import VeilCore
import VeilPolicy
import VeilVault

/// `--state DIR` and `--policy PATH`: where the vault lives and which policy governs it.
struct VaultLocation: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The gateway's state folder (vault/, keystore/, keys/). Default: $VEILGATE_STATE or ./state.",
            valueName: "dir"))
    var state: String = ProcessInfo.processInfo.environment["VEILGATE_STATE"] ?? "state"

    @OptionGroup var policyLocation: PolicyLocation

    var configuration: VaultConfiguration {
        .standard(stateDirectory: state, environment: ProcessInfo.processInfo.environment)
    }

    /// The compiled policy, the vault's retention schedule.
    func policy() throws -> CompiledPolicy {
        do { return try policyLocation.load(at: Date()) } catch let error as PolicyError {
            throw reportPolicyError(error)
        }
    }

    /// Opens the vault under the policy, reporting any crash recovery it did.
    func open(mode: Vault.Mode = .readWrite) async throws -> (Vault, CompiledPolicy) {
        // Run by a gateway for the CLI (ControlSocket): its open vault, under the policy in force.
        if let shared = ControlSocket.serving {
            guard ControlSocket.absolute(state) == shared.state else {
                throw ValidationError("the running gateway keeps the state folder \(shared.state), not \(state)")
            }
            return (shared.vault, shared.policy())
        }
        let policy = try policy()
        do {
            let vault = try Vault(configuration: configuration, schedule: policy, mode: mode)
            let recovery = await vault.recovery
            if recovery.completed > 0 || recovery.strayFiles > 0 {
                printError(
                    "vault: recovered from an interrupted write (\(recovery.completed) segment(s) moved into place, \(recovery.strayFiles) unrecorded file(s) removed)"
                )
            }
            return (vault, policy)
        } catch let error as VaultError where error.code == .inUse && mode == .readWrite {
            // A running gateway holds the vault: it runs this command itself, through its control socket.
            if let status = ControlClient.forward(state: state) { throw status }
            throw reportVaultError(error)
        } catch let error as VaultError {
            throw reportVaultError(error)
        }
    }
}

/// `--camera C --from T1 --to T2`: the footage a hold, an export or an erasure is about.
struct CameraRange: ParsableArguments {
    @Option(help: "The camera id.") var camera: String
    @Option(help: ArgumentHelp("Start of the range (ISO 8601).", valueName: "time")) var from: String
    @Option(help: ArgumentHelp("End of the range (ISO 8601).", valueName: "time")) var to: String

    func parsed() throws -> (CameraID, Date, Date) {
        (CameraID(camera), try parseTime(from, option: "--from"), try parseTime(to, option: "--to"))
    }
}

func reportVaultError(_ error: VaultError) -> ExitCode {
    printError("error: \(error.description)")
    return ExitCode(1)
}

/// Runs a vault operation, turning a ``VaultError`` into a clear message and exit code 1.
func vaultOperation<T>(_ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch let error as VaultError { throw reportVaultError(error) }
}

extension ISO8601DateFormatter {
    static func veilgate(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
}
