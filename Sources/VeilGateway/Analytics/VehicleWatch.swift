import Synchronization
public import VeilAnalytics
public import VeilCore
public import VeilVision

/// The vehicles a camera running `vehicle-dwell` sees: the vehicle network (``VehicleDetector``) on a frame every
/// ``interval`` seconds — the analytic judges stays of minutes, and a look costs about 100 ms of a core (2 % of one
/// at one look every 5 s) — its sightings followed by a ``VehicleTracker``; the vehicles go to the camera's analytics
/// beside its people.
public final class VehicleWatch: Sendable {
    /// Seconds of video between two looks.
    public static let interval = 5.0
    private let detector: VehicleDetector
    private let state = Mutex<(tracker: VehicleTracker, lastLook: Double?)>((VehicleTracker(), nil))

    public init(detector: VehicleDetector) { self.detector = detector }

    /// The vehicles known at `time`, normalised; `picture` (when given) is looked at if a look is due.
    public func vehicles(in picture: (any YUVImage)?, at time: Double, width: Int, height: Int) -> [TrackedObject] {
        state.withLock { state in
            let due = state.lastLook.map { time - $0 >= Self.interval || time < $0 } ?? true
            if due, let picture, let sightings = try? detector.detect(in: picture) {
                state.lastLook = time
                let (width, height) = (Double(width), Double(height))
                state.tracker.update(
                    with: sightings.map {
                        TrackedObject(
                            track: 0, kind: .vehicle, x: $0.box.x1 / width, y: $0.box.y1 / height,
                            width: $0.box.width / width, height: $0.box.height / height)
                    }, at: time)
            }
            return state.tracker.vehicles(at: time)
        }
    }
}
