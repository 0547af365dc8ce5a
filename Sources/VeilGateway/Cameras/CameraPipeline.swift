import Foundation
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization
public import VeilCore
import VeilFederation
public import VeilMedia
public import VeilVault
public import VeilVision

/// One camera inside the gateway: its feed in (reconnecting with back-off, or a peer site's camera relayed while
/// someone here watches it), paced like a camera when it is a file, and each frame through the camera's
/// ``CameraFrameProcessor`` — masks, detection and tracking once, one redacted H.264 encode per audience — out to
/// three sinks: live segments (``LiveSegmentSink``), recordings (``RecordingSink``) and tracks with their ids
/// (``TrackSink``).
///
/// Live renditions follow demand: the live sink says which redactions partners asked for lately, and two partners
/// with the same grant share one encode. Recording keeps the renditions the policy stores — original footage where the
/// camera keeps it, and the default redaction — every few live segments of them, with their initialisation segment,
/// as one file; a live rendition with the same redaction is the same encode. The whole pipeline runs on a thread of
/// its own (``DedicatedThreadExecutor``), never on the cooperative pool.
public struct CameraPipeline: Service {
    public struct Settings: Sendable {
        /// Seconds per HLS segment (each starts with a keyframe).
        public var segmentDuration = 2.0
        /// Detect on every Nth frame; the tracker keeps boxes, growing, in between.
        public var detectEvery = 5
        /// Cover the heads of detected people (wide shots with faces too small to detect).
        public var headsOfPeople = true
        /// Seconds behind real time past which the camera puts off its detections until it has caught up, so that it
        /// never falls further behind for want of CPU: the detection rate follows what the cores can give, every frame
        /// is encoded, and the tracker keeps every cover meanwhile. An alert can be no earlier than the frame it is
        /// seen in is handled, so this slack is most of an alert's delay: at four cameras on two cores 0.2 s gave
        /// frame-to-alert p99 of 440–630 ms, 0.1 s gives 330–420 ms, with as many detection passes a second (the
        /// cores, not the slack, set how many there are). `make bench` (`VeilBench cameras`) measures both.
        public var lagTolerance = 0.1
        /// Threads decoding the camera's video (0: FFmpeg's choice, one per core). One: each camera is a thread of its
        /// own, and a gateway has more cameras than cores — a decoder of its own per core and camera only adds threads
        /// contending for the same cores (four 720p cameras on two cores fell behind with FFmpeg's choice).
        public var decoderThreads = 1
        public var encoder = EncoderSettings(preset: "veryfast", crf: 23, keyframeInterval: 2)

        public init() {}
    }

    /// What the camera records: each category with the redaction it is recorded with (none for original footage), in
    /// files of about `segmentDuration` seconds.
    public struct Recording: Sendable {
        public var categories: [DataCategory: RedactionSpec]
        /// Sound, recorded as it came in files of its own (category `audio`), where the camera takes it and the policy
        /// keeps it; otherwise it is dropped at the demuxer.
        public var keepsAudio: Bool
        public var segmentDuration: Double
        public var sink: any RecordingSink
        /// For a camera that keeps an unmask layer beside its redacted video: the two approvers it is sealed to.
        public var unmaskApprovers: [UnmaskApprover]

        public init(
            categories: [DataCategory: RedactionSpec], keepsAudio: Bool = false, segmentDuration: Double = 6,
            sink: any RecordingSink, unmaskApprovers: [UnmaskApprover] = []
        ) {
            self.unmaskApprovers = unmaskApprovers
            self.categories = categories
            self.keepsAudio = keepsAudio
            self.segmentDuration = segmentDuration
            self.sink = sink
        }
    }

    public let camera: CameraID
    /// The address with credentials, if any: never logged (``redactedAddress(_:)`` is).
    public let address: String
    /// A peer site's camera instead of an address: followed only while partners here watch it (see ``CameraFeed``).
    public let peer: CameraFeed.PeerCamera?
    /// A file plays in real time, like a camera, and loops (for demos and tests).
    public let paced: Bool
    public let live: any LiveSegmentSink
    public let models: VisionModels
    public let settings: Settings
    /// Nil for a camera nothing is recorded of, and always for a peer's camera (the peer keeps its own footage).
    public let recording: Recording?
    /// Where the tracks go (the camera's analytics); nil for a camera without analytics, and for a peer's camera.
    public let tracks: (any TrackSink)?
    /// The policy's privacy masks for the camera, painted over every frame before anything else reads it.
    public let masks: [PrivacyMasks.Polygon]
    /// Where the pipeline reports its state, frame rate and detections (the console's camera status); nil for none.
    public var status: CameraStatusBoard?
    public let logger: Logger

    public init(
        camera: CameraID, address: String, peer: CameraFeed.PeerCamera? = nil, paced: Bool, live: any LiveSegmentSink,
        models: VisionModels = VisionModels(), settings: Settings = Settings(), recording: Recording? = nil,
        tracks: (any TrackSink)? = nil, masks: [PrivacyMasks.Polygon] = [], logger: Logger
    ) {
        self.camera = camera
        self.address = address
        self.peer = peer
        self.paced = paced
        self.live = live
        self.models = models
        self.settings = settings
        self.recording = peer == nil ? recording : nil
        self.tracks = peer == nil ? tracks : nil
        self.masks = masks
        self.logger = logger
    }

    /// What makes two pipelines of one camera the same: source, recording, analytics and masks (compared in memory
    /// only — the address may hold credentials).
    var fingerprint: String {
        let stored =
            (recording?.categories ?? [:]).map { "\($0.key.rawValue)=\($0.value)" }.sorted()
            + (recording?.keepsAudio == true ? ["audio"] : [])
        return [
            address, peer.map { "\($0.site.id)/\($0.camera)" } ?? "", "\(paced)", "\(stored)",
            tracks?.fingerprint ?? "",
            "\(masks.map(\.points))",
        ]
        .joined(separator: "|")
    }

    public func run() async throws {
        let executor = DedicatedThreadExecutor(name: "camera \(camera.rawValue)")
        defer { executor.shutdown() }
        let stopping = StopFlag()
        do {
            try await cancelWhenGracefulShutdown {
                try await withTaskCancellationHandler {
                    try await withTaskExecutorPreference(executor) { try await ingest(stopping: stopping) }
                } onCancel: {
                    stopping.set()
                }
            }
        } catch is CancellationError {
        } catch {
            // A pipeline never takes the gateway down: log, and keep the slot until shutdown.
            logger.error("camera pipeline stopped", metadata: ["camera": "\(camera.rawValue)", "error": "\(error)"])
            live.retire(camera: camera)
            try? await gracefulShutdown()
        }
    }

    private func ingest(stopping: StopFlag) async throws {
        let options = SourceOptions(
            decoderThreads: settings.decoderThreads, interrupt: { stopping.isSet },
            keepAudio: recording?.keepsAudio == true || tracks?.hearsAudio == true)
        let onState = connectionStateReporter()
        var processor = CameraFrameProcessor(
            camera: camera, settings: settings, models: models, recording: recording, tracks: tracks,
            masks: masks, logger: logger)
        guard let peer else {
            try await run(LiveSource(address: address, options: options, onState: onState), processor: &processor)
            return
        }
        // A peer's camera costs the peer an encode and this site a decode: follow it only while someone here watches.
        let camera = self.camera, live = self.live, address = self.address
        let unwatched: @Sendable () -> Bool = { live.renditionsWanted(for: camera).isEmpty }
        while true {
            while unwatched() { try await Task.sleep(for: .milliseconds(250)) }
            logger.info(
                "relaying a peer's camera", metadata: ["camera": "\(camera.rawValue)", "peer": "\(peer.site.id)"])
            let source = LiveSource(name: address, options: options, onState: onState) {
                // Between attempts (the peer refusing, say) nobody may be watching any more: then stop asking the peer.
                if unwatched() { throw Unwatched() }
                do {
                    let reader = try PeerStreamReader(
                        peer: peer.site, camera: peer.camera, stopping: { stopping.isSet || unwatched() })
                    return try MediaSource(reading: reader, name: address, options: options)
                } catch let error as MediaError {
                    throw error
                } catch {
                    throw MediaError(.openFailed, "cannot follow \(address): \(error)")  // retried with back-off
                }
            }
            do {
                try await run(source, processor: &processor, untilUnwatched: true)
            } catch is Unwatched {}
            logger.info("peer camera no longer watched", metadata: ["camera": "\(camera.rawValue)"])
            // The next connection's clock starts again: so do the encodes (segment numbers carry on).
            processor = CameraFrameProcessor(
                camera: camera, settings: settings, models: models, recording: nil, tracks: nil, masks: masks,
                logger: logger, sequence: processor.sequence + 1)
        }
    }

    /// Logs the feed's connection state and keeps the connected gauge; a broken feed interrupts the live segments.
    private func connectionStateReporter() -> @Sendable (LiveSource.State) -> Void {
        let camera = self.camera, live = self.live, logger = self.logger, status = self.status
        let connected = Gauge(label: "veilgate_camera_connected", dimensions: [("camera", camera.rawValue)])
        return { state in
            switch state {
            case .connecting(let attempt) where attempt == 1:
                status?.connection(camera, state: "connecting")
                logger.info("camera connecting", metadata: ["camera": "\(camera.rawValue)"])
            case .connecting:
                break
            case .streaming:
                connected.record(1)
                status?.connection(camera, state: "streaming")
                logger.info("camera streaming", metadata: ["camera": "\(camera.rawValue)"])
            case .waiting(let delay, let reason):
                connected.record(0)
                status?.connection(camera, state: "unavailable")
                live.interrupt(camera: camera)
                logger.warning(
                    "camera unavailable",
                    metadata: ["camera": "\(camera.rawValue)", "reason": "\(reason)", "retry-in": "\(delay)"])
            }
        }
    }

    /// Feeds the source's frames through the processor; with `untilUnwatched`, returns once no partner watches.
    private func run(
        _ source: LiveSource, processor: inout CameraFrameProcessor, untilUnwatched: Bool = false
    ) async throws {
        var pacer = RealTimePacer()
        var lag = LagMeter(tolerance: settings.lagTolerance)
        // Frames per second is the rate of the first; the second counts a paced file falling over a second behind.
        let frames = Counter(label: "veilgate_camera_frames_total", dimensions: [("camera", camera.rawValue)])
        let resyncs = Counter(label: "veilgate_camera_resyncs_total", dimensions: [("camera", camera.rawValue)])
        let lagGauge = Gauge(label: "veilgate_camera_lag_seconds", dimensions: [("camera", camera.rawValue)])
        do {
            var first = true
            for try await frame in source {
                if paced, try await pacer.wait(for: frame.time) { resyncs.increment() }
                let wanted = live.renditionsWanted(for: camera)
                if untilUnwatched, wanted.isEmpty { return }
                lagGauge.record(lag.measure(frame.time))
                try processor.process(frame, wanted: wanted, live: live, behind: lag.isBehind)
                if first {
                    // The first frame loads the networks, runs each for the first time and looks at every tile: a
                    // second or more, once. The clocks start after it, so that a camera does not begin behind.
                    first = false
                    pacer = RealTimePacer()
                    lag = LagMeter(tolerance: settings.lagTolerance)
                    processor.startClockAgain()
                }
                frames.increment()
                status?.frame(camera, detected: processor.detectedThisFrame, objects: processor.objectsInView)
                await processor.storeRecordings()
            }
        } catch {
            // Shutting down (or failing): what is recorded so far goes to the recording sink first.
            processor.finishRecordings()
            await processor.storeRecordings()
            throw error
        }
    }
}

/// Ends a peer camera's connection attempts once no partner here watches it.
private struct Unwatched: Error {}

/// Set when the pipeline is cancelled; libavformat's interrupt callback reads it while it waits on the network.
private final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}
