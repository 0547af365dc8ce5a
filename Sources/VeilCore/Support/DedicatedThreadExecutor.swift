import Foundation

/// A task executor with one thread of its own, for work that must neither hold nor wait for Swift's cooperative pool
/// (one thread per core). Media work: reading a camera blocks in libavformat, and a pipeline decodes, detects and
/// encodes for as long as the gateway runs — on the pool that would starve every other task. TLS client verification:
/// a handshake must not wait for a pool that long work (or a test suite's blocking tests) keeps busy. With this
/// executor preferred (`withTaskExecutorPreference(executor) { … }`, `Task(executorPreference:)`), the async code and
/// every synchronous call in it run here instead (docs/architecture.md).
public final class DedicatedThreadExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked Sendable: `jobs` and `stopped` are only touched under `condition`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false

    public init(name: String) {
        let thread = Thread { [self] in runJobs() }
        thread.name = name
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets the thread end once its queue is empty. Call after the last task preferring it has finished.
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func runJobs() {
        while true {
            condition.lock()
            while jobs.isEmpty, !stopped { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

extension DedicatedThreadExecutor {
    /// Runs a long piece of media work — decoding, detecting, encoding the footage of one request — on a thread of its
    /// own, ended when the work is: like a camera pipeline, it then never holds a thread of the cooperative pool for
    /// seconds at a time (the gateway's TLS handshakes and requests, or a test suite's other tests, keep theirs).
    public static func run<T>(named name: String, _ body: () async throws -> T) async throws -> T {
        let executor = DedicatedThreadExecutor(name: name)
        defer { executor.shutdown() }
        return try await withTaskExecutorPreference(executor) { try await body() }
    }
}
