import Foundation
import VeilCore
import VeilGateway
import VeilMedia
import VeilVault
import VeilVision

/// What keeping an unmask layer costs beside the redacted video, against keeping raw video instead (issue 16): on 30 s
/// of vtest (768×576, 10 fps, a busy square) with the default profile's covers, the layer's bytes and the time to
/// build it (copying the covered pixels, encoding each track's, sealing) against encoding the same frames as raw video
/// (the baseline, in the same run). Detection is shared by both and left out. One core, one thread.
enum UnmaskBenchmark {
    static func run() async throws {
        let vtest = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
                "shared/data/video/vtest.avi"
            ).path
        let models = VisionModels(directory: ProcessInfo.processInfo.environment["VEILGATE_MODELS"] ?? ".cache/models")
        VisionRuntime.setThreads(1)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("veilgate-unmask-bench-\(UUID())")
            .path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let approvers = try ["dpo", "duty-officer"].map { role in
            UnmaskApprover(role: role, key: try RecipientKey.generate(writingTo: folder + "/" + role))
        }
        let profile = RedactionSpec(classes: [.faces, .plates], mode: .blur, shape: .ellipse, margin: 0.15)
        let pipeline = RedactionPipeline(
            spec: profile, detectors: try models.detectors(for: profile.classes, headsOfPeople: true).detectors,
            options: .init(detectEvery: 5))
        var recorder = UnmaskLayerRecorder(camera: "bench", redaction: profile, approvers: approvers)
        let source = try MediaSource(address: vtest, options: SourceOptions(decoderThreads: 1))
        var raw: FragmentedMP4Stream?
        var (rawSeconds, layerSeconds) = (0.0, 0.0)
        var (rawBytes, layerBytes, frames) = (0, 0, 0)
        var segmentStart = 0.0
        let origin = Date()
        func timed(_ body: () throws -> Void) rethrows -> Double {
            let start = ContinuousClock.now
            try body()
            return MediaBenchmark.seconds(ContinuousClock.now - start)
        }
        while let frame = try source.nextFrame(), frame.time < 30 {
            frames += 1
            let covered = try pipeline.track(frame)
            if frame.time - segmentStart >= 6, let stream = raw {
                rawSeconds += try timed { rawBytes += try stream.finishedFile().count }
                raw = nil
                layerSeconds += try timed {
                    layerBytes += try recorder.layer(start: segmentStart, end: frame.time, origin: origin)?.count ?? 0
                }
                segmentStart = frame.time
            }
            layerSeconds += timed { recorder.capture(covered, from: frame) }
            rawSeconds += try timed {
                if raw == nil {
                    raw = try FragmentedMP4Stream(width: frame.width, height: frame.height, frameRate: source.frameRate)
                }
                try raw?.write(frame)
            }
        }
        if let stream = raw {
            rawSeconds += try timed { rawBytes += try stream.finishedFile().count }
            layerSeconds += try timed {
                layerBytes += try recorder.layer(start: segmentStart, end: 1e9, origin: origin)?.count ?? 0
            }
        }
        print("== unmask layer beside the redacted video, against raw video: vtest 30 s, \(frames) frames, one core ==")
        print(
            String(
                format: "baseline: raw video (H.264 veryfast, CRF 23)   %6.2f ms a frame  %8d bytes",
                rawSeconds * 1000 / Double(frames),
                rawBytes))
        print(
            String(
                format:
                    "unmask layer (copy, encode per track, seal)    %6.2f ms a frame  %8d bytes  (%.2f× the time, %.0f %% of the bytes)",
                layerSeconds * 1000 / Double(frames), layerBytes, layerSeconds / max(rawSeconds, 1e-9),
                100 * Double(layerBytes) / Double(max(rawBytes, 1))))
    }
}
