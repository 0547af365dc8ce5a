import Foundation
import Testing

/// `veilgate watchlist` and `watchlist-match` end to end, on a real plate photo made into a clip: a partner's list kept
/// as keyed hashes, a match raised by `analyse` and by a running gateway's camera, carrying the partner's reference —
/// to that partner alone — and the plate itself nowhere: not in the state folder, the output, the log or the stream.
@Suite("veilgate watchlist (real plate photo)")
struct WatchlistCLITests {
    typealias CLI = VeilgateCLITests

    static let photos = CLI.repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data/plates/eu")

    /// The camera: eu1.jpg (one car, one plate) as a 3-second clip; and that plate's text, from the set's ground truth.
    static func plateCamera(in folder: URL) throws -> String {
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        ffmpeg.arguments = [
            "-v", "error", "-loop", "1", "-framerate", "10", "-i", photos.appendingPathComponent("eu1.jpg").path, "-t",
            "3", "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt",
            "yuv420p", "-y", folder.appendingPathComponent("plate.mp4").path,
        ]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        #expect(ffmpeg.terminationStatus == 0)
        let truth = try String(contentsOf: photos.appendingPathComponent("eu1.txt"), encoding: .utf8)
        return try #require(truth.split(whereSeparator: { $0 == "\t" || $0 == " " || $0 == "\n" }).dropFirst(5).first)
            .description
    }

    @Test("import, list, analyse, clear: a match names the police's entry, never the plate; bad lists refused by line")
    func watchlistOnAClip() async throws {
        let folder = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let plate = try Self.plateCamera(in: folder)
        let policy = CLI.repositoryRoot.appendingPathComponent("policies").path
        func veilgate(_ arguments: [String]) async throws -> CLI.Run { try await CLI.runAsync(arguments, in: folder) }
        // Written as people write plates: with a dash and a space.
        let listed = plate.prefix(2) + "-" + plate.dropFirst(2).prefix(1) + " " + plate.dropFirst(3)
        try "# City Police test list\n\(listed),case-2026-0917\nB-AB 123,stolen-1\n".write(
            to: folder.appendingPathComponent("police.csv"), atomically: true, encoding: .utf8)
        try "\(listed),ok\nX,short\n".write(
            to: folder.appendingPathComponent("bad.csv"), atomically: true, encoding: .utf8)

        let bad = try await veilgate(["watchlist", "import", "bad.csv", "--partner", "police", "--policy", policy])
        #expect(bad.status == 1 && bad.errors.contains("bad.csv:2:1: the plate must have 2 to 12"), "\(bad.errors)")
        let stranger = try await veilgate([
            "watchlist", "import", "police.csv", "--partner", "nobody", "--policy", policy,
        ])
        #expect(stranger.status != 0 && stranger.errors.contains("the policy has no partner 'nobody'"))
        let imported = try await veilgate([
            "watchlist", "import", "police.csv", "--partner", "police", "--policy", policy,
        ])
        #expect(imported.status == 0, "\(imported.errors)")
        #expect(imported.output.contains("2 plate(s), kept as keyed hashes"))
        #expect(imported.output.contains("matched on: station-forecourt"))
        #expect(try await veilgate(["watchlist", "list"]).output.contains("police: 2 plate(s)"))

        let analysed = try await veilgate(["analyse", "plate.mp4", "--camera", "station-forecourt", "--policy", policy])
        #expect(analysed.status == 0, "\(analysed.errors)")
        let matches = analysed.output.split(separator: "\n").filter { $0.contains(#""kind":"watchlist-match""#) }
        #expect(matches.count == 1, "one alert for the one plate: \(analysed.output)")
        #expect(matches.first?.contains(#""reference":"case-2026-0917""#) == true)
        #expect(matches.first?.contains(#""audience":"police""#) == true)
        var written = ""
        let state = folder.appendingPathComponent("state").path
        for name in try FileManager.default.subpathsOfDirectory(atPath: state) {
            written += (try? String(contentsOfFile: state + "/" + name, encoding: .utf8)) ?? ""
        }
        for text in [analysed.output, analysed.errors, imported.output, imported.errors, written] {
            #expect(!text.contains(plate) && !text.contains(String(listed)), "no plate text anywhere")
        }

        #expect(try await veilgate(["watchlist", "clear", "--partner", "police"]).output.contains("removed"))
        let cleared = try await veilgate(["analyse", "plate.mp4", "--camera", "station-forecourt", "--policy", policy])
        #expect(!cleared.output.contains("watchlist-match"), "no list, no match")
    }

    @Test("inside veilgate serve: the match reaches the police's stream, and not the mall's, though granted the kind")
    func gatewaySendsMatchToOwnerOnly() async throws {
        let folder = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let plate = try Self.plateCamera(in: folder)
        // The mall is granted watchlist-match alerts of the forecourt too: the audience, not the grant, keeps the
        // police's match from it.
        let edited = try FederationCLITests.examplePolicy().replacingOccurrences(
            of: "      - id: mall-crowd-alerts\n",
            with: "      - id: mall-forecourt-matches\n        action: alert\n        purpose: crowd-management\n"
                + "        cameras: [station-forecourt]\n        kinds: [watchlist-match]\n        expires: 2027-03-31\n"
                + "      - id: mall-crowd-alerts\n"
        )
        .replacingOccurrences(
            of:
                "    purposes: [public-safety, criminal-investigation]\n    produces: [raw-video, redacted-video, events]\n",
            with: "    purposes: [public-safety, criminal-investigation, crowd-management]\n"
                + "    produces: [raw-video, redacted-video, events]\n")
        try FederationCLITests.writePolicy(edited, in: folder)
        let (police, mall) = try FederationCLITests.site(in: folder, policy: "policies")
        #expect(try CLI.run(["vault", "init", "--state", "state"], in: folder).status == 0)
        try "\(plate),case-2026-0917\n".write(
            to: folder.appendingPathComponent("police.csv"), atomically: true, encoding: .utf8)
        try "\(plate),case-2026-0917\nX,short\n".write(
            to: folder.appendingPathComponent("bad.csv"), atomically: true, encoding: .utf8)
        let gateway = try FederationCLITests.Gateway(
            in: folder, policy: "policies",
            extra: [
                "--camera-source", "station-forecourt=\(folder.appendingPathComponent("plate.mp4").path)",
                "--no-record",
            ])
        // The police upload their own list through the partner API: refused by line when malformed, kept when right.
        func watchlist(_ arguments: [String], as certificate: String) async throws -> CLI.Run {
            try await CLI.runAsync(
                ["partner", "watchlist"] + arguments + [
                    "--server", "https://127.0.0.1:\(gateway.port)", "--ca", "certs/ca.pem", "--cert", certificate,
                ], in: folder)
        }
        let bad = try await watchlist(["upload", "bad.csv"], as: police)
        #expect(bad.status == 1 && bad.output.contains("watchlist:2:1: the plate must have 2 to 12"), "\(bad.output)")
        #expect(!bad.output.contains(plate))
        let uploaded = try await watchlist(["upload", "police.csv", "--expires", "7d"], as: police)
        #expect(
            uploaded.status == 0 && uploaded.output.contains(#""entries" : 1"#), "\(uploaded.output)\(uploaded.errors)")
        #expect(try await watchlist(["show"], as: police).output.contains(#""entries" : 1"#))
        #expect(try await watchlist(["show"], as: mall).status == 1, "the mall sees no list of the police's")
        var listed = ""
        for _ in 0..<120 where !listed.contains("watchlist-match") {
            try await Task.sleep(for: .milliseconds(500))
            listed = try await CLI.runAsync(["alerts", "list", "--state", "state"], in: folder).output
        }
        #expect(listed.contains("watchlist-match"), "\(listed)")
        guard listed.contains("watchlist-match") else {
            // Reading the streams would wait for an alert that never came.
            _ = gateway.stop()
            return
        }
        func events(_ certificate: String) async throws -> CLI.Run {
            try await CLI.runAsync(
                [
                    "partner", "events", "--server", "https://127.0.0.1:\(gateway.port)", "--ca", "certs/ca.pem",
                    "--cert", certificate, "--last-event-id", "0", "--count", "1",
                ], in: folder)
        }
        let forPolice = try await events(police)
        #expect(forPolice.output.contains(#""kind":"watchlist-match""#), "\(forPolice.output)\(forPolice.errors)")
        #expect(forPolice.output.contains(#""reference":"case-2026-0917""#))
        #expect(!forPolice.output.contains(plate))
        // The mall's first event is the crowd alert raised after the match: the match never reached it.
        #expect(
            try CLI.run(
                ["alerts", "raise", "--state", "state", "--camera", "mall-entrance", "--kind", "crowd-count"],
                in: folder
            ).status == 0)
        let forMall = try await events(mall)
        #expect(forMall.output.contains(#""kind":"crowd-count""#), "\(forMall.output)\(forMall.errors)")
        #expect(!forMall.output.contains("watchlist-match") && !forMall.output.contains("case-2026-0917"))
        #expect(try await watchlist(["clear"], as: police).output.contains("true"))
        #expect(try await watchlist(["show"], as: police).status == 1, "cleared")
        #expect(gateway.stop() == 0)
        let log = try String(contentsOf: gateway.log, encoding: .utf8)
        #expect(!log.contains(plate), "the gateway's log holds no plate text")
    }
}
