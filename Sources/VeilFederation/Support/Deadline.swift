import Synchronization

/// `work`'s result, or nil once `limit` has passed without one. The caller goes on at the deadline; work that does not
/// check for cancellation finishes unobserved in the background.
func withDeadline<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async -> T) async -> T? {
    let resumed = Mutex(false)
    let claim: @Sendable () -> Bool = { resumed.withLock { done in defer { done = true }; return !done } }
    return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        let timer = Task {
            do { try await Task.sleep(for: limit) } catch { return }  // cancelled: the work answered first
            if claim() { continuation.resume(returning: nil) }
        }
        Task {
            let value = await work()
            if claim() { continuation.resume(returning: value) }
            timer.cancel()
        }
    }
}
