import Foundation
public import Logging
import Synchronization
public import VeilAnalytics
public import VeilCore
import VeilMedia
public import VeilVision

/// How a camera's alerts get their snapshot: the frame redacted with `redaction` — the least revealing profile of the
/// grants that send snapshots of the camera (`CompiledPolicy.snapshotRedaction(camera:)`) — kept in `store`.
public struct AlertSnapshotting: Sendable {
    public var redaction: RedactionSpec
    public var store: any AlertSnapshotStore

    public init(redaction: RedactionSpec, store: any AlertSnapshotStore) {
        self.redaction = redaction
        self.store = store
    }
}

/// A camera's analytics as its pipeline's ``TrackSink``: the people the tracker follows go to the camera's
/// ``CameraAnalytics`` (zones, lines, loitering, crowds, running); the alerts it raises go to `raise` (the alert
/// broker's journal, which shares them like any other), and its minute counts to `record` — the closed minutes, and the
/// one in progress every few seconds (written again as it grows).
///
/// A new analytic is added in `VeilAnalytics` (see docs/analytics.md); this sink needs no change for it.
public final class CameraAnalyticsSink: TrackSink {
    public let setup: CameraAnalytics.Setup
    /// Nil: the camera's alerts go without a snapshot (no grant sends one, or the policy keeps no events of it).
    public let snapshots: AlertSnapshotting?
    /// Watchlist matching on the camera's plates, where the policy runs `watchlist-match`.
    let plates: PlateWatch?
    /// The camera's vehicles, where the policy runs `vehicle-dwell`.
    let vehicles: VehicleWatch?
    private let raise: @Sendable (Alert) -> Void
    private let record: @Sendable ([MinuteCount]) -> Void
    private let logger: Logger
    private let state = Mutex<State>(State())

    private struct State {
        /// Made at the first frame: alerts carry wall-clock times from the pipeline's origin.
        var analytics: CameraAnalytics?
        /// When the counts were last written (stream time).
        var countsWritten = -Double.infinity
        /// For unattended objects: what came to rest in the picture.
        var still: StillObjectDetector?
        /// For loud sounds: the camera's sound, measured and judged.
        var sound: LoudSoundListener?
    }

    public convenience init(
        setup: CameraAnalytics.Setup, snapshots: AlertSnapshotting? = nil, raise: @escaping @Sendable (Alert) -> Void,
        record: @escaping @Sendable ([MinuteCount]) -> Void = { _ in },
        logger: Logger = Logger(label: "veilgate.analytics")
    ) {
        self.init(
            setup: setup, snapshots: snapshots, plates: nil, vehicles: nil, raise: raise, record: record,
            logger: logger)
    }

    init(
        setup: CameraAnalytics.Setup, snapshots: AlertSnapshotting?, plates: PlateWatch?, vehicles: VehicleWatch?,
        raise: @escaping @Sendable (Alert) -> Void, record: @escaping @Sendable ([MinuteCount]) -> Void,
        logger: Logger
    ) {
        self.plates = plates
        self.vehicles = vehicles
        self.setup = setup
        self.snapshots = snapshots
        self.logger = logger
        self.raise = raise
        self.record = record
    }

    public func observe(_ frame: TrackedFrame) {
        let people =
            TrackedObject.people(in: frame.tracks, width: frame.width, height: frame.height)
            + (vehicles?.vehicles(in: frame.picture, at: frame.time, width: frame.width, height: frame.height) ?? [])
        let setup = self.setup
        let (analysed, counts) = state.withLock { state -> ([Alert], [MinuteCount]?) in
            var stillObjects: [StillObject] = []
            if setup.analytics.contains(.unattendedObject), let picture = frame.picture {
                var still = state.still ?? StillObjectDetector()
                stillObjects = still.update(picture).map(StillObject.init)
                state.still = still
            }
            let observation = Observation(
                time: frame.time, objects: people, aspectRatio: Double(frame.width) / Double(max(1, frame.height)),
                stillObjects: stillObjects)
            var analytics = state.analytics ?? CameraAnalytics(setup, origin: frame.origin)
            analytics.origin = frame.origin  // the pipeline starts its clock again after its first frame
            var alerts = analytics.observe(observation)
            if setup.analytics.contains(.loudSound) {
                // Sound is measured in memory, window by window, and dropped; only the alert stays.
                var sound = state.sound ?? LoudSoundListener(camera: setup.camera)
                alerts += sound.alerts(for: frame.audio, origin: frame.origin)
                state.sound = sound
            }
            let closed = analytics.takeMinuteCounts()
            var counts: [MinuteCount]?
            if !closed.isEmpty || frame.time - state.countsWritten >= 5 || frame.time < state.countsWritten {
                counts = closed + analytics.countsInProgress
                state.countsWritten = frame.time
            }
            state.analytics = analytics
            return (alerts, counts)
        }
        if let counts { record(counts) }
        let alerts = analysed + (plates?.observe(frame) ?? [])
        guard !alerts.isEmpty else { return }
        guard let snapshots, let jpeg = Self.snapshot(of: frame, redaction: snapshots.redaction) else {
            for alert in alerts { raise(alert) }
            return
        }
        // The picture is stored before the alerts are raised, so every alert journaled with a reference can be served
        // (a few milliseconds later than without), off the camera's thread: a plain `Task {}` would inherit the
        // camera's executor preference and wait for the camera to pause between frames.
        let (raise, logger, camera) = (self.raise, self.logger, frame.camera)
        let time = frame.origin.addingTimeInterval(frame.time)
        Task(executorPreference: globalConcurrentExecutor) {
            var reference: String?
            do {
                reference = try await snapshots.store.store(
                    jpeg: jpeg, camera: camera, at: time, redaction: snapshots.redaction)
            } catch {
                logger.error(
                    "alert snapshot not kept; the alert goes without it",
                    metadata: ["camera": "\(camera.rawValue)", "error": "\(error)"])
            }
            for var alert in alerts {
                alert.snapshotID = reference
                raise(alert)
            }
        }
    }

    /// The frame redacted with `redaction`, as a JPEG: a copy of the frame is painted over every box the tracker covers
    /// in it (of the classes the profile hides), as a rendition with that profile would be. Nil without a picture or
    /// when it cannot be made — the alert then goes without one, never with an unredacted one.
    static func snapshot(of frame: TrackedFrame, redaction: RedactionSpec) -> Data? {
        guard let picture = frame.picture, let copy = try? picture.sharingPicture() else { return nil }
        Redactor(spec: redaction).apply(to: copy, boxes: frame.tracks.map { ($0.kind, $0.box) })
        return try? ImageWriter.jpeg(copy)
    }

    /// The camera's sound, where it runs `loud-sound` (the policy lints that its `audio:` allows it).
    public var hearsAudio: Bool { setup.analytics.contains(.loudSound) }

    /// People for the analytics, and plates where the camera matches them against watchlists.
    public var detects: Set<RedactionClass> { plates == nil ? [.persons] : [.persons, .plates] }

    public var fingerprint: String {
        "\(setup.analytics.map(\.rawValue).sorted()) \(setup.zones.map { "\($0.id)\($0.polygon)" }) "
            + "\(snapshots.map { "snapshots \($0.redaction)" } ?? "") \(plates == nil ? "" : "plates ")"
            + "\(vehicles == nil ? "" : "vehicles ")"
            + "\(setup.lines.map { "\($0.id)\($0.from)\($0.to)" }) \(setup.thresholds) "
            + "\(setup.zoneThresholds.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key)\($0.value)" })"
    }
}

extension TrackedObject {
    /// The people a redaction tracker follows in a `width` × `height` frame, normalised, for the analytics: tracks seen
    /// lately only (a lost track's grown cover is redaction's business, not a person's place), that the people network
    /// has recognised (a moving region the fallback alone found — a ghost of someone who left, fluttering tape, a group
    /// as one box — is covered but not counted: on vtest counting them put 6 people where 4 stood), one per person
    /// (``TrackedObject/distinct(_:)``).
    public static func people(in tracked: [RedactionTracker.Covered], width: Int, height: Int) -> [TrackedObject] {
        let width = Double(width), height = Double(height)
        return distinct(
            tracked.filter { $0.kind == .persons && $0.unseenFor <= 0.5 && $0.score > 0 }.sorted {
                $0.unseenFor < $1.unseenFor
            }.map {
                TrackedObject(
                    track: $0.track, x: $0.box.x1 / width, y: $0.box.y1 / height, width: $0.box.width / width,
                    height: $0.box.height / height)
            })
    }
}

extension StillObject {
    /// A still-object detector's region as the analytics take it.
    public init(_ region: StillObjectDetector.StillRegion) {
        self.init(
            id: region.id, x: region.x, y: region.y, width: region.width, height: region.height, since: region.since)
    }
}
