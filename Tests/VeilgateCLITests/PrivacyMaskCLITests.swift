import Foundation
import Testing
import VeilTestSupport

/// Issue 16: a camera's privacy masks are painted over before anything else sees the frame, so they are in every
/// output — a redacted photo or clip, the police's live view, and the recordings, the original footage included.
@Suite("Privacy masks in every output", .serialized)
struct PrivacyMaskCLITests {
    typealias CLI = VeilgateCLITests

    /// The mask the tests add to the market square: the upper left of the picture (city.jpg's crowd is there too).
    static let mask = (x1: 0.05, y1: 0.05, x2: 0.35, y2: 0.45)

    static func maskedPolicy(in folder: URL) throws {
        var text = try FederationCLITests.examplePolicy()
        let anchor = "    zones:\n      - id: fountain"
        #expect(text.contains(anchor))
        let (x1, y1, x2, y2) = mask
        text = text.replacingOccurrences(
            of: anchor,
            with: """
                    masks:
                      - id: flat-windows
                        polygon: [[\(x1), \(y1)], [\(x2), \(y1)], [\(x2), \(y2)], [\(x1), \(y2)]]
                \(anchor)
                """)
        try FederationCLITests.writePolicy(text, in: folder)
    }

    /// The first picture of a file as luma: width, height and bytes (ffmpeg decodes it).
    static func firstFrameLuma(_ path: String, in folder: URL) throws -> (width: Int, height: Int, luma: [UInt8]) {
        let (width, height, luma) = try firstFrame(path, in: folder, pixelFormat: "gray", bytesPerPixel: 1)
        return (width, height, luma)
    }

    /// The first picture of a file in an FFmpeg pixel format (`gray`, `rgb24`): width, height and bytes.
    static func firstFrame(
        _ path: String, in folder: URL, pixelFormat: String, bytesPerPixel: Int
    ) throws -> (width: Int, height: Int, bytes: [UInt8]) {
        func run(_ tool: String, _ arguments: [String]) throws -> Data {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = arguments
            process.currentDirectoryURL = folder
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return data
        }
        let size = String(
            decoding: try run(
                "/usr/bin/ffprobe",
                [
                    "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                    "-of", "csv=p=0", path,
                ]), as: UTF8.self
        )
        .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").compactMap { Int($0) }
        let bytes = [UInt8](
            try run(
                "/usr/bin/ffmpeg",
                ["-v", "error", "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", pixelFormat, "-"]))
        guard size.count == 2, bytes.count == size[0] * size[1] * bytesPerPixel else {
            throw FederationCLITests.CLIError(message: "cannot decode \(path)")
        }
        return (size[0], size[1], bytes)
    }

    /// Mean and standard deviation of the luma inside the mask (kept 4 px in from its edges) and outside it.
    static func statistics(
        _ frame: (width: Int, height: Int, luma: [UInt8])
    ) -> (inside: (mean: Double, deviation: Double), outsideDeviation: Double) {
        func stats(_ values: [Double]) -> (mean: Double, deviation: Double) {
            let mean = values.reduce(0, +) / Double(max(1, values.count))
            return (
                mean,
                (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(1, values.count))).squareRoot()
            )
        }
        let (w, h) = (Double(frame.width), Double(frame.height))
        var inside: [Double] = [], outside: [Double] = []
        for y in 0..<frame.height {
            for x in 0..<frame.width {
                let value = Double(frame.luma[y * frame.width + x])
                let (px, py) = (Double(x), Double(y))
                if px > mask.x1 * w + 4, px < mask.x2 * w - 4, py > mask.y1 * h + 4, py < mask.y2 * h - 4 {
                    inside.append(value)
                } else if px > mask.x2 * w + 4 || py > mask.y2 * h + 4 {
                    outside.append(value)
                }
            }
        }
        return (stats(inside), stats(outside).deviation)
    }

    static func expectMasked(_ path: String, in folder: URL, tolerance: Double, _ what: String) throws {
        let statistics = statistics(try firstFrameLuma(path, in: folder))
        // Mid grey: luma 128 in video's limited range, about 130 once a picture is turned into full-range RGB (PNG).
        #expect(
            (126...132).contains(statistics.inside.mean) && statistics.inside.deviation <= tolerance,
            "\(what): under the mask mean \(statistics.inside.mean), deviation \(statistics.inside.deviation)")
        #expect(
            statistics.outsideDeviation > 20,
            "\(what): the rest of the picture is still the scene (\(statistics.outsideDeviation))")
    }

    @Test(
        "veilgate redact --camera and analyse paint the camera's masks; a self-crossing mask is refused with its position"
    )
    func redactAndLint() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            try Self.maskedPolicy(in: folder)
            let city = CLI.repositoryRoot.deletingLastPathComponent().appendingPathComponent(
                "shared/data/faces/city.jpg"
            )
            .path
            let redacted = try CLI.run(
                ["redact", city, "-o", "masked.png", "--camera", "market-square", "--policy", "policies"], in: folder)
            #expect(redacted.status == 0, "\(redacted.errors)")
            #expect(redacted.errors.contains("painting 1 privacy mask(s) of camera market-square"))
            try Self.expectMasked("masked.png", in: folder, tolerance: 0.5, "redact (PNG)")
            // Without --camera nothing is masked: the mask belongs to the camera, not to every picture.
            #expect(try CLI.run(["redact", city, "-o", "plain.png", "--policy", "policies"], in: folder).status == 0)
            #expect(Self.statistics(try Self.firstFrameLuma("plain.png", in: folder)).inside.deviation > 20)

            try FederationCLITests.cityCamera(in: folder)
            let analysed = try CLI.run(
                ["analyse", "camera.mp4", "--camera", "market-square", "--policy", "policies", "--seconds", "1"],
                in: folder
            )
            #expect(analysed.status == 0 && analysed.errors.contains("under 1 privacy mask(s)"), "\(analysed.errors)")

            var text = try String(contentsOf: folder.appendingPathComponent("policies/policy.yaml"), encoding: .utf8)
            // a bow tie
            text = text.replacingOccurrences(of: "[0.35, 0.45], [0.05, 0.45]", with: "[0.05, 0.45], [0.35, 0.45]")
            try FederationCLITests.writePolicy(text, in: folder)
            let lint = try CLI.run(["policy", "lint", "policies"], in: folder)
            #expect(lint.status != 0)
            #expect(
                lint.output.contains("mask 'flat-windows': the polygon crosses itself")
                    || lint.errors.contains("mask 'flat-windows': the polygon crosses itself"),
                "\(lint.output)\(lint.errors)")
            #expect((lint.output + lint.errors).contains("policy.yaml:"), "with its position")
        }
    }

    @Test("served and recorded: the police's live view and the raw and redacted recordings all carry the mask")
    func liveAndRecorded() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            try Self.maskedPolicy(in: folder)
            let (police, _) = try FederationCLITests.site(in: folder, policy: "policies")
            #expect(try CLI.run(["vault", "init", "--state", "state"], in: folder).status == 0)
            try FederationCLITests.cityCamera(in: folder)
            #expect(
                Self.statistics(try Self.firstFrameLuma("camera.mp4", in: folder)).inside.deviation > 20,
                "the source has a scene there")

            let gateway = try FederationCLITests.Gateway(
                in: folder, policy: "policies",
                extra: [
                    "--camera-source", "market-square=camera.mp4",
                    "--no-analytics",
                ])
            let watched = try CLI.run(
                [
                    "partner", "live", "market-square", "--server", "https://127.0.0.1:\(gateway.port)", "--ca",
                    "certs/ca.pem",
                    "--cert", police, "-o", "police.mp4", "--seconds", "3",
                ], in: folder)
            #expect(watched.status == 0, "\(watched.errors)")
            #expect(gateway.stop() == 0)
            try Self.expectMasked("police.mp4", in: folder, tolerance: 3, "the police's live view")

            let listed = try CLI.run(
                ["vault", "list", "--state", "state", "--policy", "policies", "--camera", "market-square"], in: folder)
            for category in ["raw-video", "redacted-video"] {
                let line = listed.output.split(separator: "\n").first { $0.contains("  \(category)  ") }
                let segment = try #require(line?.split(separator: " ").first.map(String.init), "\(listed.output)")
                #expect(
                    try CLI.run(
                        [
                            "vault", "read", segment, "--state", "state", "--policy", "policies", "-o",
                            "\(category).mp4",
                        ],
                        in: folder
                    ).status == 0)
                try Self.expectMasked("\(category).mp4", in: folder, tolerance: 3, "the \(category) recording")
            }

            // A subject access (Art. 15) on the same footage: the people listed first, one chosen, the export signed,
            // and the mask in it too.
            let range = [
                "--camera", "market-square", "--from",
                ISO8601DateFormatter().string(from: Date().addingTimeInterval(-3600)),
                "--to", ISO8601DateFormatter().string(from: Date().addingTimeInterval(60)),
                "--state", "state", "--policy", "policies",
            ]
            let listedPeople = try CLI.run(["subject-access"] + range + ["--detections", "people.jsonl"], in: folder)
            #expect(listedPeople.status == 0, "\(listedPeople.errors)")
            let people = try String(contentsOf: folder.appendingPathComponent("people.jsonl"), encoding: .utf8)
            let first = try #require(people.split(separator: "\n").first, "no person found in the recording")
            let track = try #require(
                (try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])?["track"] as? Int)
            let answered = try CLI.run(
                ["subject-access"] + range + ["--select", "track:\(track)", "--request", "SAR-1", "-o", "sar"],
                in: folder)
            #expect(answered.status == 0, "\(answered.errors)")
            #expect(answered.output.contains("the subject is shown in"), "\(answered.output)")
            let verified = try CLI.run(
                ["vault", "verify-export", "sar", "--public-key", "state/keys/gateway-signing.pub"], in: folder)
            #expect(verified.status == 0 && verified.output.contains("subject access"), "\(verified.output)")
            let part = try #require(
                try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("sar/video").path)
                    .first)
            // The export covers the whole picture coarsely (blocks of a 36th of its height): the mask's edges blend in
            // a little, its grey stays.
            try Self.expectMasked("sar/video/\(part)", in: folder, tolerance: 10, "the subject-access export")
            let refused = try CLI.run(
                ["subject-access"] + range + ["--select", "0.5,0.5@+99999", "-o", "sar-2"], in: folder)
            #expect(refused.status != 0 && refused.errors.contains("no footage of that moment"), "\(refused.errors)")
        }
    }
}
