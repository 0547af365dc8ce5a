import Foundation
import Logging
import Metrics
import ServiceLifecycle
import UnixSignals
import VeilCore
import VeilFederation
import VeilPolicy
import VeilVault
import X509

/// Applies the retention schedule on a timer: expired footage's keys are destroyed (crypto-shredding) and
/// expired alerts leave the journal (under the policy in force, reloads included).
struct RetentionSweeper: Service {
    let vault: Vault
    let journal: AlertJournal
    let verifier: PeerVerifier
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            do {
                let plan = try await vault.retentionPlan(at: Date())
                let report = try await vault.apply(plan)
                var alerts = 0
                if let schedule = verifier.current.authority as? any RetentionSchedule {
                    alerts = try journal.applyRetention(schedule, now: Date())
                }
                Counter(label: "veilgate_retention_sweeps_total", dimensions: [("outcome", report.tampered.isEmpty ? "ok" : "altered-rows")])
                    .increment()
                Counter(label: "veilgate_retention_destroyed_segments_total").increment(by: report.segmentsDestroyed)
                logger.info("retention sweep", metadata: ["policy": "\(plan.policyVersion)", "segments": "\(report.segmentsDestroyed)",
                                                          "keys": "\(report.keysDestroyed)", "events": "\(report.eventsDeleted)",
                                                          "alerts-deleted": "\(alerts)"])
                if !report.tampered.isEmpty {
                    logger.error("retention sweep skipped altered index rows (audited); everything else due was destroyed",
                                 metadata: ["altered-rows": "\(report.tampered.count)"])
                }
            } catch {
                // Never stop sweeping because one sweep failed.
                Counter(label: "veilgate_retention_sweeps_total", dimensions: [("outcome", "failed")]).increment()
                logger.error("retention sweep failed", metadata: ["error": "\(error)"])
            }
            try? await gracefulSleep(for: interval)
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { isCancelled || isShuttingDownGracefully }
}

/// Reloads the policy and the revocation list on SIGHUP. A policy that fails to verify (with a DPO key), fails
/// to load, or is older than the one in force (a replayed bundle) is refused and the last good one stays.
struct PolicyReloader: Service {
    let policyPath: String
    let publicKeyPath: String?
    let state: String
    let vault: Vault
    let certs: SiteAuthority
    let verifier: PeerVerifier
    let audit: AuditLog
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            await reload()
        }
    }

    func reload() async {
        // The revocation list first and on its own: a policy that fails to reload (unsigned, older, invalid) must not
        // keep a revoked certificate connected.
        do {
            var trust = verifier.current
            let serials = try certs.revocationList().serials
            if serials != trust.revokedSerials {
                trust.revokedSerials = serials
                let closed = await verifier.update(trust)
                logger.notice("revocation list reloaded", metadata: ["revoked": "\(serials.count)", "connections-closed": "\(closed)"])
            }
        } catch {
            logger.error("revocation list reload failed; keeping the one in force", metadata: ["error": "\(error)"])
        }
        let current = verifier.current.authority.policyVersion
        do {
            let verified = try publicKeyPath.map { try PolicyBundle.verify(policyPath, publicKeyPath: $0) }
            let policy = try PolicyLocation.load(policyPath, at: Date())
            guard policy.version.compare(current, options: .numeric) != .orderedAscending else {
                logger.error("policy reload refused: older version", metadata: ["loaded": "\(policy.version)", "in-force": "\(current)"])
                return
            }
            // Signed bundles: also never older than any version accepted before (restarts included), and one version
            // never with two contents.
            if let verified { try AcceptedPolicy.admit(AcceptedPolicy(version: policy.version, bundle: verified), state: state) }
            await verifier.update(try GatewayTrust.make(policy: policy, certs: certs, verified: verified))
            await vault.adopt(policy)
            try audit.append(.policyLoaded, actor: "gateway", subject: "policy:\(policy.version)", details: ["previous": current])
            logger.notice("policy reloaded", metadata: ["version": "\(policy.version)"])
        } catch {
            logger.error("policy reload failed; keeping the policy in force", metadata: ["error": "\(error)", "in-force": "\(current)"])
        }
    }
}

/// Builds who may connect: the site CA, each partner's own CA that the policy names, the revocation list.
enum GatewayTrust {
    /// - Parameter verified: the signed bundle the policy came from, when the gateway requires one: a partner CA is
    ///   then read only if it is byte for byte the file that was signed.
    static func make(policy: CompiledPolicy, certs: SiteAuthority, verified: PolicyBundle.Verified?) throws -> PeerTrust {
        let ca = try certs.caCertificate()
        var partnerRoots: [PartnerID: [Certificate]] = [:]
        for (partner, path) in policy.partnerAuthorities {
            if let verified {
                partnerRoots[partner] = try SiteAuthority.certificates(pem: verified.contents(of: path), named: path)
            } else {
                partnerRoots[partner] = try SiteAuthority.certificates(at: path)
            }
        }
        return PeerTrust(siteRoots: [ca], partnerRoots: partnerRoots, revokedSerials: try certs.revocationList().serials,
                         authority: policy)
    }
}

/// Sleeps, waking early on graceful shutdown.
func gracefulSleep(for duration: Duration) async throws {
    try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
}
