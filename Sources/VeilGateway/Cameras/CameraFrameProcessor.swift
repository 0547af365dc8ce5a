import Foundation
import Logging
import Metrics
import VeilCore
import VeilMedia
import VeilVision

/// What a camera pipeline does with each frame, owned by the pipeline's task: the camera's segment clock, its privacy
/// masks, detection and tracking, the renditions partners watch or the vault records, and the recording batches.
///
/// The order is the privacy order: masks are painted first (nothing downstream ever sees under them), then people,
/// faces, plates and screens are detected and tracked once for every audience, then each rendition gets its own copy
/// of the frame, painted as its redaction says. Fails closed: when detection fails on a frame, redacted renditions
/// skip that frame rather than show it.
struct CameraFrameProcessor {
    let camera: CameraID
    let settings: CameraPipeline.Settings
    let models: VisionModels
    let recording: CameraPipeline.Recording?
    let tracks: (any TrackSink)?
    /// Painted over each frame first: detectors, analytics, live renditions and recordings (raw too) never see under
    /// them.
    let masks: PrivacyMasks?
    let logger: Logger

    /// Vault categories by the redaction they are recorded with (fixed for the pipeline's life: asked on every frame).
    private let recorded: [RedactionSpec: [DataCategory]]
    private var renditions = RenditionSet()
    /// Detection and tracking for the union of the renditions' classes, and people for analytics (nil when none is
    /// needed).
    private var tracking: RedactionPipeline?
    private var audio: AudioRecordingBatch?
    /// The original pixels of what the redacted recording covers, for a camera that keeps an unmask layer.
    private var unmask: UnmaskLayerRecorder?
    /// Recorded files ready for the vault, in stream time.
    private var pending: [PendingRecording] = []
    /// The camera's segment number: it counts whether or not anyone watches, so numbers stay comparable.
    private(set) var sequence: Int
    private var segmentStart: Double?
    private var lastTime = 0.0
    /// How long the last frame lasts (the gap to the one before it): a segment cut at shutdown ends after its last
    /// frame, not at its start, so even a one-frame segment has a length.
    private var frameDuration = 0.04
    private var detectionFailures = 0
    /// Detection passes run, and frames on which a due one was put off because the camera was behind: the detection
    /// rate a camera achieves on the cores it shares.
    private let passesCounter: Counter
    private let deferredCounter: Counter
    /// Passes that looked for plates (the costliest network of the default profile's).
    private let platePassesCounter: Counter
    /// Wall-clock time of stream time 0, for the vault's dates and the analytics' alerts.
    private var origin: Date?

    init(
        camera: CameraID, settings: CameraPipeline.Settings, models: VisionModels, recording: CameraPipeline.Recording?,
        tracks: (any TrackSink)?, masks: [PrivacyMasks.Polygon], logger: Logger, sequence: Int = 0
    ) {
        self.camera = camera
        self.settings = settings
        self.models = models
        self.recording = recording
        self.tracks = tracks
        self.masks = masks.isEmpty ? nil : PrivacyMasks(polygons: masks)
        self.logger = logger
        self.sequence = sequence
        if let recording, recording.keepsAudio { audio = AudioRecordingBatch(duration: recording.segmentDuration) }
        if let recording, recording.unmaskApprovers.count == 2, let redaction = recording.categories[.redactedVideo] {
            unmask = UnmaskLayerRecorder(camera: camera, redaction: redaction, approvers: recording.unmaskApprovers)
        }
        var recorded: [RedactionSpec: [DataCategory]] = [:]
        for (category, redaction) in recording?.categories ?? [:] { recorded[redaction, default: []].append(category) }
        self.recorded = recorded
        passesCounter = Counter(
            label: "veilgate_camera_detection_passes_total", dimensions: [("camera", camera.rawValue)])
        deferredCounter = Counter(
            label: "veilgate_camera_detections_deferred_total", dimensions: [("camera", camera.rawValue)])
        platePassesCounter = Counter(
            label: "veilgate_camera_plate_passes_total", dimensions: [("camera", camera.rawValue)])
    }

    /// Handles one frame. `behind`: the camera is behind real time, so a detection due now waits until it has caught
    /// up (``RedactionPipeline/track(_:behind:)``): every frame is still encoded, under the covers the tracker keeps.
    /// Whether the last frame processed had a detection pass, and how many objects the tracker followed in it (for the
    /// console's camera status).
    private(set) var detectedThisFrame = false
    private(set) var objectsInView = 0

    mutating func process(
        _ frame: VideoFrame, wanted: Set<RedactionSpec>, live: any LiveSegmentSink, behind: Bool = false
    ) throws {
        detectedThisFrame = false
        if origin == nil { origin = Date().addingTimeInterval(-frame.time) }
        if frame.time > lastTime, lastTime > 0 { frameDuration = min(1, frame.time - lastTime) }
        lastTime = frame.time
        let start = segmentStart ?? frame.time
        segmentStart = start
        if frame.time - start >= settings.segmentDuration {
            cutSegment(at: frame.time, live: live)
            segmentStart = frame.time
        }
        if var batch = audio, !frame.audio.isEmpty {
            pending += batch.add(frame.audio, logger: logger, camera: camera)
            audio = batch
        }
        if !renditions.matches(wanted: wanted, recorded: recorded) || (tracks != nil && tracking == nil) {
            try adopt(wanted, live: live)
        }
        guard !renditions.isEmpty || tracks != nil else { return }
        masks?.apply(to: frame)

        var covered: [(kind: RedactionClass, box: Box)]? = []
        if let tracking {
            do {
                let (passes, deferred) = (tracking.detectionPasses, tracking.framesDeferred)
                let platePasses = tracking.passesPerClass[.plates] ?? 0
                let tracked = try tracking.track(frame, behind: behind)
                if tracking.detectionPasses > passes {
                    passesCounter.increment()
                    if (tracking.passesPerClass[.plates] ?? 0) > platePasses { platePassesCounter.increment() }
                }
                if tracking.framesDeferred > deferred { deferredCounter.increment() }
                covered = tracked.map { ($0.kind, $0.box) }
                detectedThisFrame = tracking.detectionPasses > passes
                objectsInView = tracked.count
                // Before any rendition paints the frame (the last one paints this very picture).
                unmask?.capture(tracked, from: frame)
                if let tracks, let origin {
                    tracks.observe(
                        TrackedFrame(
                            camera: camera, time: frame.time, origin: origin, width: frame.width, height: frame.height,
                            tracks: tracked, picture: frame, audio: frame.audio))
                }
            } catch {
                covered = nil
                detectionFailures += 1
                Counter(label: "veilgate_camera_frames_withheld_total", dimensions: [("camera", camera.rawValue)])
                    .increment()
                if detectionFailures == 1 || detectionFailures % 1000 == 0 {
                    logger.error(
                        "detection failed; redacted renditions skip the frame",
                        metadata: [
                            "camera": "\(camera.rawValue)", "failures": "\(detectionFailures)", "error": "\(error)",
                        ])
                }
            }
        }
        guard !renditions.isEmpty else { return }
        // Every audience gets its own picture before any is painted; pixels are copied only where painted.
        var pictures: [VideoFrame] = []
        for index in renditions.indices {
            pictures.append(index == renditions.indices.last ? frame : try frame.sharingPicture())
        }
        for (index, picture) in zip(renditions.indices, pictures) {
            if let covered {
                renditions[index].redactor.apply(to: picture, boxes: covered)
            } else if !renditions[index].redaction.classes.isEmpty {
                continue  // fail closed; an unredacted rendition needs no detection
            }
            if let initSegment = try renditions[index].encode(picture, settings: settings.encoder),
                renditions[index].live
            {
                live.publish(initSegment: initSegment, camera: camera, redaction: renditions[index].redaction)
            }
        }
    }

    /// Starts the camera's wall clock again from the frame just handled: called after the first frame, whose handling
    /// (the networks loaded and run for the first time) took a second or more, so that alerts and recordings are dated
    /// when their frames were played, not that much earlier.
    mutating func startClockAgain() {
        if origin != nil { origin = Date().addingTimeInterval(-lastTime) }
    }

    /// Hands the recorded files gathered so far to the recording sink (the pipeline's only await besides pacing).
    mutating func storeRecordings() async {
        guard let recording, !pending.isEmpty, let origin else { return }
        let ready = pending
        pending = []
        for file in ready {
            await recording.sink.store(
                RecordedSegment(
                    camera: camera, category: file.category, redaction: file.redaction,
                    start: origin.addingTimeInterval(file.start),
                    end: origin.addingTimeInterval(file.end), bytes: file.bytes))
        }
    }

    /// Turns whatever each batch holds into recorded files, however short (shutting down, or the feed ending).
    mutating func finishRecordings() {
        cutSegment(at: lastTime + frameDuration, live: nil)
        for index in renditions.indices {
            let rendition = renditions[index]
            addRecordings(
                renditions[index].recording?.take(
                    initSegment: rendition.initSegment, redaction: rendition.redaction, force: true) ?? [])
        }
        let (logger, camera) = (self.logger, self.camera)
        pending += audio?.take(force: true, logger: logger, camera: camera) ?? []
    }

    /// Cuts every rendition's segment, publishes it under the camera's segment number to live viewers, and adds it to
    /// the rendition's recording batch.
    private mutating func cutSegment(at end: Double, live: (any LiveSegmentSink)?) {
        defer { sequence += 1 }
        for index in renditions.indices {
            do {
                guard let (bytes, start) = try renditions[index].cut() else { continue }
                let rendition = renditions[index]
                if rendition.live {
                    live?.publish(
                        segment: LiveSegment(sequence: sequence, duration: max(0.001, end - start), bytes: bytes),
                        camera: camera,
                        redaction: rendition.redaction)
                }
                renditions[index].recording?.add(bytes, start: start, end: end)
                addRecordings(
                    renditions[index].recording?.take(
                        initSegment: rendition.initSegment, redaction: rendition.redaction,
                        force: false) ?? [])
            } catch {
                // What the batch holds belongs to this encode: it is stored with this encode's initialisation segment
                // before the encode starts again at the next frame.
                logger.error("segment failed", metadata: ["camera": "\(camera.rawValue)", "error": "\(error)"])
                let rendition = renditions[index]
                addRecordings(
                    renditions[index].recording?.take(
                        initSegment: rendition.initSegment, redaction: rendition.redaction,
                        force: true) ?? [])
                renditions[index].restartEncode()
            }
        }
    }

    /// Queues recorded files for the vault, and with each redacted one the unmask layer of the same time.
    private mutating func addRecordings(_ files: [PendingRecording]) {
        pending += files
        guard unmask != nil, let origin else { return }
        for file in files where file.category == .redactedVideo {
            do {
                if let layer = try unmask?.take(start: file.start, end: file.end, origin: origin) {
                    pending.append(layer)
                }
            } catch {
                // The redacted file is stored all the same; what it covers in that file cannot be unmasked.
                Counter(label: "veilgate_unmask_layers_failed_total", dimensions: [("camera", camera.rawValue)])
                    .increment()
                logger.error(
                    "unmask layer failed; the redacted recording is kept without it",
                    metadata: ["camera": "\(camera.rawValue)", "error": "\(error)"])
            }
        }
    }

    /// Matches the renditions to live demand and recording, and rebuilds detection when the classes needed change.
    private mutating func adopt(_ wanted: Set<RedactionSpec>, live: any LiveSegmentSink) throws {
        for change in renditions.adopt(
            wanted: wanted, recorded: recorded, segmentDuration: recording?.segmentDuration ?? 6)
        {
            switch change {
            case .started(let redaction, let isLive):
                logger.info(
                    isLive ? "live rendition started" : "recording started",
                    metadata: ["camera": "\(camera.rawValue)", "redaction": "\(redaction)"])
            case .stopped(let redaction):
                logger.info(
                    "live rendition stopped", metadata: ["camera": "\(camera.rawValue)", "redaction": "\(redaction)"])
            case .nowLive(let redaction, let initSegment):
                live.publish(initSegment: initSegment, camera: camera, redaction: redaction)
            }
        }
        // Analytics follow people: the person detector runs for them whatever the renditions need.
        let classes = renditions.classes.union(tracks?.detects ?? [])
        guard classes != tracking?.redactor.spec.classes ?? [] else { return }
        guard !classes.isEmpty else {
            tracking = nil
            return
        }
        let (detectors, warnings) = try models.detectors(for: classes, headsOfPeople: settings.headsOfPeople)
        for warning in warnings { logger.warning("\(warning)") }
        tracking = RedactionPipeline(
            spec: RedactionSpec(classes: classes), detectors: detectors,
            options: .init(detectEvery: settings.detectEvery, coverHeadsOfPeople: settings.headsOfPeople))
    }
}
