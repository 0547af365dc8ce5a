import Foundation
import VeilCore
@_spi(Benchmarks) import VeilVault

/// Issue goals: vault write throughput ≥ 0.8× raw libsodium secretstream (same data, same durability: the
/// file is synced) in the same run; and the time to sweep an index of 1,000,000 segments.
enum VaultBenchmark {
    struct Schedule: RetentionSchedule {
        let policyVersion = "bench"
        func retention(camera: CameraID, category: DataCategory, eventKind: AlertKind?) -> RetentionPeriod? {
            RetentionPeriod(rule: "bench-7d", duration: .days(7))
        }
        func permitsStorage(camera: CameraID, category: DataCategory) -> Bool { true }
        let legalHoldMaxDuration: PolicyDuration? = nil
        let legalHoldRequiresCaseReference = false
    }

    static func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("veilgate-bench-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let configuration = VaultConfiguration.standard(stateDirectory: root, environment: [:])
        try Vault.initialise(configuration)
        let vault = try Vault(configuration: configuration, schedule: Schedule())

        for size in [2 * 1024 * 1024, 8 * 1024 * 1024] {
            let count = size > 4_000_000 ? 12 : 40
            print(
                "== vault writes: \(count) segments of \(size / 1024 / 1024) MiB (a 6 s segment at \(size * 8 / 6 / 1_000_000) Mbit/s) =="
            )
            let plaintext = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let baselineFolder = root + "/baseline"
            try FileManager.default.createDirectory(atPath: baselineFolder, withIntermediateDirectories: true)
            var raw: [Double] = [], stored: [Double] = []
            // Interleave runs so both see the same disk and cache conditions.
            for round in 0..<count {
                let start = ContinuousClock.now
                try Vault.rawSecretStreamWrite(plaintext, to: baselineFolder + "/\(round).bin")
                raw.append(seconds(ContinuousClock.now - start))
                let vaultStart = ContinuousClock.now
                let descriptor = SegmentDescriptor(
                    camera: "bench", category: .redactedVideo,
                    start: Date(timeIntervalSince1970: 1_764_000_000 + Double(round * 6)),
                    end: Date(timeIntervalSince1970: 1_764_000_006 + Double(round * 6)),
                    policyVersion: "bench", redaction: RedactionSpec(classes: [.faces]))
                _ = try await vault.store(plaintext, as: descriptor)
                stored.append(seconds(ContinuousClock.now - vaultStart))
            }
            let rawRate = Double(size * count) / raw.reduce(0, +) / 1_048_576
            let vaultRate = Double(size * count) / stored.reduce(0, +) / 1_048_576
            print(
                String(
                    format: "baseline: secretstream + write + fsync      %8.1f MiB/s  (%.1f ms per segment)", rawRate,
                    raw.reduce(0, +) / Double(count) * 1000))
            print(
                String(
                    format: "vault.store (keys, index, crash protocol)  %8.1f MiB/s  (%.1f ms per segment)", vaultRate,
                    stored.reduce(0, +) / Double(count) * 1000))
            print(
                String(
                    format: "ratio vault / baseline: %.2f  (goal ≥ 0.80: %@)", vaultRate / rawRate,
                    vaultRate / rawRate >= 0.8 ? "met" : "NOT met"))
        }

        let segments = 1_000_000
        print("== retention sweep of an index of \(segments) segments (20 cameras, 6 s each, 50 % past retention) ==")
        let sweepRoot = root + "/sweep"
        let sweepConfiguration = VaultConfiguration.standard(stateDirectory: sweepRoot, environment: [:])
        try Vault.initialise(sweepConfiguration)
        let sweepVault = try Vault(configuration: sweepConfiguration, schedule: Schedule())
        // 1,000,000 × 6 s over 20 cameras = 50,000 segments per camera ≈ 3.5 days each; retention 7 d.
        let now = Date(timeIntervalSince1970: 1_764_000_000)
        let populateStart = ContinuousClock.now
        try await sweepVault.populateSyntheticIndex(
            segments: segments, cameras: 20, endingAt: now.addingTimeInterval(-5.2 * 86_400))
        print(String(format: "populated in %.1f s", seconds(ContinuousClock.now - populateStart)))
        let planStart = ContinuousClock.now
        let plan = try await sweepVault.retentionPlan(at: now)
        let planTime = seconds(ContinuousClock.now - planStart)
        let applyStart = ContinuousClock.now
        let report = try await sweepVault.apply(plan)
        let applyTime = seconds(ContinuousClock.now - applyStart)
        print(
            String(
                format:
                    "plan: %.2f s for %d expiring segments; apply: %.2f s (%d segments, %d keys destroyed); total %.2f s (%.0f segments/s)",
                planTime, plan.segmentCount, applyTime, report.segmentsDestroyed, report.keysDestroyed,
                planTime + applyTime,
                Double(report.segmentsDestroyed) / (planTime + applyTime)))
    }

    static func seconds(_ duration: Duration) -> Double {
        duration.inSeconds
    }
}
