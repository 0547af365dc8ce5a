import Foundation
public import Logging
public import ServiceLifecycle
import UnixSignals
import VeilCore
public import VeilFederation
import VeilPolicy
public import VeilVault
public import X509

/// Reloads the policy and the revocation list on SIGHUP into the ``PolicyInForce``. A policy that fails to verify (with
/// a DPO key), fails to load, or is older than the one in force (a replayed bundle) is refused and the last good one
/// stays; the revocation list is applied in any case.
public struct PolicyReloader: Service {
    let policyPath: String
    let publicKeyPath: String?
    /// The state folder, where the accepted version is kept (``AcceptedPolicy``).
    let state: String
    let certs: SiteAuthority
    let policy: PolicyInForce
    let audit: AuditLog
    let logger: Logger

    public init(
        policyPath: String, publicKeyPath: String?, state: String, certs: SiteAuthority, policy: PolicyInForce,
        audit: AuditLog,
        logger: Logger
    ) {
        self.policyPath = policyPath
        self.publicKeyPath = publicKeyPath
        self.state = state
        self.certs = certs
        self.policy = policy
        self.audit = audit
        self.logger = logger
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            reload()
        }
    }

    /// What a reload did.
    public enum Outcome: Sendable, Equatable {
        /// The policy read from disk is in force now.
        case loaded(version: String, signer: String?)
        /// It was refused and the one in force stays; why, in words (no policy content).
        case refused(String)
    }

    /// Whether only bundles signed with the DPO's key are loaded (`serve --policy-key`).
    public var requiresSignature: Bool { publicKeyPath != nil }

    /// Reloads the revocation list and the policy, as on SIGHUP; `actor` is who asked (the audit log names them).
    @discardableResult
    public func reload(by actor: String = "gateway") -> Outcome {
        // The revocation list first and on its own: a policy that fails to reload (unsigned, older, invalid) must not
        // keep a revoked certificate connected.
        do {
            let serials = try certs.revocationList().serials
            if serials != policy.current.revokedSerials {
                policy.update { $0.revokedSerials = serials }
                logger.notice("revocation list reloaded", metadata: ["revoked": "\(serials.count)"])
            }
        } catch {
            logger.error("revocation list reload failed; keeping the one in force", metadata: ["error": "\(error)"])
        }
        let current = policy.current.policy.version
        do {
            let verified = try publicKeyPath.map { try PolicyBundle.verify(policyPath, publicKeyPath: $0) }
            let loaded = try PolicyFile.load(policyPath, at: Date())
            guard loaded.version.compare(current, options: .numeric) != .orderedAscending else {
                logger.error(
                    "policy reload refused: older version",
                    metadata: ["loaded": "\(loaded.version)", "in-force": "\(current)"])
                return .refused("version \(loaded.version) is older than \(current), the version in force")
            }
            // Signed bundles: also never older than any version accepted before (restarts included), and one version
            // never with two contents.
            if let verified {
                try AcceptedPolicy.admit(AcceptedPolicy(version: loaded.version, bundle: verified), state: state)
            }
            let roots = try GatewayTrust.partnerRoots(of: loaded, verified: verified)
            policy.update {
                $0.policy = loaded
                $0.partnerRoots = roots
                $0.signer = verified?.signer
                $0.loadedAt = Date()
            }
            try audit.append(
                .policyLoaded, actor: actor, subject: "policy:\(loaded.version)",
                details: ["previous": current].merging(verified.map { ["signer": $0.signer] } ?? [:]) { $1 })
            logger.notice("policy reloaded", metadata: ["version": "\(loaded.version)"])
            return .loaded(version: loaded.version, signer: verified?.signer)
        } catch {
            logger.error(
                "policy reload failed; keeping the policy in force",
                metadata: ["error": "\(error)", "in-force": "\(current)"])
            return .refused(Self.reason(error))
        }
    }

    /// A refusal in words: a policy error's message (it names files, keys and versions, never policy content).
    static func reason(_ error: any Error) -> String {
        if let error = error as? PolicyError {
            return ([error.message] + error.diagnostics.prefix(5).map(\.description)).joined(separator: "\n")
        }
        if let error = error as? GatewayError { return error.message }
        return "the policy could not be loaded (the gateway's log says why)"
    }
}

/// Brings what keeps state derived from the policy in force up to date after each swap: the TLS verifier (roots,
/// revocations, identities — closing the connections they no longer admit) and the vault (its retention schedule).
/// The camera supervisor follows the policy itself; the sweeper and the partner API read it when they act.
public struct PolicyFollowers: Service {
    let updates: AsyncStream<PolicyInForce.Snapshot>
    let verifier: PeerVerifier
    let siteRoots: [Certificate]
    let vault: Vault
    let logger: Logger

    /// Subscribes at once, so no swap made after this (a SIGHUP at start-up) is missed.
    public init(policy: PolicyInForce, verifier: PeerVerifier, siteRoots: [Certificate], vault: Vault, logger: Logger) {
        updates = policy.updates()
        self.verifier = verifier
        self.siteRoots = siteRoots
        self.vault = vault
        self.logger = logger
    }

    public func run() async throws {
        for await snapshot in updates.cancelOnGracefulShutdown() {
            let closed = await verifier.update(GatewayTrust.peerTrust(snapshot, siteRoots: siteRoots))
            if closed > 0 {
                logger.notice(
                    "connections closed: no longer admitted under the policy and revocations in force",
                    metadata: ["connections-closed": "\(closed)"])
            }
            await vault.adopt(snapshot.policy)
        }
    }
}
