import VeilCore

/// How far behind real time a camera's frames are handled: the wall time since the first frame, less the stream time
/// since it. A live camera's frames queue in the socket while the pipeline is busy; a paced file's wait in the pacer,
/// which starts its clock again past a second behind.
///
/// Started again whenever a frame arrives early (the camera's clock runs a little fast, or the pipeline waited for it)
/// and past a second behind (the pacer has started its clock again; a live feed's old frames are history), so the lag
/// is always measured from the last moment the pipeline was on time.
struct LagMeter {
    /// Behind by more than this (seconds), the camera is behind (``isBehind``).
    let tolerance: Double
    private var anchor: (start: ContinuousClock.Instant, time: Double)?
    private(set) var lag = 0.0

    init(tolerance: Double) { self.tolerance = tolerance }

    /// Takes the frame at stream time `time` in, just before it is handled; returns the lag in seconds.
    @discardableResult
    mutating func measure(_ time: Double, now: ContinuousClock.Instant = .now) -> Double {
        if let (start, startTime) = anchor, time >= startTime {
            let behind = (now - start).inSeconds - (time - startTime)
            if behind >= 0, behind <= 1 {
                lag = behind
                return lag
            }
        }
        anchor = (now, time)
        lag = 0
        return lag
    }

    var isBehind: Bool { lag > tolerance }
}
