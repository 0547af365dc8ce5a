import Foundation
import Testing
import VeilTestSupport

/// Issue 5's "done when", end to end through the binary with the example policy: two partners with
/// different grants and an unknown client see exactly what `policies/city-centre.yaml` says.
@Suite("veilgate serve, certs and partner (real policy, real TLS)", .serialized)
struct FederationCLITests {
    typealias CLI = VeilgateCLITests

    /// A `veilgate serve` process on an ephemeral port, stopped with SIGTERM.
    final class Gateway {
        let process = Process()
        let port: Int
        let output = Pipe()

        let log: URL

        init(in folder: URL, policy: String, extra: [String] = []) throws {
            process.executableURL = CLI.binary
            process.arguments =
                [
                    "serve", "--policy", policy, "--state", "state", "--certs", "certs", "--host", "127.0.0.1",
                    "--port", "0",
                ]
                // CI containers run as root
                + (geteuid() == 0 && !extra.contains("--user") ? ["--allow-root"] : []) + extra
            process.currentDirectoryURL = folder
            process.environment = CLI.environment
            process.standardOutput = output
            log = folder.appendingPathComponent("serve-\(UUID().uuidString).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: log)
            try process.run()
            var text = ""
            let deadline = Date().addingTimeInterval(30)
            while !text.contains("(mutual TLS)"), Date() < deadline {
                let data = output.fileHandleForReading.availableData
                if data.isEmpty { break }
                text += String(decoding: data, as: UTF8.self)
            }
            guard let range = text.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression),
                let port = Int(text[range].split(separator: ":").last ?? "")
            else {
                process.terminate()
                throw CLIError(message: "veilgate serve did not start: \(text)")
            }
            self.port = port
        }

        /// SIGTERM, then up to a minute for the graceful shutdown; a gateway that hangs is killed and reported (-1).
        func stop() -> Int32 {
            if process.isRunning { process.terminate() }
            let deadline = Date().addingTimeInterval(60)
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            guard !process.isRunning else {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return -1
            }
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    struct CLIError: Error { var message: String }

    /// A site PKI in `folder/certs` with certificates for the police and the mall: their paths, relative to `folder`.
    static func site(in folder: URL, policy: String) throws -> (police: String, mall: String) {
        #expect(try CLI.run(["certs", "init", "--certs", "certs"], in: folder).status == 0)
        for partner in ["police", "bakerstreet-mall"] {
            let issued = try CLI.run(
                ["certs", "issue", "--partner", partner, "--policy", policy, "--certs", "certs"], in: folder)
            #expect(issued.status == 0, "\(issued.errors)")
        }
        let issued = try FileManager.default.contentsOfDirectory(atPath: folder.path + "/certs/issued")
        func certificate(_ partner: String) throws -> String {
            "certs/issued/" + (try #require(issued.first { $0.hasPrefix(partner + "-") && $0.hasSuffix(".pem") }))
        }
        return (try certificate("police"), try certificate("bakerstreet-mall"))
    }

    /// The "camera": city.jpg (about 17 faces) as an 8-second clip `camera.mp4`, which a gateway plays in real time and
    /// loops.
    static func cityCamera(in folder: URL) throws {
        let city = CLI.repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data/faces/city.jpg")
            .path
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        ffmpeg.arguments = [
            "-v", "error", "-loop", "1", "-framerate", "10", "-i", city, "-t", "8", "-c:v", "libx264", "-preset",
            "veryfast",
            "-pix_fmt", "yuv420p", "-y", folder.appendingPathComponent("camera.mp4").path,
        ]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        #expect(ffmpeg.terminationStatus == 0)
    }

    /// The example policy's text, for tests that edit it.
    static func examplePolicy() throws -> String {
        try String(contentsOf: CLI.repositoryRoot.appendingPathComponent("policies/city-centre.yaml"), encoding: .utf8)
    }

    /// Writes `text` as the only policy of `folder/policies` (what `--policy policies` loads).
    static func writePolicy(_ text: String, in folder: URL) throws {
        let policies = folder.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        try text.write(to: policies.appendingPathComponent("policy.yaml"), atomically: true, encoding: .utf8)
    }

    /// Faces CenterFace finds in the first `seconds` of `file`, on every frame (through `veilgate redact`).
    static func faces(in file: String, seconds: String, folder: URL) throws -> Int {
        // Confident faces only: at the default 0.2 the detector also finds hands and blurred head-shaped blobs, which
        // identify no one. 0.7: a blurred face (an even oval where a head is) still scores up to 0.6–0.7 — checked by
        // eye on the relayed stream, where one such oval was counted 10 times — while city.jpg's sharp faces are found
        // 369 times in 4 s at 0.7 (451 at 0.6), so the bound below still means "no face left".
        // Counted with CenterFace whatever redacted the stream (YuNet, for video): the measure is not the thing
        // measured.
        let centerFace = (CLI.environment["VEILGATE_MODELS"] ?? "") + "/centerface.onnx"
        let run = try CLI.run(
            [
                "redact", file, "-o", "check-\(file).mp4", "--classes", "faces", "--no-heads", "--detect-every", "1",
                "--face-model", centerFace,
                "--face-threshold", "0.7", "--seconds", seconds,
            ], in: folder)
        #expect(run.status == 0, "\(run.errors)")
        guard let match = run.output.range(of: #"detections: (\d+) faces"#, options: .regularExpression) else {
            return 0
        }
        return Int(run.output[match].split(separator: " ")[1]) ?? 0
    }

    @Test(
        "Gateway to gateway, live: a peer's camera that its grant lets this site re-share reaches this site's police, redacted, audited at both sites"
    )
    func peerLiveStream() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let example = try Self.examplePolicy()
            func write(_ text: String, site: String) throws -> URL {
                try Self.writePolicy(text, in: folder.appendingPathComponent(site))
                return folder.appendingPathComponent(site)
            }
            func replacing(_ old: String, _ new: String, in text: String) throws -> String {
                try #require(text.contains(old), "the example policy still has: \(old)")
                return text.replacingOccurrences(of: old, with: new)
            }
            // The city site lets Northtown watch its station forecourt at any hour, unredacted, and pass it on: what
            // Northtown's partners see is redacted by Northtown.
            let cityPolicy = try replacing(
                """
                        redaction: strict
                        windows:
                          - days: [fri, sat]
                            from: "22:00"
                            to: "04:00"
                """,
                """
                        redaction: unredacted
                        reshare: true
                        legal-ground: "inter-municipal agreement, § 4: forwarding to Northtown's police"
                """, in: example)
            let city = try write(cityPolicy, site: "city")
            // Northtown's policy knows that camera as city.station-forecourt, from its peer; its own police may watch
            // it live.
            var northtownPolicy = example.replacingOccurrences(of: "station-forecourt", with: "city.station-forecourt")
            northtownPolicy = try replacing(
                "    source: rtsp://10.20.0.12:554/stream1\n    credentials: {env: VEILGATE_STATION_CREDENTIALS}\n",
                "    source: peer://city/station-forecourt\n", in: northtownPolicy)
            let northtown = try write(northtownPolicy, site: "northtown")

            _ = try Self.site(in: city, policy: "policies")
            #expect(
                try CLI.run(
                    ["certs", "issue", "--partner", "northtown-gateway", "--policy", "policies", "--certs", "certs"],
                    in: city
                ).status == 0)
            let issued = try FileManager.default.contentsOfDirectory(atPath: city.path + "/certs/issued")
            let northtownCertificate = try #require(
                issued.first { $0.hasPrefix("northtown-gateway-") && $0.hasSuffix(".pem") })
            let (police, _) = try Self.site(in: northtown, policy: "policies")
            for site in [city, northtown] {
                #expect(try CLI.run(["vault", "init", "--state", "state"], in: site).status == 0)
            }
            try Self.cityCamera(in: city)

            // Analytics off: this test is about relaying. With the city's detectors busy too, on two cores, the relayed
            // stream's timing changes, and a blurred face that CenterFace still scores above 0.6 was counted up to 16
            // times (checked by eye: covered) — over this test's bound of 9.
            let cityGateway = try Gateway(
                in: city, policy: "policies",
                extra: ["--camera-source", "station-forecourt=camera.mp4", "--no-record", "--no-analytics"])
            defer { _ = cityGateway.stop() }
            try """
            peers:
              - id: city
                url: https://127.0.0.1:\(cityGateway.port)
                ca: ../city/certs/ca.pem
                certificate: ../city/certs/issued/\(northtownCertificate)
                key: ../city/certs/issued/\(northtownCertificate.dropLast(4)).key
            """.write(to: northtown.appendingPathComponent("federation.yaml"), atomically: true, encoding: .utf8)
            let northtownGateway = try Gateway(
                in: northtown, policy: "policies", extra: ["--federation", "federation.yaml"])
            let watched = try CLI.run(
                [
                    "partner", "live", "city.station-forecourt", "--server",
                    "https://127.0.0.1:\(northtownGateway.port)",
                    "--ca", "certs/ca.pem", "--cert", police, "-o", "police.mp4", "--seconds", "4",
                ], in: northtown)
            #expect(northtownGateway.stop() == 0)
            #expect(cityGateway.stop() == 0)
            let northtownLog = try String(contentsOf: northtownGateway.log, encoding: .utf8)
            #expect(watched.status == 0, "\(watched.errors)\n\(northtownLog)")
            #expect(northtownLog.contains("relaying a peer's camera"), "\(northtownLog)")

            // Northtown relays, it does not keep: its vault has nothing of the city's camera, whatever its policy would
            // store.
            let stored = try CLI.run(["vault", "list", "--state", "state", "--policy", "policies"], in: northtown)
            #expect(stored.status == 0 && !stored.output.contains("city.station-forecourt"), "\(stored.output)")

            // Northtown's police get the city's unredacted camera with no face left to find.
            try FileManager.default.copyItem(
                at: city.appendingPathComponent("camera.mp4"), to: northtown.appendingPathComponent("camera.mp4"))
            let before = try Self.faces(in: "camera.mp4", seconds: "4", folder: northtown)
            let after = try Self.faces(in: "police.mp4", seconds: "4", folder: northtown)
            #expect(before >= 300, "the detector finds the faces of city.jpg confidently in the source (\(before))")
            #expect(after * 50 <= before, "faces left in the relayed stream: \(after) of \(before)")

            // Each site audited its own partner: the city the Northtown gateway under its re-share grant, Northtown its
            // police.
            let cityAudit = try CLI.run(["audit", "show", "--state", "state", "--policy", "policies"], in: city)
            #expect(
                cityAudit.output.contains("camera:station-forecourt/live")
                    && cityAudit.output.contains("northtown-station-live"),
                "\(cityAudit.output)")
            let northtownAudit = try CLI.run(
                ["audit", "show", "--state", "state", "--policy", "policies"], in: northtown)
            #expect(
                northtownAudit.output.contains("camera:city.station-forecourt/live")
                    && northtownAudit.output.contains("police-live"),
                "\(northtownAudit.output)")
        }
    }

    @Test("A camera a reloaded policy adds is ingested at once, and one it no longer shares stops, without a restart")
    func camerasFollowReloads() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let example = try Self.examplePolicy()
            func install(_ version: String, _ edit: (String) -> String = { $0 }) throws {
                #expect(example.contains(#"version: "2026.11.1""#))
                try Self.writePolicy(
                    edit(example.replacingOccurrences(of: #"version: "2026.11.1""#, with: #"version: "\#(version)""#)),
                    in: folder)
            }
            // As shipped, no camera can be reached here (their credentials are missing): nothing is ingested.
            try install("2026.11.1")
            let (police, _) = try Self.site(in: folder, policy: "policies")
            #expect(try CLI.run(["vault", "init", "--state", "state"], in: folder).status == 0)
            try Self.cityCamera(in: folder)
            // Analytics off: with them, the market square stays ingested for its analytics after its live grant goes.
            let gateway = try Gateway(in: folder, policy: "policies", extra: ["--no-record", "--no-analytics"])
            defer { _ = gateway.stop() }
            func watch() throws -> CLI.Run {
                try CLI.run(
                    [
                        "partner", "live", "market-square", "--server", "https://127.0.0.1:\(gateway.port)", "--ca",
                        "certs/ca.pem",
                        "--cert", police, "-o", "police.mp4", "--seconds", "2",
                    ], in: folder)
            }
            func reload(_ version: String, _ edit: @escaping (String) -> String) throws {
                try install(version, edit)
                kill(gateway.process.processIdentifier, SIGHUP)
                Thread.sleep(forTimeInterval: 3)  // the reload, then the supervisor's next look (every second)
            }
            let source =
                "    source: rtsp://10.20.0.11:554/stream1\n    credentials: {file: /etc/veilgate/secrets/market-square}\n"
            #expect(example.contains(source))
            let fromFile: (String) -> String = { $0.replacingOccurrences(of: source, with: "    source: camera.mp4\n") }

            // The DPO points the market square at a source this gateway can read: the police can watch it at once.
            try reload("2026.11.2", fromFile)
            let watched = try watch()
            #expect(watched.status == 0, "\(watched.errors)")
            #expect(watched.errors.contains("wrote "), "\(watched.errors)")

            // The police's live grant no longer covers the market square, and nothing records it: its pipeline stops.
            let liveGrant =
                "      - id: police-live\n        action: live\n        purpose: public-safety\n        cameras: [market-square, station-forecourt]\n"
            #expect(example.contains(liveGrant))
            try reload("2026.11.3") {
                fromFile($0).replacingOccurrences(
                    of: liveGrant, with: liveGrant.replacingOccurrences(of: "market-square, ", with: ""))
            }
            let refused = try watch()
            #expect(refused.status == 1 && refused.errors.contains("HTTP 403"), "\(refused.errors)")
            #expect(gateway.stop() == 0)
            let log = try String(contentsOf: gateway.log, encoding: .utf8)
            #expect(log.contains("camera=market-square [VeilGateway] camera streaming"), "\(log)")
            #expect(
                log.contains("camera=market-square [VeilGateway] camera no longer ingested under the policy in force"),
                "\(log)")
        }
    }

    @Test(
        "Sound is recorded only where the policy keeps it: as it came, in its own category, from the reload that keeps it on"
    )
    func audioRecording() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let example = try Self.examplePolicy()
            /// The market square takes sound; with `keep`, it also stores it for a day. Only original video is stored,
            /// to keep the test light.
            func install(keep: Bool, version: String) throws {
                var policy = example
                for (old, new) in [
                    (
                        "    produces: [raw-video, redacted-video, events, counts]\n    analytics: [restricted-zone, loitering, crowd-count, unattended-object]\n    audio: false\n",
                        "    produces: [raw-video\(keep ? ", audio" : ""), events, counts]\n    analytics: [restricted-zone, loitering, crowd-count, unattended-object]\n    audio: true\n"
                    ),
                    (
                        "retention:\n  rules:\n",
                        "retention:\n  rules:\n    - id: sound-24h\n      cameras: [market-square]\n      category: audio\n      duration: 24h\n"
                    ),
                    (#"version: "2026.11.1""#, #"version: "\#(version)""#),
                ] {
                    try #require(policy.contains(old), "the example policy still has: \(old)")
                    policy = policy.replacingOccurrences(of: old, with: new)
                }
                try Self.writePolicy(policy, in: folder)
            }
            try install(keep: false, version: "2026.11.1")
            _ = try Self.site(in: folder, policy: "policies")
            #expect(try CLI.run(["vault", "init", "--state", "state"], in: folder).status == 0)
            let megamind = CLI.repositoryRoot.deletingLastPathComponent().appendingPathComponent(
                "shared/data/video/Megamind.avi"
            ).path

            // First the camera's sound is taken but not kept; then a reload keeps it (the pipeline restarts).
            let gateway = try Gateway(
                in: folder, policy: "policies", extra: ["--camera-source", "market-square=\(megamind)"])
            defer { _ = gateway.stop() }
            try await Task.sleep(for: .seconds(5))
            let reloaded = Date()
            try install(keep: true, version: "2026.11.2")
            kill(gateway.process.processIdentifier, SIGHUP)
            // Played in real time: one full vault segment (6 s), the rest at shutdown.
            try await Task.sleep(for: .seconds(10))
            #expect(gateway.stop() == 0)
            let listed = try CLI.run(
                ["vault", "list", "--state", "state", "--policy", "policies", "--camera", "market-square"], in: folder)
            let sound = listed.output.split(separator: "\n").filter { $0.contains("  audio  ") }
            #expect(sound.count >= 2, "\(listed.output)")
            #expect(
                listed.output.contains("  raw-video  ") && !listed.output.contains("redacted-video"), "\(listed.output)"
            )
            // Nothing of the sound from before the reload: every audio segment starts after it.
            let starts = sound.compactMap { line in
                line.split(separator: " ").dropFirst().first.flatMap { ISO8601DateFormatter().date(from: String($0)) }
            }
            #expect(
                starts.count == sound.count && starts.allSatisfy { $0 >= reloaded.addingTimeInterval(-1) },
                "\(listed.output), reload at \(reloaded)")

            // A stored segment decrypts to an MP4 of the camera's own AC-3 sound.
            let segment = String(try #require(sound.first?.split(separator: " ").first))
            #expect(
                try CLI.run(
                    ["vault", "read", segment, "--state", "state", "--policy", "policies", "-o", "sound.mp4"],
                    in: folder
                ).status == 0)
            let probe = Process()
            let output = Pipe()
            probe.executableURL = URL(fileURLWithPath: "/usr/bin/ffprobe")
            probe.arguments = [
                "-v", "error", "-show_entries", "stream=codec_type,codec_name:format=duration", "-of", "compact",
                folder.appendingPathComponent("sound.mp4").path,
            ]
            probe.standardOutput = output
            try probe.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            probe.waitUntilExit()
            #expect(text.contains("codec_name=ac3|codec_type=audio"), "\(text)")
            let duration =
                text.range(of: #"duration=[0-9.]+"#, options: .regularExpression).flatMap {
                    Double(text[$0].dropFirst(9))
                }
                ?? 0
            #expect(duration >= 5, "a full vault segment holds about 6 s: \(text)")
        }
    }
}
