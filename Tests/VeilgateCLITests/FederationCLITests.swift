import Foundation
import Testing

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
    func peerLiveStream() throws {
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
        // Northtown's policy knows that camera as city.station-forecourt, from its peer; its own police may watch it
        // live.
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
        // stream's timing changes, and a blurred face that CenterFace still scores above 0.6 was counted up to 16 times
        // (checked by eye: covered) — over this test's bound of 9.
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
                "partner", "live", "city.station-forecourt", "--server", "https://127.0.0.1:\(northtownGateway.port)",
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
        let northtownAudit = try CLI.run(["audit", "show", "--state", "state", "--policy", "policies"], in: northtown)
        #expect(
            northtownAudit.output.contains("camera:city.station-forecourt/live")
                && northtownAudit.output.contains("police-live"),
            "\(northtownAudit.output)")
    }

    @Test("A camera a reloaded policy adds is ingested at once, and one it no longer shares stops, without a restart")
    func camerasFollowReloads() throws {
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

    @Test(
        "Sound is recorded only where the policy keeps it: as it came, in its own category, from the reload that keeps it on"
    )
    func audioRecording() throws {
        let folder = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let example = try Self.examplePolicy()
        /// The market square takes sound; with `keep`, it also stores it for a day. Only original video is stored, to
        /// keep the test light.
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
        Thread.sleep(forTimeInterval: 5)
        let reloaded = Date()
        try install(keep: true, version: "2026.11.2")
        kill(gateway.process.processIdentifier, SIGHUP)
        Thread.sleep(forTimeInterval: 10)  // played in real time: one full vault segment (6 s), the rest at shutdown
        #expect(gateway.stop() == 0)
        let listed = try CLI.run(
            ["vault", "list", "--state", "state", "--policy", "policies", "--camera", "market-square"], in: folder)
        let sound = listed.output.split(separator: "\n").filter { $0.contains("  audio  ") }
        #expect(sound.count >= 2, "\(listed.output)")
        #expect(
            listed.output.contains("  raw-video  ") && !listed.output.contains("redacted-video"), "\(listed.output)")
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
                ["vault", "read", segment, "--state", "state", "--policy", "policies", "-o", "sound.mp4"], in: folder
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
            text.range(of: #"duration=[0-9.]+"#, options: .regularExpression).flatMap { Double(text[$0].dropFirst(9)) }
            ?? 0
        #expect(duration >= 5, "a full vault segment holds about 6 s: \(text)")
    }

    @Test("Partners see what the policy grants, strangers nothing; revocation applies on SIGHUP; everything is audited")
    func endToEnd() throws {
        let folder = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let policy = CLI.repositoryRoot.appendingPathComponent("policies").path
        func veilgate(_ arguments: [String]) throws -> CLI.Run { try CLI.run(arguments, in: folder) }

        let (police, mall) = try Self.site(in: folder, policy: policy)
        let unknown = try veilgate(["certs", "issue", "--partner", "nobody", "--policy", policy, "--certs", "certs"])
        #expect(unknown.status != 0)
        #expect(unknown.errors.contains("the policy has no partner 'nobody'"))

        // Footage from ten minutes ago, stored redacted.
        let footage = folder.appendingPathComponent("clip.bin")
        try Data("not really video, but stored and served byte for byte".utf8).write(to: footage)
        let start = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-600))
        #expect(try veilgate(["vault", "init", "--state", "state"]).status == 0)
        let ingest = try veilgate([
            "vault", "ingest", "clip.bin", "--camera", "market-square", "--state", "state", "--policy", policy,
            "--start", start,
        ])
        #expect(ingest.status == 0, "\(ingest.errors)")
        #expect(
            try veilgate([
                "alerts", "raise", "--state", "state", "--camera", "station-forecourt", "--kind", "restricted-zone",
                "--zone", "tracks",
            ]).status == 0)

        let gateway = try Gateway(in: folder, policy: policy)
        let server = "https://127.0.0.1:\(gateway.port)"
        func get(_ path: String, as certificate: String?, _ extra: [String] = []) throws -> CLI.Run {
            try veilgate(
                ["partner", "get", path, "--server", server, "--ca", "certs/ca.pem"]
                    + (certificate.map { ["--cert", $0] } ?? []) + extra)
        }

        let policeCameras = try get("/v1/cameras", as: police)
        #expect(policeCameras.status == 0)
        #expect(policeCameras.output.contains("station-forecourt"))
        let mallCameras = try get("/v1/cameras", as: mall)
        #expect(mallCameras.output.contains("mall-entrance"))
        #expect(!mallCameras.output.contains("station-forecourt"), "the mall has no grant on the station")
        let stranger = try get("/v1/cameras", as: nil)
        #expect(stranger.status == 2, "no certificate: the handshake fails")

        let from = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-900))
        let to = ISO8601DateFormatter().string(from: Date())
        let clipPath = "/v1/cameras/market-square/clip?from=\(from)&to=\(to)"
        #expect(try get(clipPath, as: police).status == 1, "the police clip grant requires a justification")
        let clip = try get(clipPath, as: police, ["--justification", "case 2026/0815"])
        #expect(clip.status == 0)
        let segmentURL = clip.output.split(separator: "\"").first {
            $0.hasPrefix("\\/v1\\/cameras\\/market-square\\/segments\\/")
        }
        .map { $0.replacingOccurrences(of: "\\/", with: "/") }
        #expect(segmentURL != nil)
        if let segmentURL {
            let segment = try get(segmentURL, as: police, ["--justification", "case 2026/0815", "-o", "segment.out"])
            #expect(segment.status == 0)
            #expect(try Data(contentsOf: folder.appendingPathComponent("segment.out")) == Data(contentsOf: footage))
            #expect(try get(segmentURL, as: mall).status == 1, "the mall has no clip grant on the market square")
        }

        let events = try veilgate([
            "partner", "events", "--server", server, "--ca", "certs/ca.pem", "--cert", police,
            "--last-event-id", "0", "--count", "1",
        ])
        #expect(events.output.contains(#""kind":"restricted-zone""#))

        // Revoke the mall and reload: its next handshake fails, the police's still works.
        #expect(try veilgate(["certs", "revoke", "--partner", "bakerstreet-mall", "--certs", "certs"]).status == 0)
        kill(gateway.process.processIdentifier, SIGHUP)
        var refused = false
        for _ in 0..<50 where !refused {
            refused = try get("/v1/cameras", as: mall).status == 2
            if !refused { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(refused, "a revoked certificate fails the handshake after SIGHUP")
        #expect(try get("/v1/cameras", as: police).status == 0)
        #expect(gateway.stop() == 0, "SIGTERM shuts down gracefully")

        let audit = try veilgate(["audit", "verify", "--state", "state", "--policy", policy])
        #expect(audit.status == 0, "\(audit.output)\(audit.errors)")
        // The justification is audited as a keyed digest; the DPO finds the case's entries with the state folder's
        // secret.
        let justified = try veilgate([
            "audit", "justification", "case 2026/0815", "--state", "state", "--policy", policy,
        ])
        #expect(justified.status == 0, "\(justified.errors)")
        #expect(justified.output.contains("camera:market-square"), "\(justified.output)")
        #expect(
            !(try veilgate(["audit", "show", "--state", "state", "--policy", policy, "--limit", "1000"]).output
                .contains("0815")))
        let other = try veilgate(["audit", "justification", "case 2026/0816", "--state", "state", "--policy", policy])
        #expect(other.output.contains("0 entries"), "\(other.output)")
        let shown = try veilgate(["audit", "show", "--state", "state", "--policy", policy])
        #expect(shown.output.contains("partner:police"))
        #expect(shown.output.contains("police-evidence-clips"))
        #expect(!shown.output.contains("0815"), "the justification's text never reaches the audit log")
    }

    @Test(
        "Live: a file played as the market-square camera reaches the police as HLS with every face blurred and is recorded; the mall gets 403; viewing is audited"
    )
    func liveStream() throws {
        let folder = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let policy = CLI.repositoryRoot.appendingPathComponent("policies").path
        func veilgate(_ arguments: [String]) throws -> CLI.Run { try CLI.run(arguments, in: folder) }
        let (police, mall) = try Self.site(in: folder, policy: policy)
        #expect(try veilgate(["vault", "init", "--state", "state"]).status == 0)

        try Self.cityCamera(in: folder)
        let gateway = try Gateway(in: folder, policy: policy, extra: ["--camera-source", "market-square=camera.mp4"])
        let server = "https://127.0.0.1:\(gateway.port)"
        func live(_ certificate: String, _ output: String) throws -> CLI.Run {
            try veilgate([
                "partner", "live", "market-square", "--server", server, "--ca", "certs/ca.pem", "--cert", certificate,
                "-o", output, "--seconds", "4",
            ])
        }
        let watched = try live(police, "police.mp4")
        #expect(watched.status == 0, "\(watched.errors)")
        let summary = watched.errors.range(of: #"wrote \d+ segment\(s\), [0-9.]+ s"#, options: .regularExpression)
            .map { watched.errors[$0].split(separator: " ") }
        #expect((summary.flatMap { Double($0[3]) } ?? 0) >= 4, "\(watched.errors)")
        let refused = try live(mall, "mall.mp4")
        #expect(refused.status == 1, "the mall has no live grant on the market square (and a deny rule)")
        #expect(refused.errors.contains("HTTP 403"))
        #expect(gateway.stop() == 0)

        // Meanwhile the gateway recorded the camera as the policy says: original footage (the market square keeps
        // it for 72 h) and redacted with the default profile, encrypted; shutdown stored the last, shorter segments.
        let listed = try veilgate(["vault", "list", "--state", "state", "--policy", policy])
        #expect(listed.output.contains("market-square  raw-video"), "\(listed.output)")
        #expect(listed.output.contains("market-square  redacted-video"), "\(listed.output)")

        // The same face detector, on every frame: the camera is full of faces, the police's stream has none left.
        let before = try Self.faces(in: "camera.mp4", seconds: "4", folder: folder)
        let after = try Self.faces(in: "police.mp4", seconds: "4", folder: folder)
        #expect(before >= 300, "the detector finds the faces of city.jpg confidently in the source (\(before))")
        #expect(after * 50 <= before, "faces left in the live stream: \(after) of \(before)")

        let shown = try veilgate(["audit", "show", "--state", "state", "--policy", policy])
        #expect(shown.output.contains("camera:market-square/live"))
        #expect(shown.output.contains("police-live"))
        #expect(try veilgate(["audit", "verify", "--state", "state", "--policy", policy]).status == 0)
    }

    @Test("With --policy-key, SIGHUP loads only a signed, newer policy: a tampered or replayed older bundle is refused")
    func signedReload() throws {
        let folder = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        func veilgate(_ arguments: [String]) throws -> CLI.Run { try CLI.run(arguments, in: folder) }
        let bundle = folder.appendingPathComponent("policies")
        try FileManager.default.copyItem(at: CLI.repositoryRoot.appendingPathComponent("policies"), to: bundle)
        try? FileManager.default.removeItem(at: bundle.appendingPathComponent("bundle.sig"))
        let policyFile = bundle.appendingPathComponent("city-centre.yaml")
        let original = try String(contentsOf: policyFile, encoding: .utf8)
        func setVersion(_ version: String, sign: Bool) throws {
            try original.replacingOccurrences(of: #"version: "2026.11.1""#, with: #"version: "\#(version)""#)
                .write(to: policyFile, atomically: true, encoding: .utf8)
            if sign { #expect(try veilgate(["policy", "sign", "policies", "--key", "dpo.key"]).status == 0) }
        }
        #expect(try veilgate(["policy", "keygen", "--out", "dpo"]).status == 0)
        #expect(try veilgate(["policy", "sign", "policies", "--key", "dpo.key"]).status == 0)
        #expect(try veilgate(["certs", "init", "--certs", "certs"]).status == 0)
        #expect(try veilgate(["certs", "issue", "--partner", "police", "--certs", "certs"]).status == 0)
        #expect(try veilgate(["vault", "init", "--state", "state"]).status == 0)
        let police =
            "certs/issued/"
            + (try FileManager.default.contentsOfDirectory(atPath: folder.path + "/certs/issued")
            .first { $0.hasSuffix(".pem") })!

        let gateway = try Gateway(in: folder, policy: "policies", extra: ["--policy-key", "dpo.pub"])
        func versionAfterReload(expecting expected: String) throws -> String {
            kill(gateway.process.processIdentifier, SIGHUP)
            var seen = ""
            for _ in 0..<30 {
                Thread.sleep(forTimeInterval: 0.1)
                let cameras = try veilgate([
                    "partner", "get", "/v1/cameras", "--server", "https://127.0.0.1:\(gateway.port)",
                    "--ca", "certs/ca.pem", "--cert", police,
                ])
                seen =
                    cameras.output.split(separator: "\"").dropFirst().first { $0.hasPrefix("2026.") }.map(String.init)
                    ?? ""
                if seen == expected { break }
            }
            return seen
        }

        try setVersion("2026.11.5", sign: false)
        #expect(
            try versionAfterReload(expecting: "2026.11.5") == "2026.11.1",
            "a policy that no longer matches its signature is refused")
        try setVersion("2026.11.5", sign: true)
        #expect(try versionAfterReload(expecting: "2026.11.5") == "2026.11.5", "a newer signed policy is taken")
        try setVersion("2026.11.2", sign: true)
        #expect(
            try versionAfterReload(expecting: "2026.11.2") == "2026.11.5",
            "an older signed policy (a replay) is refused")

        // A revocation applies even when the policy beside it is refused (issue 15, finding 5): the bundle is still the
        // replayed older one.
        #expect(try veilgate(["certs", "revoke", "--partner", "police", "--certs", "certs"]).status == 0)
        kill(gateway.process.processIdentifier, SIGHUP)
        var refused = false
        for _ in 0..<50 where !refused {
            refused =
                try veilgate([
                    "partner", "get", "/v1/cameras", "--server", "https://127.0.0.1:\(gateway.port)",
                    "--ca", "certs/ca.pem", "--cert", police,
                ]).status == 2
            if !refused { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(refused, "the revoked police certificate fails the handshake although the policy reload was refused")
        #expect(gateway.stop() == 0)
        let log = try String(contentsOf: gateway.log, encoding: .utf8)
        #expect(log.contains("policy reload failed"))
        #expect(log.contains("policy reload refused: older version"))
        #expect(log.contains("revocation list reloaded"))

        // Issue 15, finding 6: the highest version accepted outlives a restart, and a version means one content.
        func starts() throws -> (started: Bool, errors: String) {
            do {
                let restarted = try Gateway(in: folder, policy: "policies", extra: ["--policy-key", "dpo.pub"])
                _ = restarted.stop()
                return (true, "")
            } catch {
                let logs = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter {
                    $0.hasPrefix("serve-")
                }
                let errors = try logs.map { try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8) }
                    .joined()
                return (false, errors)
            }
        }
        let replayed = try starts()  // the bundle on disk is still the older 2026.11.2
        #expect(!replayed.started, "a restart does not take an older signed bundle")
        #expect(replayed.errors.contains("older than 2026.11.5"), "\(replayed.errors)")
        try original.replacingOccurrences(of: #"version: "2026.11.1""#, with: #"version: "2026.11.5""#)
            .appending("# changed without a new version\n").write(to: policyFile, atomically: true, encoding: .utf8)
        #expect(try veilgate(["policy", "sign", "policies", "--key", "dpo.key"]).status == 0)
        let sameVersion = try starts()
        #expect(!sameVersion.started, "the same version with other content is refused")
        #expect(sameVersion.errors.contains("accepted before with other content"), "\(sameVersion.errors)")
        try setVersion("2026.11.6", sign: true)
        #expect(try starts().started, "a newer signed version starts")
    }
}
