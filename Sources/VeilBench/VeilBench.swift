import Foundation
import VeilCore
import VeilPolicy

/// `make bench`: Veilgate's performance goals, each measured against a baseline in the same run.
/// Prints figures; asserts nothing (tests never assert wall-clock times).
@main
enum VeilBench {
    static func main() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let selected = arguments.isEmpty ? ["policy", "vault", "media", "federation"] : arguments
        for name in selected {
            switch name {
            case "policy": try PolicyBenchmark.run()
            case "vault": try await VaultBenchmark.run()
            case "media": try await MediaBenchmark.run()
            case "federation": try await FederationBenchmark.run()
            case "cameras": try await CamerasBenchmark.run()
            case "detectors": try await DetectorCostBenchmark.run()
            case "unmask": try await UnmaskBenchmark.run()
            default:
                FileHandle.standardError.write(
                    Data(
                        "unknown benchmark '\(name)'; available: policy, vault, media, federation, cameras, detectors, unmask\n"
                            .utf8))
                exit(2)
            }
        }
    }
}

/// Issue goal: a policy of 500 cameras × 50 partners decides ≥ 1,000,000 requests per second on one core.
enum PolicyBenchmark {
    static func run() throws {
        let cameras = 500, partners = 50
        print("== policy decisions: \(cameras) cameras × \(partners) partners, one core ==")
        let text = PolicyGenerator.policy(cameras: cameras, partners: partners)
        let now = Date(timeIntervalSince1970: 1_780_315_200)
        let compileStart = ContinuousClock.now
        let policy = try PolicyLoader.compile(data: Data(text.utf8), file: "bench.yaml", now: now)
        let compileTime = ContinuousClock.now - compileStart
        print("policy: \(text.utf8.count / 1024) KiB YAML, parsed + linted + compiled in \(format(compileTime))")

        var generator = SystemRandomNumberGenerator()
        let actions: [SharingAction] = [.live, .clip, .alert(.loitering), .alert(.crowdCount), .counts]
        let requests: [AccessRequest] = (0..<100_000).map { _ in
            // Times spread over a week so time windows open and close; 1 % unknown partners.
            let at = now.addingTimeInterval(Double(Int.random(in: 0..<604_800, using: &generator)))
            let partner =
                Int.random(in: 0..<100, using: &generator) == 0
                ? PartnerID("stranger") : PartnerID("partner-\(Int.random(in: 0..<partners, using: &generator))")
            return AccessRequest(
                partner: partner, camera: CameraID("camera-\(Int.random(in: 0..<cameras, using: &generator))"),
                action: actions.randomElement(using: &generator)!, at: at,
                footageStart: at.addingTimeInterval(-Double(Int.random(in: 0..<400_000, using: &generator))),
                zone: ZoneID("zone-\(Int.random(in: 0..<cameras, using: &generator))"))
        }

        // Baseline: the least any access check can do, one hash look-up in a precomputed allow-list.
        var allowList = Set<String>()
        for request in requests where policy.decide(request).isAllowed {
            allowList.insert("\(request.partner)|\(request.camera)|\(request.action)")
        }
        let keys = requests.map { "\($0.partner)|\($0.camera)|\($0.action)" }
        let baseline = measure("baseline: allow-list Set<String> look-up") { index in
            allowList.contains(keys[index % keys.count])
        }

        let full = measure("decide(AccessRequest): ids resolved + full evaluation") { index in
            policy.decide(requests[index % requests.count]).isAllowed
        }
        let resolved = requests.compactMap { try? policy.resolve($0).get() }
        let fast = measure("decide(ResolvedRequest): full evaluation") { index in
            policy.decide(resolved[index % resolved.count]).isAllowed
        }
        let allowed = requests.filter { policy.decide($0).isAllowed }.count
        print("mix: \(allowed * 100 / requests.count) % of requests allowed")
        print(
            String(
                format: "ratio full / baseline: %.2f;  goal 1,000,000/s: %@ (%.2f× the goal)",
                full / baseline, full >= 1_000_000 ? "met" : "NOT met", full / 1_000_000))
        print(String(format: "ratio resolved / baseline: %.2f", fast / baseline))
    }

    /// Runs `body` repeatedly for about two seconds after a warm-up and prints the rate.
    static func measure(_ label: String, _ body: (Int) -> Bool) -> Double {
        var sink = 0
        for index in 0..<50_000 where body(index) { sink &+= 1 }
        let clock = ContinuousClock()
        var iterations = 0
        let start = clock.now
        var elapsed: Duration = .zero
        while elapsed < .seconds(2) {
            for index in iterations..<(iterations + 100_000) where body(index) { sink &+= 1 }
            iterations += 100_000
            elapsed = clock.now - start
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = Double(iterations) / seconds
        let padded = label.padding(toLength: 58, withPad: " ", startingAt: 0)
        print(padded + String(format: " %12.0f /s  (%5.0f ns each)", rate, 1e9 / rate) + (sink == -1 ? "!" : ""))
        return rate
    }

    static func format(_ duration: Duration) -> String {
        let milliseconds = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return String(format: "%.0f ms", milliseconds)
    }
}
