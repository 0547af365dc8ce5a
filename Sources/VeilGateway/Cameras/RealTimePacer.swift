/// Plays a file at the speed it was filmed, like a camera: each frame waits until its time has come on the wall clock.
///
/// A pipeline that falls more than a second behind (a slow machine, a long detection) starts the clock again from
/// the frame in hand instead of rushing to catch up, so a file never plays faster than real time.
struct RealTimePacer {
    private var anchor: (start: ContinuousClock.Instant, time: Double)?

    /// Waits for the frame at stream time `time`. Returns true when the clock was started again because the pipeline
    /// had fallen behind (counted as a resync).
    mutating func wait(for time: Double) async throws -> Bool {
        let now = ContinuousClock.now
        if let (start, startTime) = anchor, case let due = start + .seconds(time - startTime), due > now - .seconds(1) {
            if due > now { try await Task.sleep(until: due) }
            return false
        }
        let resynced = anchor != nil
        anchor = (now, time)  // the first frame, or more than a second behind
        return resynced
    }
}
