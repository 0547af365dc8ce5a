import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import VeilAnalytics
import VeilCore
import VeilFederation
import VeilMedia
import VeilVault
import VeilVision

/// One camera inside the gateway: its feed in (reconnecting with back-off), its people, faces, plates and screens
/// detected and tracked once, and one redacted H.264 encode per audience watching it live, muxed as fragmented
/// MP4 in memory and cut into HLS segments on the camera's clock for ``LiveFeeds``.
///
/// Live renditions follow demand: ``LiveFeeds`` says which redactions partners asked for in the last minute, and
/// two partners with the same grant share one encode. Recording (``Recording``) keeps the renditions the policy
/// stores — original footage where the camera keeps it, and the default redaction — and stores every few live
/// segments of them, with their initialisation segment, as one encrypted vault segment; a live rendition with
/// the same redaction is the same encode. The whole pipeline runs on a thread of its own
/// (``DedicatedThreadExecutor``), never on the cooperative pool.
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

    /// What the camera stores in the vault: each category with the redaction it is stored with (none for
    /// original footage), in segments of about `segmentDuration` seconds.
    struct Recording: Sendable {
        var vault: Vault
        var categories: [DataCategory: RedactionSpec]
        /// Sound, stored as it came in segments of its own (category `audio`), where the camera takes it and the
        /// policy keeps it; otherwise it is dropped at the demuxer.
        var keepsAudio = false
        var segmentDuration = 6.0
        /// The policy version in force, recorded with each segment.
        var policyVersion: @Sendable () -> String
    }

    /// What the camera's analytics run on, and where their alerts go (the alert broker's journal).
    struct Analytics: Sendable {
        var setup: CameraAnalytics.Setup
        var raise: @Sendable (Alert) -> Void
        /// Minute counts: closed minutes, and the one in progress every few seconds (written again as it grows).
        var record: @Sendable ([MinuteCount]) -> Void = { _ in }
    }

    let camera: CameraID
    /// The address with credentials, if any: never logged (``redactedAddress`` is).
    let address: String
    /// A peer site's camera instead of an address: followed only while partners here watch it (see ``CameraFeed``).
    let peer: CameraFeed.PeerCamera?
    /// A file plays in real time, like a camera, and loops (for demos and tests).
    let paced: Bool
    let feeds: LiveFeeds
    let models: VisionModels
    let settings: Settings
    let recording: Recording?
    /// Nil for a camera without analytics, and for a peer's camera.
    var analytics: Analytics? = nil
    /// The policy's privacy masks for the camera, painted over every frame before anything else reads it.
    var masks: [PrivacyMasks.Polygon] = []
    let logger: Logger

    /// What makes two pipelines of one camera the same: source, recording and analytics (compared in memory only — the
    /// address may hold credentials).
    var fingerprint: String {
        let stored = (recording?.categories ?? [:]).map { "\($0.key.rawValue)=\($0.value)" }.sorted()
            + (recording?.keepsAudio == true ? ["audio"] : [])
        let analysed = analytics.map { analytics in
            let setup = analytics.setup
            return "\(setup.analytics.map(\.rawValue).sorted()) \(setup.zones.map { "\($0.id)\($0.polygon)" }) "
                + "\(setup.lines.map { "\($0.id)\($0.from)\($0.to)" }) \(setup.thresholds) "
                + "\(setup.zoneThresholds.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key)\($0.value)" })"
        } ?? ""
        return [address, peer.map { "\($0.site.id)/\($0.camera)" } ?? "", "\(paced)", "\(stored)", analysed, "\(masks.map(\.points))"]
            .joined(separator: "|")
    }

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
        let options = SourceOptions(interrupt: { stopping.isSet }, keepAudio: peer == nil && recording?.keepsAudio == true)
        let onState: @Sendable (LiveSource.State) -> Void = { state in
                switch state {
                case .connecting(let attempt) where attempt == 1:
                    logger.info("camera connecting", metadata: ["camera": "\(camera.rawValue)"])
                case .connecting:
                    break
                case .streaming:
                    Gauge(label: "veilgate_camera_connected", dimensions: [("camera", camera.rawValue)]).record(1)
                    logger.info("camera streaming", metadata: ["camera": "\(camera.rawValue)"])
                case .waiting(let delay, let reason):
                    Gauge(label: "veilgate_camera_connected", dimensions: [("camera", camera.rawValue)]).record(0)
                    feeds.interrupt(camera: camera)
                    logger.warning("camera unavailable", metadata: ["camera": "\(camera.rawValue)", "reason": "\(reason)",
                                                                    "retry-in": "\(delay)"])
                }
            }
        // A peer's camera is never recorded here, whatever the caller passed: the peer keeps its own footage.
        var state = PipelineState(camera: camera, settings: settings, models: models, recording: peer == nil ? recording : nil,
                                  masks: masks,
                                  analytics: peer == nil ? analytics : nil, logger: logger)
        guard let peer else {
            let source = LiveSource(address: address, options: options, onState: onState)
            try await run(source, state: &state)
            return
        }
        // A peer's camera costs the peer an encode and this site a decode: follow it only while someone here watches.
        while true {
            while feeds.renditionsWanted(for: camera).isEmpty { try await Task.sleep(for: .milliseconds(250)) }
            logger.info("relaying a peer's camera", metadata: ["camera": "\(camera.rawValue)", "peer": "\(peer.site.id)"])
            let address = self.address
            let unwatched: @Sendable () -> Bool = { feeds.renditionsWanted(for: camera).isEmpty }
            let source = LiveSource(name: address, options: options, onState: onState) {
                // Between attempts (the peer refusing, say) nobody may be watching any more: then stop asking the peer.
                if unwatched() { throw Unwatched() }
                do {
                    let reader = try PeerStreamReader(peer: peer.site, camera: peer.camera, stopping: { stopping.isSet || unwatched() })
                    return try MediaSource(reading: reader, name: address, options: options)
                } catch let error as MediaError {
                    throw error
                } catch {
                    throw MediaError(.openFailed, "cannot follow \(address): \(error)")  // retried with back-off
                }
            }
            do {
                try await run(source, state: &state, untilUnwatched: true)
            } catch is Unwatched {}
            logger.info("peer camera no longer watched", metadata: ["camera": "\(camera.rawValue)"])
            // The next connection's clock starts again: so do the encodes (segment numbers carry on).
            state = PipelineState(camera: camera, settings: settings, models: models, recording: nil, masks: masks, logger: logger,
                                  sequence: state.sequence + 1)
        }
    }

    /// Feeds the source's frames through the pipeline; with `untilUnwatched`, returns once no partner watches.
    private func run(_ source: LiveSource, state: inout PipelineState, untilUnwatched: Bool = false) async throws {
        var pace: (start: ContinuousClock.Instant, time: Double)?
        // Frames per second is the rate of the first; the second counts a paced file falling over a second behind.
        let metrics = (frames: Counter(label: "veilgate_camera_frames_total", dimensions: [("camera", camera.rawValue)]),
                       behind: Counter(label: "veilgate_camera_resyncs_total", dimensions: [("camera", camera.rawValue)]))
        do {
            for try await frame in source {
                if paced {
                    let now = ContinuousClock.now
                    if let (start, time) = pace, case let due = start + .seconds(frame.time - time), due > now - .seconds(1) {
                        if due > now { try await Task.sleep(until: due) }
                    } else {
                        if pace != nil { metrics.behind.increment() }
                        pace = (now, frame.time)  // first frame, or more than a second behind: start the clock again
                    }
                }
                let wanted = feeds.renditionsWanted(for: camera)
                if untilUnwatched, wanted.isEmpty { return }
                try state.process(frame, wanted: wanted, feeds: feeds)
                metrics.frames.increment()
                await state.storeRecordings()
            }
        } catch {
            // Shutting down (or failing): what is recorded so far goes into the vault first.
            state.finishRecordings()
            await state.storeRecordings()
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
        /// Partners watch it live.
        var live = false
        /// Vault categories stored from it, and the live segments gathered for the next vault segment.
        var categories: [DataCategory] = []
        var gathered = Data()
        var gatheredFrom: Double?
        var gatheredTo = 0.0
    }

    /// A vault segment ready to store.
    struct PendingSegment {
        var bytes: Data
        var category: DataCategory
        var redaction: RedactionSpec
        var start: Double
        var end: Double
    }

    var renditions: [RedactionSpec: Rendition] = [:]
    /// Recorded sound since the last vault segment (compressed, as it came).
    var audio: [AudioPacket] = []
    var audioRefused = false
    /// Detection and tracking for the union of the renditions' classes (nil when none needs any).
    var tracking: RedactionPipeline?
    var sequence = 0
    var segmentStart: Double?
    var detectionFailures = 0
    let recording: CameraPipeline.Recording?
    var pending: [PendingSegment] = []
    /// Wall-clock time of stream time 0, for the vault's dates.
    var epoch: Date?
    let analyticsSetup: CameraPipeline.Analytics?
    /// The camera's analytics, from its first frame (their alerts carry wall-clock times from ``epoch``).
    var analytics: CameraAnalytics?
    /// When the counts were last written (stream time).
    var countsWritten = -Double.infinity
    /// Painted over each frame first: detectors, analytics, live renditions and recordings (raw too) never see under them.
    let masks: PrivacyMasks?

    init(camera: CameraID, settings: CameraPipeline.Settings, models: VisionModels, recording: CameraPipeline.Recording?,
         masks: [PrivacyMasks.Polygon] = [], analytics: CameraPipeline.Analytics? = nil, logger: Logger, sequence: Int = 0)
    {
        self.masks = masks.isEmpty ? nil : PrivacyMasks(polygons: masks)
        self.sequence = sequence
        self.camera = camera
        self.settings = settings
        self.models = models
        self.recording = recording
        self.analyticsSetup = analytics
        self.logger = logger
    }

    /// Stores the vault segments gathered so far (the vault is an actor: this is the pipeline's only await
    /// besides pacing).
    mutating func storeRecordings() async {
        guard let recording, !pending.isEmpty, let epoch else { return }
        for segment in pending {
            let descriptor = SegmentDescriptor(
                camera: camera, category: segment.category, start: epoch.addingTimeInterval(segment.start),
                end: epoch.addingTimeInterval(segment.end), container: "mp4", policyVersion: recording.policyVersion(),
                redaction: segment.category == .audio ? "none (original sound)"
                    : segment.redaction.classes.isEmpty ? "none (original footage)" : segment.redaction.description)
            do {
                try await recording.vault.store([UInt8](segment.bytes), as: descriptor)
                Counter(label: "veilgate_vault_stored_bytes_total", dimensions: [("category", segment.category.rawValue)])
                    .increment(by: segment.bytes.count)
            } catch {
                logger.error("recording failed", metadata: ["camera": "\(camera.rawValue)", "category": "\(segment.category.rawValue)",
                                                            "error": "\(error)"])
            }
        }
        pending = []
    }

    /// Turns what each recording rendition has gathered into vault segments, however short (at shutdown).
    mutating func finishRecordings() {
        cutSegment(at: lastTime, feeds: nil)
        for spec in Array(renditions.keys) { gatherForVault(spec, force: true) }
        gatherAudio(force: true)
    }

    /// Adds the frame's sound to the recording: a vault segment of it every ``Recording/segmentDuration`` seconds, and
    /// at once when the camera's audio format changes.
    private mutating func record(_ packets: [AudioPacket]) {
        for packet in packets {
            if let first = audio.first, !first.format.isSame(as: packet.format) { gatherAudio(force: true) }
            // Time that jumps (back, or far ahead: a reconnect, a clock reset) starts a new segment, so each stored
            // one is continuous and its times in the vault are right.
            if let last = audio.last, packet.time <= last.time || packet.time - last.time > 5 || audio.count >= 20_000 {
                gatherAudio(force: true)
            }
            if audio.isEmpty, !packet.format.fitsMP4 {
                if !audioRefused {  // said once; the video is recorded all the same
                    logger.warning("camera audio cannot be stored as it is; dropped",
                                   metadata: ["camera": "\(camera.rawValue)", "codec": "\(packet.format.codecName)"])
                }
                audioRefused = true
                continue
            }
            audio.append(packet)
        }
        gatherAudio(force: false)
    }

    /// With `force` or once enough is gathered: the sound so far becomes one self-contained MP4 (category audio).
    private mutating func gatherAudio(force: Bool) {
        guard let recording, let first = audio.first, let last = audio.last,
              force || last.time + last.duration - first.time >= recording.segmentDuration
        else { return }
        defer { audio = [] }
        do {
            pending.append(PendingSegment(bytes: try AudioMP4.file(of: audio), category: .audio, redaction: .unredacted,
                                          start: first.time, end: max(last.time + last.duration, first.time + 0.001)))
        } catch {
            logger.error("audio segment failed", metadata: ["camera": "\(camera.rawValue)", "error": "\(error)"])
        }
    }

    var lastTime = 0.0

    mutating func process(_ frame: VideoFrame, wanted: Set<RedactionSpec>, feeds: LiveFeeds) throws {
        if epoch == nil { epoch = Date().addingTimeInterval(-frame.time) }
        lastTime = frame.time
        // The camera's segment clock ticks whether or not anyone watches, so numbers stay comparable.
        let start = segmentStart ?? frame.time
        segmentStart = start
        if frame.time - start >= settings.segmentDuration {
            cutSegment(at: frame.time, feeds: feeds)
            segmentStart = frame.time
        }
        if recording?.keepsAudio == true, !frame.audio.isEmpty { record(frame.audio) }
        let recorded = Set(recording.map { Array($0.categories.values) } ?? [])
        if wanted.union(recorded) != Set(renditions.keys) || renditions.contains(where: { $0.value.live != wanted.contains($0.key) })
            || (analyticsSetup != nil && tracking == nil)
        {
            try adopt(wanted, feeds: feeds)
        }
        guard !renditions.isEmpty || analyticsSetup != nil else { return }
        masks?.apply(to: frame)

        var covered: [(kind: RedactionClass, box: Box)]? = []
        if let tracking {
            do {
                let tracked = try tracking.track(frame)
                covered = tracked.map { ($0.kind, $0.box) }
                analyse(tracked, in: frame)
            } catch {
                covered = nil
                detectionFailures += 1
                Counter(label: "veilgate_camera_frames_withheld_total", dimensions: [("camera", camera.rawValue)]).increment()
                if detectionFailures == 1 || detectionFailures % 1000 == 0 {
                    logger.error("detection failed; redacted renditions skip the frame",
                                 metadata: ["camera": "\(camera.rawValue)", "failures": "\(detectionFailures)", "error": "\(error)"])
                }
            }
        }
        guard !renditions.isEmpty else { return }
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

    /// The people the tracker follows, to the camera's analytics; their alerts to the broker, their counts to the journal.
    private mutating func analyse(_ tracked: [RedactionTracker.Covered], in frame: VideoFrame) {
        guard let analyticsSetup, let epoch else { return }
        if analytics == nil { analytics = CameraAnalytics(analyticsSetup.setup, origin: epoch) }
        let people = TrackedObject.people(in: tracked, width: frame.width, height: frame.height)
        for alert in analytics?.observe(Observation(time: frame.time, objects: people, aspectRatio: Double(frame.width) / Double(max(1, frame.height)))) ?? [] { analyticsSetup.raise(alert) }
        let closed = analytics?.takeMinuteCounts() ?? []
        if !closed.isEmpty || frame.time - countsWritten >= 5 || frame.time < countsWritten {
            analyticsSetup.record(closed + (analytics?.countsInProgress ?? []))
            countsWritten = frame.time
        }
    }

    private mutating func write(_ picture: VideoFrame, for spec: RedactionSpec, feeds: LiveFeeds) throws {
        if renditions[spec]!.stream == nil {
            // The nominal rate only sizes libx264's rate control; timestamps come from the frames.
            let stream = try FragmentedMP4Stream(width: picture.width, height: picture.height, frameRate: 25, settings: settings.encoder)
            renditions[spec]!.stream = stream
            if renditions[spec]!.live { feeds.publish(initSegment: stream.initSegment, camera: camera, redaction: spec) }
        }
        if renditions[spec]!.segmentStart == nil { renditions[spec]!.segmentStart = picture.time }
        try renditions[spec]!.stream!.write(picture)
    }

    /// Cuts every rendition's segment, publishes it under the camera's segment number to live viewers, and
    /// gathers it for the vault.
    private mutating func cutSegment(at end: Double, feeds: LiveFeeds?) {
        defer { sequence += 1 }

        for spec in Array(renditions.keys) {
            guard let stream = renditions[spec]!.stream, let start = renditions[spec]!.segmentStart else { continue }
            renditions[spec]!.segmentStart = nil
            do {
                if let bytes = try stream.cut() {
                    if renditions[spec]!.live {
                        feeds?.publish(.init(sequence: sequence, duration: max(0.001, end - start), bytes: bytes), camera: camera,
                                       redaction: spec)
                    }
                    if !renditions[spec]!.categories.isEmpty {
                        renditions[spec]!.gathered += bytes
                        renditions[spec]!.gatheredFrom = renditions[spec]!.gatheredFrom ?? start
                        renditions[spec]!.gatheredTo = end
                        gatherForVault(spec, force: false)
                    }
                }
            } catch {
                // The encode is in an unknown state: the next frame starts a new one (and a new init segment).
                logger.error("segment failed", metadata: ["camera": "\(camera.rawValue)", "error": "\(error)"])
                renditions[spec]!.stream = nil
            }
        }
    }

    /// With `force` or once enough is gathered: the rendition's init segment and gathered live segments become one
    /// self-contained MP4 for each vault category recorded from it.
    private mutating func gatherForVault(_ spec: RedactionSpec, force: Bool) {
        guard let recording, let rendition = renditions[spec], let stream = rendition.stream, let from = rendition.gatheredFrom,
              !rendition.gathered.isEmpty, force || rendition.gatheredTo - from >= recording.segmentDuration
        else { return }
        for category in rendition.categories {
            pending.append(PendingSegment(bytes: stream.initSegment + rendition.gathered, category: category, redaction: spec,
                                          start: from, end: rendition.gatheredTo))
        }
        renditions[spec]!.gathered = Data()
        renditions[spec]!.gatheredFrom = nil
    }

    /// Starts and stops renditions to match live demand and recording, and rebuilds detection when the classes
    /// needed change.
    private mutating func adopt(_ wanted: Set<RedactionSpec>, feeds: LiveFeeds) throws {
        var categories: [RedactionSpec: [DataCategory]] = [:]
        for (category, spec) in recording?.categories ?? [:] { categories[spec, default: []].append(category) }
        let needed = wanted.union(categories.keys)
        for spec in renditions.keys where !needed.contains(spec) {
            renditions[spec] = nil
            logger.info("live rendition stopped", metadata: ["camera": "\(camera.rawValue)", "redaction": "\(spec)"])
        }
        for spec in needed {
            if renditions[spec] == nil {
                renditions[spec] = Rendition(redactor: Redactor(spec: spec))
                logger.info(wanted.contains(spec) ? "live rendition started" : "recording started",
                            metadata: ["camera": "\(camera.rawValue)", "redaction": "\(spec)"])
            }
            let live = wanted.contains(spec)
            if live, !renditions[spec]!.live, let stream = renditions[spec]!.stream {
                // A recorded encode that partners now watch too: they need its init segment.
                feeds.publish(initSegment: stream.initSegment, camera: camera, redaction: spec)
            }
            renditions[spec]!.live = live
            renditions[spec]!.categories = (categories[spec] ?? []).sorted { $0.rawValue < $1.rawValue }
        }
        // Analytics follow people: the person detector runs for them whatever the renditions need.
        let classes = needed.reduce(into: Set<RedactionClass>()) { $0.formUnion($1.classes) }
            .union(analyticsSetup == nil ? [] : [.persons])
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
