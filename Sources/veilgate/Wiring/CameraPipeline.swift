import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VeilCore
import VeilFederation
import VeilMedia
import VeilVision

/// One camera inside the gateway: its feed in (reconnecting with back-off), its people, faces, plates and screens
/// detected and tracked once, and one redacted H.264 encode per audience watching it live, muxed as fragmented
/// MP4 in memory and cut into HLS segments on the camera's clock for ``LiveFeeds``.
///
/// Renditions follow demand: ``LiveFeeds`` says which redactions partners asked for in the last minute, so a
/// camera nobody watches is only decoded, and two partners with the same grant share one encode. The whole
/// pipeline runs on a thread of its own (``DedicatedThreadExecutor``), never on the cooperative pool.
///
/// Fails closed: when detection fails on a frame, redacted renditions skip that frame rather than show it.
struct CameraPipeline: Service {
    struct Settings: Sendable {
        /// Seconds per HLS segment (each starts with a keyframe).
        var segmentDuration = 2.0
        /// Detect on every Nth frame; the tracker keeps boxes, growing, in between.
        var detectEvery = 5
        /// Cover the heads of detected people (wide shots with faces too small to detect).
        var headsOfPeople = true
        var encoder = EncoderSettings(preset: "veryfast", crf: 23, keyframeInterval: 2)
    }

    let camera: CameraID
    /// The address with credentials, if any: never logged (``redactedAddress`` is).
    let address: String
    /// A file plays in real time, like a camera, and loops (for demos and tests).
    let paced: Bool
    let feeds: LiveFeeds
    let models: VisionModels
    let settings: Settings
    let logger: Logger

    func run() async throws {
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
            feeds.retire(camera: camera)
            try? await gracefulShutdown()
        }
    }

    private func ingest(stopping: StopFlag) async throws {
        let camera = self.camera, feeds = self.feeds, logger = self.logger
        let source = LiveSource(
            address: address, options: SourceOptions(interrupt: { stopping.isSet }),
            onState: { state in
                switch state {
                case .connecting(let attempt) where attempt == 1:
                    logger.info("camera connecting", metadata: ["camera": "\(camera.rawValue)"])
                case .connecting:
                    break
                case .streaming:
                    logger.info("camera streaming", metadata: ["camera": "\(camera.rawValue)"])
                case .waiting(let delay, let reason):
                    feeds.interrupt(camera: camera)
                    logger.warning("camera unavailable", metadata: ["camera": "\(camera.rawValue)", "reason": "\(reason)",
                                                                    "retry-in": "\(delay)"])
                }
            })
        var state = PipelineState(camera: camera, settings: settings, models: models, logger: logger)
        var pace: (start: ContinuousClock.Instant, time: Double)?
        for try await frame in source {
            if paced {
                let now = ContinuousClock.now
                if let (start, time) = pace, case let due = start + .seconds(frame.time - time), due > now - .seconds(1) {
                    if due > now { try await Task.sleep(until: due) }
                } else {
                    pace = (now, frame.time)  // first frame, or more than a second behind: start the clock again
                }
            }
            try state.process(frame, wanted: feeds.renditionsWanted(for: camera), feeds: feeds)
        }
    }
}

/// Set when the pipeline is cancelled; libavformat's interrupt callback reads it while it waits on the network.
private final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}

/// The mutable side of a camera pipeline, owned by its task.
private struct PipelineState {
    let camera: CameraID
    let settings: CameraPipeline.Settings
    let models: VisionModels
    let logger: Logger

    /// One audience's encode, continuous across segments.
    struct Rendition {
        let redactor: Redactor
        var stream: FragmentedMP4Stream?
        /// Time of the first frame in the current segment.
        var segmentStart: Double?
    }

    var renditions: [RedactionSpec: Rendition] = [:]
    /// Detection and tracking for the union of the renditions' classes (nil when none needs any).
    var tracking: RedactionPipeline?
    var sequence = 0
    var segmentStart: Double?
    var detectionFailures = 0

    init(camera: CameraID, settings: CameraPipeline.Settings, models: VisionModels, logger: Logger) {
        self.camera = camera
        self.settings = settings
        self.models = models
        self.logger = logger
    }

    mutating func process(_ frame: VideoFrame, wanted: Set<RedactionSpec>, feeds: LiveFeeds) throws {
        // The camera's segment clock ticks whether or not anyone watches, so numbers stay comparable.
        let start = segmentStart ?? frame.time
        segmentStart = start
        if frame.time - start >= settings.segmentDuration {
            cutSegment(at: frame.time, feeds: feeds)
            segmentStart = frame.time
        }
        if wanted != Set(renditions.keys) { try adopt(wanted) }
        guard !renditions.isEmpty else { return }

        var covered: [(kind: RedactionClass, box: Box)]? = []
        if let tracking {
            do {
                covered = try tracking.track(frame).map { ($0.kind, $0.box) }
            } catch {
                covered = nil
                detectionFailures += 1
                if detectionFailures == 1 || detectionFailures % 1000 == 0 {
                    logger.error("detection failed; redacted renditions skip the frame",
                                 metadata: ["camera": "\(camera.rawValue)", "failures": "\(detectionFailures)", "error": "\(error)"])
                }
            }
        }
        // Every audience gets its own picture before any is painted; pixels are copied only where painted.
        let specs = renditions.keys.sorted { $0.description < $1.description }
        var pictures: [VideoFrame] = []
        for index in specs.indices { pictures.append(index == specs.count - 1 ? frame : try frame.sharingPicture()) }
        for (spec, picture) in zip(specs, pictures) {
            guard let covered else {
                if spec.classes.isEmpty { try write(picture, for: spec, feeds: feeds) }  // unredacted needs no detection
                continue
            }
            renditions[spec]!.redactor.apply(to: picture, boxes: covered)
            try write(picture, for: spec, feeds: feeds)
        }
    }

    private mutating func write(_ picture: VideoFrame, for spec: RedactionSpec, feeds: LiveFeeds) throws {
        if renditions[spec]!.stream == nil {
            // The nominal rate only sizes libx264's rate control; timestamps come from the frames.
            let stream = try FragmentedMP4Stream(width: picture.width, height: picture.height, frameRate: 25, settings: settings.encoder)
            renditions[spec]!.stream = stream
            feeds.publish(initSegment: stream.initSegment, camera: camera, redaction: spec)
        }
        if renditions[spec]!.segmentStart == nil { renditions[spec]!.segmentStart = picture.time }
        try renditions[spec]!.stream!.write(picture)
    }

    /// Cuts every rendition's segment and publishes it under the camera's segment number.
    private mutating func cutSegment(at end: Double, feeds: LiveFeeds) {
        defer { sequence += 1 }
        for spec in Array(renditions.keys) {
            guard let stream = renditions[spec]!.stream, let start = renditions[spec]!.segmentStart else { continue }
            renditions[spec]!.segmentStart = nil
            do {
                if let bytes = try stream.cut() {
                    feeds.publish(.init(sequence: sequence, duration: max(0.001, end - start), bytes: bytes), camera: camera, redaction: spec)
                }
            } catch {
                // The encode is in an unknown state: the next frame starts a new one (and a new init segment).
                logger.error("segment failed", metadata: ["camera": "\(camera.rawValue)", "error": "\(error)"])
                renditions[spec]!.stream = nil
            }
        }
    }

    /// Starts and stops renditions to match demand, and rebuilds detection when the classes needed change.
    private mutating func adopt(_ wanted: Set<RedactionSpec>) throws {
        for spec in renditions.keys where !wanted.contains(spec) {
            renditions[spec] = nil
            logger.info("live rendition stopped", metadata: ["camera": "\(camera.rawValue)", "redaction": "\(spec)"])
        }
        for spec in wanted where renditions[spec] == nil {
            renditions[spec] = Rendition(redactor: Redactor(spec: spec))
            logger.info("live rendition started", metadata: ["camera": "\(camera.rawValue)", "redaction": "\(spec)"])
        }
        let classes = wanted.reduce(into: Set<RedactionClass>()) { $0.formUnion($1.classes) }
        guard classes != tracking?.redactor.spec.classes ?? [] else { return }
        if classes.isEmpty {
            tracking = nil
            return
        }
        let (detectors, warnings) = try models.detectors(for: classes, headsOfPeople: settings.headsOfPeople)
        for warning in warnings { logger.warning("\(warning)") }
        tracking = RedactionPipeline(spec: RedactionSpec(classes: classes), detectors: detectors,
                                     options: .init(detectEvery: settings.detectEvery, coverHeadsOfPeople: settings.headsOfPeople))
    }
}
