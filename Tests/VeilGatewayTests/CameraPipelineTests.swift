import Foundation
import Logging
import Synchronization
import Testing
import VeilCore
import VeilMedia
import VeilTestSupport
import VeilVision

@testable import VeilGateway

/// The camera pipeline without the binary: real footage (vtest.avi, played at camera speed as the gateway plays a file
/// — unpaced, two pipelines would take both cores from the rest of the suite), the real detectors and encoder, and
/// sinks that keep what they are given in memory.
@Suite("Camera pipeline")
struct CameraPipelineTests {
    static let vtest = TestPaths.vtest
    static let models = VisionModels(directory: TestPaths.models)

    /// Runs a pipeline over vtest until `done` says so (checked every 100 ms; at most 180 s from its first frame — in
    /// the full suite, other tests can keep it from starting for minutes), then stops it as the supervisor does and
    /// waits for it to store what it holds.
    static func run(
        _ pipeline: CameraPipeline, live: MemoryLiveSink, until done: @escaping @Sendable () -> Bool
    ) async throws {
        let task = Task { try await pipeline.run() }
        var deadline = ContinuousClock.now + .seconds(600)
        var started = false
        while !done(), ContinuousClock.now < deadline {
            if !started, live.asked {
                started = true
                deadline = ContinuousClock.now + .seconds(180)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        task.cancel()
        try await task.value
        #expect(done(), "the pipeline delivered less than expected within two minutes")
    }

    @Test(
        "Frames reach all three sinks: live segments numbered on the camera's clock, recordings per category, tracks with stable ids"
    )
    func feedsItsSinks() async throws {
        let profile = RedactionSpec(classes: [.faces, .plates])
        let live = MemoryLiveSink(wanted: [profile])
        let recordings = MemoryRecordingSink()
        let tracks = MemoryTrackSink()
        var settings = CameraPipeline.Settings()
        settings.segmentDuration = 1
        settings.encoder.keyframeInterval = 1
        let pipeline = CameraPipeline(
            camera: "lobby", address: Self.vtest, paced: true, live: live, models: Self.models, settings: settings,
            recording: .init(
                categories: [.rawVideo: .unredacted, .redactedVideo: profile], segmentDuration: 2, sink: recordings),
            tracks: tracks, logger: Logger(label: "test"))
        try await Self.run(pipeline, live: live) {
            recordings.segments.count >= 6 && live.segments.count >= 4 && tracks.frames.count >= 150
        }

        // Live: an initialisation segment first, then media segments numbered 0, 1, 2, … of about a second each.
        let published = live.segments
        #expect(live.initSegments.first?.redaction == profile && live.firstEvent == "init")
        #expect(published.map(\.segment.sequence) == Array(published.indices), "\(published.map(\.segment.sequence))")
        #expect(published.allSatisfy { $0.redaction == profile && $0.segment.bytes.contains(Data("moof".utf8)) })
        #expect(
            published.dropLast().allSatisfy { abs($0.segment.duration - 1) < 0.2 },
            "\(published.map(\.segment.duration))")

        // Recordings: each category from its own rendition, whole MP4 files that follow one another in time.
        let stored = recordings.segments
        for (category, redaction) in [(DataCategory.rawVideo, RedactionSpec.unredacted), (.redactedVideo, profile)] {
            let files = stored.filter { $0.category == category }
            #expect(files.count >= 2, "\(category)")
            #expect(files.allSatisfy { $0.redaction == redaction && $0.camera == "lobby" && $0.end > $0.start })
            #expect(zip(files, files.dropFirst()).allSatisfy { abs($1.start.timeIntervalSince($0.end)) < 0.2 })
            let first = try #require(files.first)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID()).mp4").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try first.bytes.write(to: URL(fileURLWithPath: path))
            let source = try MediaSource(address: path)
            var frames = 0
            while try source.nextFrame() != nil { frames += 1 }
            #expect(frames >= 15, "a recorded file of about 2 s (vtest is 10 fps) plays: \(frames) frames")
        }

        // Tracks: every frame, in order, with ids a person keeps from frame to frame.
        let frames = tracks.frames
        #expect(frames.count >= 150)
        #expect(zip(frames, frames.dropFirst()).allSatisfy { $0.time < $1.time })
        // Seen within the last second: on a machine short of cores the pipeline runs detection less often (it follows
        // the CPU), and a track coasts between detections; the id it keeps is what this measures.
        let people = frames.flatMap { $0.tracks.filter { $0.kind == .persons && $0.unseenFor <= 1.0 }.map(\.track) }
        let framesPerTrack = Dictionary(grouping: people, by: { $0 }).mapValues(\.count)
        #expect(
            (framesPerTrack.values.max() ?? 0) >= 50,
            "someone walks through vtest for 5 s under one id: \(framesPerTrack)")
    }

    @Test(
        "Live renditions follow demand: none encoded while nobody watches, started with an init segment when someone does"
    )
    func followsDemand() async throws {
        let profile = RedactionSpec(classes: [.faces])
        let live = MemoryLiveSink(wanted: [])
        let recordings = MemoryRecordingSink()
        let pipeline = CameraPipeline(
            camera: "lobby", address: Self.vtest, paced: true, live: live, models: Self.models,
            recording: .init(categories: [.redactedVideo: profile], segmentDuration: 2, sink: recordings),
            logger: Logger(label: "test"))
        try await Self.run(pipeline, live: live) {
            if recordings.segments.count >= 1 { live.want([profile]) }
            return live.segments.count >= 2
        }
        // Recorded before anyone watched, and nothing published then; the encode the vault records is the one partners
        // get, so it is announced with its initialisation segment when they start watching.
        #expect(live.firstEvent == "init")
        #expect(live.initSegments.count == 1 && live.initSegments[0].redaction == profile)
        #expect(
            live.segments.first.map { $0.segment.sequence > 0 } == true, "segments before the demand were not published"
        )
    }
}

/// Keeps what a pipeline publishes live; `wanted` is the demand it reports.
final class MemoryLiveSink: LiveSegmentSink {
    struct Published {
        var segment: LiveSegment
        var redaction: RedactionSpec
    }

    private let state = Mutex<
        (wanted: Set<RedactionSpec>, inits: [(RedactionSpec, Data)], segments: [Published], first: String?, asked: Bool)
    >(
        ([], [], [], nil, false))

    init(wanted: Set<RedactionSpec>) { state.withLock { $0.wanted = wanted } }

    func want(_ wanted: Set<RedactionSpec>) { state.withLock { $0.wanted = wanted } }
    var segments: [Published] { state.withLock { $0.segments } }
    var initSegments: [(redaction: RedactionSpec, bytes: Data)] { state.withLock { $0.inits.map { ($0.0, $0.1) } } }
    var firstEvent: String? { state.withLock { $0.first } }

    func renditionsWanted(for camera: CameraID) -> Set<RedactionSpec> {
        state.withLock {
            $0.asked = true
            return $0.wanted
        }
    }
    /// The pipeline has asked for demand: it has its first frame.
    var asked: Bool { state.withLock { $0.asked } }
    func publish(initSegment: Data, camera: CameraID, redaction: RedactionSpec) {
        state.withLock {
            $0.first = $0.first ?? "init"
            $0.inits.append((redaction, initSegment))
        }
    }
    func publish(segment: LiveSegment, camera: CameraID, redaction: RedactionSpec) {
        state.withLock {
            $0.first = $0.first ?? "segment"
            $0.segments.append(Published(segment: segment, redaction: redaction))
        }
    }
    func open(camera: CameraID) {}
    func interrupt(camera: CameraID) {}
    func retire(camera: CameraID) {}
}

final class MemoryRecordingSink: RecordingSink {
    private let stored = Mutex<[RecordedSegment]>([])
    var segments: [RecordedSegment] { stored.withLock { $0 } }
    func store(_ segment: RecordedSegment) async { stored.withLock { $0.append(segment) } }
}

final class MemoryTrackSink: TrackSink {
    private let observed = Mutex<[TrackedFrame]>([])
    var frames: [TrackedFrame] { observed.withLock { $0 } }
    func observe(_ frame: TrackedFrame) { observed.withLock { $0.append(frame) } }
    var fingerprint: String { "memory" }
}
