import Foundation
import Logging
import Metrics
import MetricsTestKit
import Synchronization
import VeilAnalytics
import VeilCore
import VeilGateway
import VeilMedia
import VeilVision

/// Issue 11's goal: four 720p 25 fps cameras redacted in real time on this 2-core machine, with the example policy's
/// default profile, dropping no frame for lack of CPU. Runs on both cores (not pinned): each camera is a thread of
/// its own, as in the gateway, reading its clip paced at 25 fps as a live camera delivers it. A frame that would be
/// handled more than a second after it arrived is dropped, as a live source with a one-second buffer drops it, and
/// counted. Baseline, in the same run: four FFmpeg processes decoding and encoding the same clip at once, unpaced
/// (what two cores can decode and encode at all).
enum CamerasBenchmark {
    static let cameras = 4
    static let frameRate = 25.0

    static func run() async throws {
        let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
                "shared/data/video/vtest.avi"
            ).path
        let models = ProcessInfo.processInfo.environment["VEILGATE_MODELS"] ?? ".cache/models"
        VisionRuntime.setThreads(1)  // one thread per camera, as each gateway camera has
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "veilgate-cameras-bench-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let clip = folder + "/720p.mp4"
        // 12 s of the CCTV clip at camera resolution; each camera starts at a different second so they do not move in
        // step.
        try MediaBenchmark.ffmpeg([
            "-i", shared, "-t", "16", "-vf", "fps=25,scale=1280:720", "-c:v", "libx264", "-preset", "veryfast",
            "-crf", "23", "-an", clip,
        ])
        let seconds = 12.0
        print(
            "== \(cameras) cameras at once: 720p 25 fps, \(Int(seconds)) s each, both cores, libx264 veryfast crf 23 =="
        )

        let ffmpegStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for camera in 0..<cameras {
                group.addTask {
                    try MediaBenchmark.ffmpeg([
                        "-threads", "1", "-ss", "\(camera)", "-t", "\(Int(seconds))", "-i", clip, "-c:v", "libx264",
                        "-preset", "veryfast", "-crf", "23", "-x264-params", "threads=1", "-an",
                        folder + "/ffmpeg-\(camera).mp4",
                    ])
                }
            }
            try await group.waitForAll()
        }
        let ffmpegRate =
            Double(cameras) * seconds * frameRate / MediaBenchmark.seconds(ContinuousClock.now - ffmpegStart)
        print(
            String(
                format:
                    "baseline: %d ffmpeg decode+encode at once, unpaced        %6.1f fps in all (%.1f× the %d cameras' %.0f fps)",
                cameras, ffmpegRate, ffmpegRate / (Double(cameras) * frameRate), cameras, Double(cameras) * frameRate))

        let vision = VisionModels(directory: models)
        let profile = RedactionSpec(classes: [.faces, .plates, .screens], mode: .blur, shape: .ellipse, margin: 0.15)
        // Every 5th frame as scheduled whatever it costs (before detection followed the CPU), then as the gateway runs:
        // a detection waits while the camera is behind real time.
        for (detectEvery, adaptive) in [(5, false), (5, true)] {
            let results = try await withThrowingTaskGroup(of: CameraRun.self) { group in
                for camera in 0..<cameras {
                    let detectors = try vision.detectors(for: profile.classes, headsOfPeople: true).detectors
                    let pipeline = RedactionPipeline(
                        spec: profile, detectors: detectors,
                        options: .init(detectEvery: detectEvery, coverHeadsOfPeople: true))
                    // A thread of its own per camera, as the gateway runs each (VeilMedia's DedicatedThreadExecutor).
                    let executor = DedicatedThreadExecutor(name: "bench camera \(camera)")
                    group.addTask(executorPreference: executor) {
                        defer { executor.shutdown() }
                        return try paced(
                            clip, skip: Double(camera), seconds: seconds, pipeline: pipeline,
                            output: folder + "/camera-\(camera).mp4", adaptive: adaptive)
                    }
                }
                return try await group.reduce(into: [CameraRun]()) { $0.append($1) }
            }
            let handled = results.map(\.handled).reduce(0, +), dropped = results.map(\.dropped).reduce(0, +)
            let warmingUp = results.map(\.droppedWarmingUp).reduce(0, +)
            let lag = results.map(\.worstLag).max() ?? 0
            let detections = results.map(\.detections).reduce(0, +)
            let deferred = results.map(\.deferred).reduce(0, +)
            print(
                String(
                    format:
                        "redaction, default profile (faces + heads + plates), every %2d%@: %d of %d frames handled, %d dropped after the first second (%.1f %%; %d in it); worst lag %.2f s; %.1f detection passes per camera-second (%d frames deferred) — %@",
                    detectEvery, adaptive ? ", waiting while behind" : " as scheduled", handled,
                    handled + dropped + warmingUp, dropped,
                    100 * Double(dropped) / Double(max(1, handled + dropped + warmingUp)), warmingUp, lag,
                    Double(detections) / Double(cameras) / seconds, deferred,
                    dropped == 0 ? "real time after the first second" : "NOT real time"))
            if let worst = results.max(by: { $0.worstFrame < $1.worstFrame }) {
                print(
                    String(format: "  longest frame after the first second %.0f ms: ", worst.worstFrame * 1000)
                        + worst.worstFrameParts)
            }
            var spent: [String: Double] = [:]
            for run in results { spent.merge(run.secondsPerDetector, uniquingKeysWith: +) }
            print(
                "  detection time per camera-second: "
                    + spent.sorted { $0.value > $1.value }.map {
                        String(format: "%@ %.0f ms", $0.key, $0.value * 1000 / Double(cameras) / seconds)
                    }.joined(separator: ", "))
        }
        try await throughGateway(clip: clip, folder: folder, seconds: seconds, vision: vision, profile: profile)
    }

    /// The same four cameras through what `veilgate serve` runs per camera: VeilGateway's `CameraPipeline` (pacing,
    /// masks, detection and tracking, one live encode of the default profile cut into segments, tracks to a sink).
    /// The pacer does not drop frames: a pipeline that cannot keep up falls behind, and past a second behind the pacer
    /// starts its clock again (counted). Real time: that never happens after a camera's first second (opening the
    /// clip, loading the networks and their first runs are counted in the frames per second, not as falling behind).
    static func throughGateway(
        clip: String, folder: String, seconds: Double, vision: VisionModels, profile: RedactionSpec
    ) async throws {
        // Each camera starts a second further into the clip, so they do not move in step.
        var clips: [String] = []
        for camera in 0..<cameras {
            clips.append(folder + "/gateway-\(camera).mp4")
            try MediaBenchmark.ffmpeg(["-ss", "\(camera)", "-i", clip, "-c", "copy", clips[camera]])
        }
        let metrics = TestMetrics()
        MetricsSystem.bootstrap(metrics)
        for detectEvery in [5, 10] {
            metrics.reset()
            let latencies = AlertLatencies()
            let live = WatchedLive(profile)
            var counters: [FrameCounter] = []
            var tasks: [Task<Void, any Error>] = []
            for (camera, own) in clips.enumerated() {
                var settings = CameraPipeline.Settings()
                settings.detectEvery = detectEvery
                var logger = Logger(label: "bench")
                logger.logLevel = .error
                let counter = FrameCounter(
                    analytics: Self.analytics(
                        camera: CameraID("bench-\(camera)"), profile: profile, latencies: latencies))
                counters.append(counter)
                let pipeline = CameraPipeline(
                    camera: CameraID("bench-\(camera)"), address: own, paced: true, live: live, models: vision,
                    settings: settings, tracks: counter, logger: logger)
                tasks.append(Task { try await pipeline.run() })
            }
            try await Task.sleep(for: .seconds(seconds))
            for task in tasks { task.cancel() }
            for task in tasks { _ = try? await task.value }
            let frames = counters.map(\.frames).reduce(0, +)
            let worstLag = counters.map(\.worstLag).max() ?? 0
            let passes = metrics.counterTotal(label: "veilgate_camera_detection_passes_total")
            let deferred = metrics.counterTotal(label: "veilgate_camera_detections_deferred_total")
            let platePasses = metrics.counterTotal(label: "veilgate_camera_plate_passes_total")
            let resyncs = counters.map(\.resyncs).reduce(0, +)
            let warmingUp = counters.map(\.resyncsWarmingUp).reduce(0, +)
            print(
                String(
                    format:
                        "through VeilGateway's CameraPipeline (live default profile, segments), every %2d: %d frames in %.0f s (%.1f fps per camera from its first frame; %d live segments); worst lag %.2f s; fell a second behind %d times after the first second (%d in it); %.1f detection passes per camera-second (%d frames deferred) — %@",
                    detectEvery, frames, seconds, counters.map(\.rate).reduce(0, +) / Double(cameras), live.segments,
                    worstLag,
                    resyncs, warmingUp, Double(passes) / Double(cameras) / seconds, deferred,
                    resyncs == 0 ? "real time after the first second" : "NOT real time"))
            print(
                String(
                    format: "  of them looking for plates: %.2f per camera-second",
                    Double(platePasses) / Double(cameras) / seconds))
            // Analytics (issue 13): their share of the CPU a frame gets (two cores over four cameras' 100 frames a
            // second: 20 ms), and how long after its frame was played each alert was raised (snapshot made and kept).
            let analysed = counters.map(\.analyticsSeconds).reduce(0, +) / Double(max(1, frames))
            let delays = latencies.sorted
            func percentile(_ share: Double) -> Double {
                delays.isEmpty ? 0 : delays[min(delays.count - 1, Int(Double(delays.count) * share))]
            }
            print(
                String(
                    format:
                        "  analytics (16 zones, a line; restricted zone, loitering, crowd, running, crossings): %.2f ms a frame, %.1f %% of the 20 ms a frame gets; %d alerts with snapshots, frame to alert p50 %.0f ms, p99 %.0f ms",
                    analysed * 1000, analysed / 0.02 * 100, delays.count, percentile(0.5) * 1000,
                    percentile(0.99) * 1000))
        }
    }

    /// A camera's analytics as the gateway sets them up, on a grid of 16 zones and a line across the picture (many
    /// alerts, for their latency), with snapshots of the default profile kept in memory.
    static func analytics(camera: CameraID, profile: RedactionSpec, latencies: AlertLatencies) -> CameraAnalyticsSink {
        var zones: [Zone] = []
        for row in 0..<4 {
            for column in 0..<4 {
                let (x, y) = (Double(column) / 4, Double(row) / 4)
                zones.append(
                    Zone(
                        id: ZoneID("cell-\(row)-\(column)"),
                        polygon: [
                            Point(x: x, y: y), Point(x: x + 0.25, y: y), Point(x: x + 0.25, y: y + 0.25),
                            Point(x: x, y: y + 0.25),
                        ]))
            }
        }
        let setup = CameraAnalytics.Setup(
            camera: camera, analytics: [.restrictedZone, .loitering, .crowdCount, .running, .lineCrossing],
            zones: zones, lines: [CountingLine(id: "middle", from: Point(x: 0, y: 0.5), to: Point(x: 1, y: 0.5))])
        return CameraAnalyticsSink(
            setup: setup, snapshots: AlertSnapshotting(redaction: profile, store: MemorySnapshots()),
            raise: { alert in latencies.add(Date().timeIntervalSince(alert.time)) })
    }

    struct CameraRun: Sendable {
        var handled = 0
        var dropped = 0
        var worstLag = 0.0
        var detections = 0
        var deferred = 0
        var droppedWarmingUp = 0
        /// The longest a single frame's detection and redaction took (wall time), and what took it.
        var worstFrame = 0.0
        var worstFrameParts = ""
        var secondsPerDetector: [String: Double] = [:]
    }

    /// Decodes `seconds` of `clip` from `skip` as a camera delivers it (frame k arrives k/25 s after the start),
    /// redacts and encodes each frame, and drops those that would be handled more than a second after they arrived.
    static func paced(
        _ clip: String, skip: Double, seconds: Double, pipeline: RedactionPipeline, output: String, adaptive: Bool
    ) throws -> CameraRun {
        let source = try MediaSource(address: clip, options: SourceOptions(decoderThreads: 1))
        let writer = try MP4Writer(
            path: output, width: source.width, height: source.height, frameRate: frameRate,
            settings: EncoderSettings(preset: "veryfast", crf: 23))
        var run = CameraRun()
        var start: ContinuousClock.Instant?
        var index = 0
        while let frame = try source.nextFrame() {
            guard frame.time >= skip else { continue }
            guard frame.time < skip + seconds else { break }
            let begin = start ?? ContinuousClock.now
            start = begin
            let due = Double(index) / frameRate
            index += 1
            let now = MediaBenchmark.seconds(ContinuousClock.now - begin)
            if now < due { Thread.sleep(forTimeInterval: due - now) }
            let lag = MediaBenchmark.seconds(ContinuousClock.now - begin) - due
            guard lag <= 1 else {
                // The first second is the camera's warm-up (the networks' first runs, a first pass over every tile).
                if due < 1 { run.droppedWarmingUp += 1 } else { run.dropped += 1 }
                continue
            }
            run.worstLag = max(run.worstLag, lag)
            // As a gateway camera does: behind by more than the tolerance, a due detection waits (``LagMeter``).
            let before = pipeline.secondsPerDetector, began = ContinuousClock.now
            try pipeline.process(frame, behind: adaptive && lag > CameraPipeline.Settings().lagTolerance)
            let took = MediaBenchmark.seconds(ContinuousClock.now - began)
            if took > run.worstFrame, due >= 1 {
                run.worstFrame = took
                run.worstFrameParts =
                    pipeline.secondsPerDetector.map { ($0.key, $0.value - (before[$0.key] ?? 0)) }
                    .filter { $0.1 > 0 }.sorted { $0.1 > $1.1 }.map { String(format: "%@ %.0f", $0.0, $0.1 * 1000) }
                    .joined(separator: ", ") + String(format: " ms at %.1f s", frame.time - skip)
            }
            try writer.write(frame)
            run.handled += 1
        }
        try writer.finish()
        run.detections = pipeline.detectionPasses
        run.deferred = pipeline.framesDeferred
        run.secondsPerDetector = pipeline.secondsPerDetector
        return run
    }
}

/// Partners watching every camera with the default profile, as far as the pipelines can tell.
private final class WatchedLive: LiveSegmentSink {
    let profile: RedactionSpec
    private let published = Mutex(0)
    init(_ profile: RedactionSpec) { self.profile = profile }
    var segments: Int { published.withLock { $0 } }
    func renditionsWanted(for camera: CameraID) -> Set<RedactionSpec> { [profile] }
    func publish(initSegment: Data, camera: CameraID, redaction: RedactionSpec) {}
    func publish(segment: LiveSegment, camera: CameraID, redaction: RedactionSpec) { published.withLock { $0 += 1 } }
    func open(camera: CameraID) {}
    func interrupt(camera: CameraID) {}
    func retire(camera: CameraID) {}
}

/// How long after its frame each alert was raised.
final class AlertLatencies: Sendable {
    private let values = Mutex<[Double]>([])
    func add(_ seconds: Double) { values.withLock { $0.append(seconds) } }
    var sorted: [Double] { values.withLock { $0.sorted() } }
}

/// Alert snapshots kept in memory (the gateway keeps them in the vault).
private final class MemorySnapshots: AlertSnapshotStore {
    private let kept = Mutex<[String: Data]>([:])
    func store(jpeg: Data, camera: CameraID, at time: Date, redaction: RedactionSpec) async throws -> String {
        let reference = UUID().uuidString
        kept.withLock { $0[reference] = jpeg }
        return reference
    }
    func snapshot(_ reference: String, camera: CameraID, required: RedactionSpec) async throws -> Data? {
        kept.withLock { $0[reference] }
    }
}

/// Counts the frames a pipeline handled (its tracker reports every one), and how far behind the camera's clock the
/// latest was handled: wall time since the first frame less stream time since it. Passes each frame on to the camera's
/// analytics, timing them.
private final class FrameCounter: TrackSink {
    let analytics: CameraAnalyticsSink?
    private let spent = Mutex(0.0)
    /// Seconds spent in the analytics, snapshots included.
    var analyticsSeconds: Double { spent.withLock { $0 } }

    init(analytics: CameraAnalyticsSink? = nil) { self.analytics = analytics }

    private struct State {
        var frames = 0
        var first: (wall: ContinuousClock.Instant, time: Double)?
        var worstLag = 0.0
        var resyncs = 0, resyncsWarmingUp = 0
        var started: Double?
        var firstWall: ContinuousClock.Instant?
        var lastWall: ContinuousClock.Instant?
    }
    private let state = Mutex(State())
    var frames: Int { state.withLock { $0.frames } }
    var worstLag: Double { state.withLock { $0.worstLag } }
    /// Frames a second from the first frame handled to the last (opening the feed and loading the networks left out).
    var rate: Double {
        state.withLock { state in
            guard let first = state.firstWall, let last = state.lastWall, last > first else { return 0 }
            return Double(state.frames - 1) / MediaBenchmark.seconds(last - first)
        }
    }
    /// Times the camera fell more than a second behind (when the pacer starts its clock again), after its first
    /// second and in it (the warm-up: the networks' first runs, a first pass over every tile).
    var resyncs: Int { state.withLock { $0.resyncs } }
    var resyncsWarmingUp: Int { state.withLock { $0.resyncsWarmingUp } }
    func observe(_ frame: TrackedFrame) {
        if let analytics {
            let began = ContinuousClock.now
            analytics.observe(frame)
            let took = MediaBenchmark.seconds(ContinuousClock.now - began)
            spent.withLock { $0 += took }
        }
        let now = ContinuousClock.now
        state.withLock { state in
            state.frames += 1
            if state.started == nil { (state.started, state.firstWall) = (frame.time, now) }
            state.lastWall = now
            guard let first = state.first, frame.time >= first.time else {
                state.first = (now, frame.time)
                return
            }
            let lag = MediaBenchmark.seconds(now - first.wall) - (frame.time - first.time)
            // Measured from the last moment the camera was on time (as the gateway's LagMeter): a frame handled early
            // for this clock (the pacer started its own clock before the first frame's long first pass) starts it
            // again.
            guard lag >= 0 else {
                state.first = (now, frame.time)
                return
            }
            // Past a second behind the pacer starts its clock again (a resync): so does this measure.
            guard lag <= 1 else {
                if frame.time - (state.started ?? frame.time) < 1 {
                    state.resyncsWarmingUp += 1
                } else {
                    state.resyncs += 1
                }
                state.first = (now, frame.time)
                return
            }
            state.worstLag = max(state.worstLag, lag)
        }
    }
    var fingerprint: String { "bench" }
}
