import Synchronization

/// `work`'s result, or nil once `limit` has passed without one. The caller goes on at the deadline, and the work is
/// cancelled; work that does not check for cancellation finishes unobserved in the background.
/// `executor`: where the work and its timer run (nil: the global executor) — a TLS verifier keeps them off the pool.
func withDeadline<T: Sendable>(
    _ limit: Duration, executor: (any TaskExecutor)? = nil, _ work: @escaping @Sendable () async -> T
) async -> T? {
    let state = DeadlineState()
    let claim: @Sendable () -> Bool = {
        state.resumed.withLock { done in
            defer { done = true }
            return !done
        }
    }
    return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        let worker = Task(executorPreference: executor) {
            let value = await work()
            if claim() { continuation.resume(returning: value) }
            state.timer.withLock { $0?.cancel() }
        }
        let sleeper = Task(executorPreference: executor) {
            do { try await Task.sleep(for: limit) } catch { return }  // cancelled: the work answered first
            if claim() {
                continuation.resume(returning: nil)
                worker.cancel()
            }
        }
        state.timer.withLock { $0 = sleeper }
    }
}

/// Who answered first, and the timer to stop when the work did.
private final class DeadlineState: Sendable {
    let resumed = Mutex(false)
    let timer = Mutex<Task<Void, Never>?>(nil)
}
