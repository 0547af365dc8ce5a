import Foundation
public import Logging
import Metrics
public import ServiceLifecycle
public import VeilAlerts
public import VeilVault

/// Applies the retention schedule on a timer: expired footage's keys are destroyed (crypto-shredding) and expired
/// alerts leave the journal, under the policy in force at each sweep (reloads included).
public struct RetentionSweeper: Service {
    let vault: Vault
    let journal: AlertJournal
    let policy: PolicyInForce
    let interval: Duration
    let logger: Logger

    public init(vault: Vault, journal: AlertJournal, policy: PolicyInForce, interval: Duration, logger: Logger) {
        self.vault = vault
        self.journal = journal
        self.policy = policy
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            do {
                let plan = try await vault.retentionPlan(at: Date())
                let report = try await vault.apply(plan)
                let alerts = try journal.applyRetention(policy.current.policy, now: Date())
                Counter(
                    label: "veilgate_retention_sweeps_total",
                    dimensions: [("outcome", report.tampered.isEmpty ? "ok" : "altered-rows")]
                )
                .increment()
                Counter(label: "veilgate_retention_destroyed_segments_total").increment(by: report.segmentsDestroyed)
                logger.info(
                    "retention sweep",
                    metadata: [
                        "policy": "\(plan.policyVersion)", "segments": "\(report.segmentsDestroyed)",
                        "keys": "\(report.keysDestroyed)", "alerts-deleted": "\(alerts)",
                    ])
                if !report.tampered.isEmpty {
                    logger.error(
                        "retention sweep skipped altered index rows (audited); everything else due was destroyed",
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
