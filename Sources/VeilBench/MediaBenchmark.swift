import Foundation
import VeilCore
import VeilMedia
import VeilVision

/// Issue goal: one 720p 25 fps camera redacted in real time on one core (≥ 25 fps), at ≥ 0.5 of the
/// decode+encode-only rate. The baseline is FFmpeg's own command-line decode+encode of the same clip with the
/// same encoder settings, on one thread, in the same run — each figure paired with an FFmpeg run just before it, and
/// the better of two such pairs kept: this machine is a shared VM whose speed drifts by up to a third.
enum MediaBenchmark {
    static func run() async throws {
        let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
                "shared/data/video/vtest.avi"
            ).path
        let models = ProcessInfo.processInfo.environment["VEILGATE_MODELS"] ?? ".cache/models"
        // One core means one thread for OpenCV too (two threads on one pinned core only thrash).
        VisionRuntime.setThreads(1)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "veilgate-media-bench-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // VEILBENCH_SIZES=720p runs one size only (a quicker check while tuning).
        let sizes =
            ProcessInfo.processInfo.environment["VEILBENCH_SIZES"]?.split(separator: ",").map(String.init) ?? [
                "720p", "1080p",
            ]
        for (name, width, height) in [("720p", 1280, 720), ("1080p", 1920, 1080)] where sizes.contains(name) {
            let clip = folder + "/\(name).mp4"
            // 12 s of the real CCTV clip at 25 fps, scaled up: the same people, at camera resolution.
            try ffmpeg([
                "-i", shared, "-t", "12", "-vf", "fps=25,scale=\(width):\(height)", "-c:v", "libx264", "-preset",
                "veryfast",
                "-crf", "23", "-an", clip,
            ])
            let frames = 300.0
            print(
                "== media pipeline: \(name) (\(width)×\(height), 25 fps, \(Int(frames)) frames), one core, libx264 veryfast crf 23 =="
            )
            let ffmpegRun = { () throws -> Double in
                let start = ContinuousClock.now
                try ffmpeg([
                    "-threads", "1", "-i", clip, "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-x264-params",
                    "threads=1",
                    "-an", folder + "/ffmpeg-out.mp4",
                ])
                return frames / seconds(ContinuousClock.now - start)
            }
            /// Each figure is paired with an FFmpeg run just before it (this VM's speed drifts over minutes, so a
            /// baseline measured once at the start made ratios wander by a third); of two pairs, the faster run counts.
            func paired(_ run: () async throws -> Double) async throws -> (rate: Double, baseline: Double) {
                var result = (rate: 0.0, baseline: 1.0)
                for _ in 0..<2 {
                    let baseline = try ffmpegRun()
                    let rate = try await run()
                    if rate > result.rate { result = (rate, baseline) }
                }
                return result
            }
            let baseline = try await best { try ffmpegRun() }
            print(
                String(
                    format:
                        "baseline: ffmpeg decode+encode                          %7.1f fps  (best of two; each figure below is paired with a run of its own)",
                    baseline))

            // VEILBENCH_ONLY=default runs the default profile's rows alone (a quicker check while tuning).
            let onlyDefault = ProcessInfo.processInfo.environment["VEILBENCH_ONLY"] == "default"
            let vision = VisionModels(directory: models)
            if !onlyDefault {
                let (plain, plainBase) = try await paired {
                    try await measure(clip, output: folder + "/plain.mp4", pipeline: nil)
                }
                print(
                    String(
                        format:
                            "VeilMedia decode+encode (no analysis)                   %7.1f fps  (%.2f of FFmpeg's %.1f alongside)",
                        plain,
                        plain / plainBase, plainBase))
                let spec = RedactionSpec(classes: [.faces], mode: .blur, shape: .ellipse, margin: 0.2)
                for every in [5, 10] {
                    var onMotion = 0
                    let (rate, base) = try await paired {
                        let faces = RedactionPipeline(
                            spec: spec, detectors: [try FaceDetector(modelPath: models + "/centerface.onnx")],
                            options: .init(detectEvery: every, coverHeadsOfPeople: false))
                        defer { onMotion = faces.detectionsOnMotion }
                        return try await measure(clip, output: folder + "/faces.mp4", pipeline: faces)
                    }
                    print(
                        String(
                            format:
                                "redaction: faces (CenterFace every %2d frames, +%d on motion) + tracker %7.1f fps  (%.2f of FFmpeg's %.1f alongside; goal ≥ 25 fps and ≥ 0.5: %@)",
                            every, onMotion, rate, rate / base, base,
                            rate >= 25 && rate / base >= 0.5 ? "met" : "NOT met"))
                }
                let (scheduleOnly, scheduleBase) = try await paired {
                    let faces = RedactionPipeline(
                        spec: spec, detectors: [try FaceDetector(modelPath: models + "/centerface.onnx")],
                        options: .init(detectEvery: 10, coverHeadsOfPeople: false, detectOnMotion: false))
                    return try await measure(clip, output: folder + "/faces.mp4", pipeline: faces)
                }
                print(
                    String(
                        format:
                            "redaction: faces every 10 frames, without the motion trigger %7.1f fps  (%.2f of FFmpeg's %.1f alongside)",
                        scheduleOnly, scheduleOnly / scheduleBase, scheduleBase))
                let configurations: [(String, () throws -> [any ObjectDetector])] = [
                    ("SSDLite whole frame", { [try vision.faces(), try vision.people(threshold: 0.2)] }),
                    (
                        "SSDLite whole frame + motion",
                        { [try vision.faces(), try vision.people(threshold: 0.2), MotionDetector()] }
                    ),
                    (
                        "frame + 2×2 tiles every detection + motion",
                        {
                            [try vision.faces(), try vision.people(tiles: 2, threshold: 0.2), MotionDetector()]
                        }
                    ),
                    // What `veilgate redact` and the gateway run with heads on (vtest: every head covered).
                    (
                        "as shipped: frame + 2×2 tiles twice a second + motion",
                        {
                            try vision.detectors(for: [.faces], headsOfPeople: true).detectors
                        }
                    ),
                ]
                for (label, detectors) in configurations {
                    let (rate, base) = try await paired {
                        let heads = RedactionPipeline(
                            spec: spec, detectors: try detectors(),
                            options: .init(detectEvery: 10, coverHeadsOfPeople: true))
                        return try await measure(clip, output: folder + "/heads.mp4", pipeline: heads)
                    }
                    print(
                        String(
                            format:
                                "redaction: faces + heads (%@) every 10  %7.1f fps  (%.2f of FFmpeg's %.1f alongside)",
                            label, rate, rate / base, base))
                }
            }
            // A gateway camera under the example policy's default profile (faces, plates, screens), with what it hides
            // besides the heads: collateral on the frames whose people were marked by hand (vtest frames 0, 50, 100 are
            // this clip's 0, 125, 250), heads grown 2× allowed.
            let marks = try vtestHeads(scaledTo: width, height, every: 2.5)
            for every in [5, 10] {
                var tally = Collateral.Tally()
                var passes = ""
                let (rate, base) = try await paired {
                    let pipeline = RedactionPipeline(
                        spec: defaultProfile,
                        detectors: try vision.detectors(for: defaultProfile.classes, headsOfPeople: true).detectors,
                        options: .init(detectEvery: every, coverHeadsOfPeople: true))
                    let (rate, measured) = try await measureWithCollateral(
                        clip, output: folder + "/default.mp4", pipeline: pipeline, marks: marks)
                    tally = measured
                    passes = pipeline.passSummary
                    return rate
                }
                print(
                    String(
                        format:
                            "redaction: the default profile (faces + heads + plates), detect every %2d  %7.1f fps  (%.2f of FFmpeg's %.1f alongside; goal ≥ 0.5: %@); collateral %@; %@",
                        every, rate, rate / base, base, rate / base >= 0.5 ? "met" : "NOT met", tally.description,
                        passes))
            }
        }
    }

    /// The example policy's default profile (policies/city-centre.yaml, `standard`).
    static let defaultProfile = RedactionSpec(
        classes: [.faces, .plates, .screens], mode: .blur, shape: .ellipse, margin: 0.15)

    /// The hand-checked heads of vtest.avi (Tests/VeilVisionTests/Fixtures/vtest-heads.json), scaled to a `width` ×
    /// `height` copy whose frames run `every` times as often (25 fps from 10 fps: 2.5).
    static func vtestHeads(scaledTo width: Int, _ height: Int, every: Double) throws -> [Int: [Box]] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Tests/VeilVisionTests/Fixtures/vtest-heads.json")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        let scaleX = Double(width) / 768, scaleY = Double(height) / 576
        var marks: [Int: [Box]] = [:]
        for (key, value) in object {
            guard let frame = Int(key), let heads = value as? [[Double]] else { continue }
            marks[Int((Double(frame) * every).rounded())] = heads.map { head in
                Box(x1: head[0] * scaleX, y1: head[1] * scaleY, x2: head[2] * scaleX, y2: head[3] * scaleY)
            }
        }
        return marks
    }

    /// Decodes, redacts (with a pipeline) and encodes the clip; returns the rate and the collateral on the marked
    /// frames (the detail before and after: a few frames, so the rate hardly moves).
    static func measureWithCollateral(
        _ clip: String, output: String, pipeline: RedactionPipeline?, marks: [Int: [Box]]
    ) async throws
        -> (rate: Double, collateral: Collateral.Tally)
    {
        let source = try MediaSource(address: clip, options: SourceOptions(decoderThreads: 1))
        let writer = try MP4Writer(
            path: output, width: source.width, height: source.height, frameRate: source.frameRate,
            settings: EncoderSettings(preset: "veryfast", crf: 23))
        let start = ContinuousClock.now
        var frames = 0
        var tally = Collateral.Tally()
        for try await frame in source.frames {
            let heads = marks[frame.index]
            let before = heads.map { _ in Collateral.detail(of: frame) }
            if let pipeline { try pipeline.process(frame) }
            if let heads, let before {
                tally = tally + Collateral.tally(before: before, after: Collateral.detail(of: frame), faces: heads)
            }
            try writer.write(frame)
            frames += 1
        }
        try writer.finish()
        return (Double(frames) / seconds(ContinuousClock.now - start), tally)
    }

    /// The higher of two runs.
    static func best(_ run: () async throws -> Double) async throws -> Double {
        let first = try await run()
        return max(first, try await run())
    }

    static func measure(_ clip: String, output: String, pipeline: RedactionPipeline?) async throws -> Double {
        try await measureWithCollateral(clip, output: output, pipeline: pipeline, marks: [:]).rate
    }

    static func ffmpeg(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        process.arguments = ["-loglevel", "error", "-y"] + arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw MediaError(.encodeFailed, "ffmpeg \(arguments.joined(separator: " ")) failed")
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        duration.inSeconds
    }
}
