import Foundation
import Testing
import VeilTestSupport

/// Revocation, policy reloads and signed bundles on a running gateway (the rest of `FederationCLITests`).
extension FederationCLITests {
    @Test("Partners see what the policy grants, strangers nothing; revocation applies on SIGHUP; everything is audited")
    func endToEnd() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let policy = CLI.repositoryRoot.appendingPathComponent("policies").path
            func veilgate(_ arguments: [String]) throws -> CLI.Run { try CLI.run(arguments, in: folder) }

            let (police, mall) = try Self.site(in: folder, policy: policy)
            let unknown = try veilgate([
                "certs", "issue", "--partner", "nobody", "--policy", policy, "--certs", "certs",
            ])
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
                let segment = try get(
                    segmentURL, as: police, ["--justification", "case 2026/0815", "-o", "segment.out"])
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
                if !refused { try await Task.sleep(for: .seconds(0.1)) }
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
            let other = try veilgate([
                "audit", "justification", "case 2026/0816", "--state", "state", "--policy", policy,
            ])
            #expect(other.output.contains("0 entries"), "\(other.output)")
            let shown = try veilgate(["audit", "show", "--state", "state", "--policy", policy])
            #expect(shown.output.contains("partner:police"))
            #expect(shown.output.contains("police-evidence-clips"))
            #expect(!shown.output.contains("0815"), "the justification's text never reaches the audit log")
        }
    }

    @Test(
        "Live: a file played as the market-square camera reaches the police as HLS with every face blurred and is recorded; the mall gets 403; viewing is audited"
    )
    func liveStream() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let policy = CLI.repositoryRoot.appendingPathComponent("policies").path
            func veilgate(_ arguments: [String]) throws -> CLI.Run { try CLI.run(arguments, in: folder) }
            let (police, mall) = try Self.site(in: folder, policy: policy)
            #expect(try veilgate(["vault", "init", "--state", "state"]).status == 0)

            try Self.cityCamera(in: folder)
            let gateway = try Gateway(
                in: folder, policy: policy, extra: ["--camera-source", "market-square=camera.mp4"])
            let server = "https://127.0.0.1:\(gateway.port)"
            func live(_ certificate: String, _ output: String) throws -> CLI.Run {
                try veilgate([
                    "partner", "live", "market-square", "--server", server, "--ca", "certs/ca.pem", "--cert",
                    certificate,
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
            // it for 72 h) and redacted with the default profile, encrypted; shutdown stored the last, shorter
            // segments.
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
    }

    @Test("With --policy-key, SIGHUP loads only a signed, newer policy: a tampered or replayed older bundle is refused")
    func signedReload() async throws {
        try await HeavyTest.run {
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
                        cameras.output.split(separator: "\"").dropFirst().first { $0.hasPrefix("2026.") }.map(
                            String.init)
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

            // A revocation applies even when the policy beside it is refused (issue 15, finding 5): the bundle is still
            // the replayed older one.
            #expect(try veilgate(["certs", "revoke", "--partner", "police", "--certs", "certs"]).status == 0)
            kill(gateway.process.processIdentifier, SIGHUP)
            var refused = false
            for _ in 0..<50 where !refused {
                refused =
                    try veilgate([
                        "partner", "get", "/v1/cameras", "--server", "https://127.0.0.1:\(gateway.port)",
                        "--ca", "certs/ca.pem", "--cert", police,
                    ]).status == 2
                if !refused { try await Task.sleep(for: .seconds(0.1)) }
            }
            #expect(
                refused, "the revoked police certificate fails the handshake although the policy reload was refused")
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
                    let errors = try logs.map {
                        try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8)
                    }
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
}
