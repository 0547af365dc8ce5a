import Foundation
import Synchronization
public import VeilAnalytics
public import VeilCore
public import VeilVision

/// A camera's analytics as its pipeline's ``TrackSink``: the people the tracker follows go to the camera's
/// ``CameraAnalytics`` (zones, lines, loitering, crowds, running); the alerts it raises go to `raise` (the alert
/// broker's journal, which shares them like any other), and its minute counts to `record` — the closed minutes, and the
/// one in progress every few seconds (written again as it grows).
///
/// A new analytic is added in `VeilAnalytics` (see docs/analytics.md); this sink needs no change for it.
public final class CameraAnalyticsSink: TrackSink {
    public let setup: CameraAnalytics.Setup
    private let raise: @Sendable (Alert) -> Void
    private let record: @Sendable ([MinuteCount]) -> Void
    private let state = Mutex<State>(State())

    private struct State {
        /// Made at the first frame: alerts carry wall-clock times from the pipeline's origin.
        var analytics: CameraAnalytics?
        /// When the counts were last written (stream time).
        var countsWritten = -Double.infinity
    }

    public init(
        setup: CameraAnalytics.Setup, raise: @escaping @Sendable (Alert) -> Void,
        record: @escaping @Sendable ([MinuteCount]) -> Void = { _ in }
    ) {
        self.setup = setup
        self.raise = raise
        self.record = record
    }

    public func observe(_ frame: TrackedFrame) {
        let people = TrackedObject.people(in: frame.tracks, width: frame.width, height: frame.height)
        let observation = Observation(
            time: frame.time, objects: people,
            aspectRatio: Double(frame.width) / Double(max(1, frame.height)))
        let setup = self.setup
        let (alerts, counts) = state.withLock { state -> ([Alert], [MinuteCount]?) in
            var analytics = state.analytics ?? CameraAnalytics(setup, origin: frame.origin)
            let alerts = analytics.observe(observation)
            let closed = analytics.takeMinuteCounts()
            var counts: [MinuteCount]?
            if !closed.isEmpty || frame.time - state.countsWritten >= 5 || frame.time < state.countsWritten {
                counts = closed + analytics.countsInProgress
                state.countsWritten = frame.time
            }
            state.analytics = analytics
            return (alerts, counts)
        }
        for alert in alerts { raise(alert) }
        if let counts { record(counts) }
    }

    public var fingerprint: String {
        "\(setup.analytics.map(\.rawValue).sorted()) \(setup.zones.map { "\($0.id)\($0.polygon)" }) "
            + "\(setup.lines.map { "\($0.id)\($0.from)\($0.to)" }) \(setup.thresholds) "
            + "\(setup.zoneThresholds.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key)\($0.value)" })"
    }
}

extension TrackedObject {
    /// The people a redaction tracker follows in a `width` × `height` frame, normalised, for the analytics: tracks seen
    /// lately only (a lost track's grown cover is redaction's business, not a person's place), one per person
    /// (``TrackedObject/distinct(_:)``).
    public static func people(in tracked: [RedactionTracker.Covered], width: Int, height: Int) -> [TrackedObject] {
        let width = Double(width), height = Double(height)
        return distinct(
            tracked.filter { $0.kind == .persons && $0.unseenFor <= 0.5 }.sorted { $0.unseenFor < $1.unseenFor }.map {
                TrackedObject(
                    track: $0.track, x: $0.box.x1 / width, y: $0.box.y1 / height, width: $0.box.width / width,
                    height: $0.box.height / height)
            })
    }
}
