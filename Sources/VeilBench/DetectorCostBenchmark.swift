import Foundation
import VeilCore
import VeilMedia
import VeilVision

/// Where a detection pass's time goes: each detector alone, in milliseconds per call, on the frames a camera pipeline
/// detects on (every 10th of the 720p clip), with the decode of those frames as the baseline. One core, one thread.
enum DetectorCostBenchmark {
    static func run() async throws {
        let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
                "shared/data/video/vtest.avi"
            ).path
        let models = VisionModels(directory: ProcessInfo.processInfo.environment["VEILGATE_MODELS"] ?? ".cache/models")
        VisionRuntime.setThreads(1)
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("veilgate-detector-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let clip = folder + "/720p.mp4"
        try MediaBenchmark.ffmpeg([
            "-i", shared, "-t", "12", "-vf", "fps=25,scale=1280:720", "-c:v", "libx264",
            "-preset", "veryfast", "-crf", "23", "-an", clip,
        ])
        var frames: [VideoFrame] = []
        let source = try MediaSource(address: clip, options: SourceOptions(decoderThreads: 1))
        let start = ContinuousClock.now
        var decoded = 0
        for try await frame in source.frames {
            decoded += 1
            if frame.index % 10 == 0 { frames.append(frame) }
        }
        let decode = MediaBenchmark.seconds(ContinuousClock.now - start) * 1000 / Double(decoded)
        print("== detector cost per call: 720p, \(frames.count) frames (every 10th), one core ==")
        print(String(format: "baseline: decoding one frame                       %7.1f ms", decode))
        let detectors: [(String, () throws -> any ObjectDetector)] = [
            ("faces: CenterFace, input 640", { try models.faces() }),
            ("people: SSDLite whole frame 400×300", { try models.people(threshold: 0.2) }),
            ("people: SSDLite frame + 2×2 tiles", { try models.people(tiles: 2, threshold: 0.2) }),
            ("plates: PP-OCR text, long side 640", { try models.plates() }),
            ("motion: frame difference", { MotionDetector() }),
        ]
        for (label, make) in detectors {
            let detector = try make()
            _ = try detector.detect(in: frames[0])
            let begin = ContinuousClock.now
            var found = 0
            for frame in frames { found += try detector.detect(in: frame).count }
            let perCall = MediaBenchmark.seconds(ContinuousClock.now - begin) * 1000 / Double(frames.count)
            let name = label.padding(toLength: 44, withPad: " ", startingAt: 0)
            print(String(format: "%@ %7.1f ms  (%.1f× a decode; %d boxes)", name, perCall, perCall / decode, found))
        }
    }
}
