import VeilCore

/// Runs a CPU-heavy test — decoding real footage, running the detectors, driving the `veilgate` binary — on a thread of
/// its own, one such test at a time.
///
/// Why: Swift Testing runs synchronous tests on the cooperative pool, which has one thread per core — two on the CI
/// machine. Two heavy tests there held both threads for minutes, and every test that talks TLS, streams or waits on a
/// timer starved behind them (a CI run saw read timeouts and a live-source test over its time limit after 280 s in
/// which not even the pure policy tests got a thread). Off the pool and one at a time, heavy work takes one core at
/// most and the pool stays free for everything else.
public enum HeavyTest {
    /// The gate: one heavy test runs, the others wait without holding a thread.
    private actor Gate {
        private var busy = false
        private var waiting: [CheckedContinuation<Void, Never>] = []

        func enter() async {
            guard busy else {
                busy = true
                return
            }
            await withCheckedContinuation { waiting.append($0) }
        }

        func leave() {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
    }

    private static let gate = Gate()

    /// Runs `body` once the gate is free, on a thread of its own (``DedicatedThreadExecutor``).
    public static func run<T>(_ name: String = #function, _ body: () async throws -> T) async throws -> T {
        await gate.enter()
        do {
            let value = try await DedicatedThreadExecutor.run(named: "test \(name)", body)
            await gate.leave()
            return value
        } catch {
            await gate.leave()
            throw error
        }
    }
}
