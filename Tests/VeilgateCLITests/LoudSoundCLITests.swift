import Foundation
import Testing

/// `loud-sound` through `veilgate analyse`, on a real film clip's sound (Megamind.avi: dialogue, AC-3): as it is —
/// ordinary speech, a pause, speech again — it raises nothing. No real clip with a bang or a shout is at hand, so two
/// are built from it and say so: a white-noise burst of 80 ms mixed in at 5 s (a bang), and the dialogue between 3 and
/// 5.5 s raised by 16 dB (shouting); each raises one alert.
@Suite("loud-sound on a real clip's sound")
struct LoudSoundCLITests {
    typealias CLI = VeilgateCLITests

    static let megamind = CLI.repositoryRoot.deletingLastPathComponent().appendingPathComponent(
        "shared/data/video/Megamind.avi"
    ).path

    /// The clip with its sound put through `filter` (ffmpeg `-filter_complex`, output `[a]`), as `name`.
    static func clip(_ name: String, filter: String?, extraInputs: [String] = [], in folder: URL) throws {
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        var arguments = ["-v", "error", "-i", megamind] + extraInputs
        if let filter { arguments += ["-filter_complex", filter, "-map", "0:v", "-map", "[a]"] }
        arguments += [
            "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "128k", "-y",
            folder.appendingPathComponent(name).path,
        ]
        ffmpeg.arguments = arguments
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        #expect(ffmpeg.terminationStatus == 0)
    }

    /// The example policy with the station's camera listening: `audio: true` and `loud-sound`.
    static func listeningPolicy(in folder: URL) throws {
        let edited = try FederationCLITests.examplePolicy().replacingOccurrences(
            of: "analytics: [line-crossing, unattended-object, restricted-zone, watchlist-match]",
            with:
                "analytics: [line-crossing, unattended-object, restricted-zone, watchlist-match, loud-sound]\n    audio: true"
        )
        #expect(edited.contains("loud-sound]\n    audio: true"))
        try FederationCLITests.writePolicy(edited, in: folder)
    }

    /// The loud-sound alerts' times (when they were raised, on the analysis's clock; the unit tests check timing).
    static func loudSounds(_ clip: String, in folder: URL) async throws -> [Double] {
        let run = try await CLI.runAsync(
            ["analyse", clip, "--camera", "station-forecourt", "--policy", "policies", "--state", "state"], in: folder)
        #expect(run.status == 0, "\(run.errors)")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return run.output.split(separator: "\n").compactMap { line -> Double? in
            guard line.contains(#""kind":"loud-sound""#),
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let time = object["time"] as? String
            else { return nil }
            return (formatter.date(from: time) ?? ISO8601DateFormatter().date(from: time))?.timeIntervalSince1970
        }
    }

    @Test("speech raises nothing; a bang at 5 s and shouting from 3 s raise one alert each, at their time")
    func loudSoundsOnMegamind() async throws {
        let folder = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.listeningPolicy(in: folder)
        try Self.clip("speech.mp4", filter: nil, in: folder)
        try Self.clip(
            "bang.mp4", filter: "[1:a]adelay=5000,apad[n];[0:a][n]amix=inputs=2:duration=first:normalize=0[a]",
            extraInputs: ["-f", "lavfi", "-i", "anoisesrc=d=0.08:c=white:a=0.9:r=48000"], in: folder)
        try Self.clip("shout.mp4", filter: "[0:a]volume=enable='between(t,3,5.5)':volume=16dB[a]", in: folder)

        #expect(try await Self.loudSounds("speech.mp4", in: folder).isEmpty, "ordinary speech is no alarm")
        let bang = try await Self.loudSounds("bang.mp4", in: folder)
        let shout = try await Self.loudSounds("shout.mp4", in: folder)
        #expect(bang.count == 1, "\(bang)")
        #expect(shout.count == 1, "\(shout)")

        // Inside a running gateway the camera's sound reaches the analytics too (and is not recorded: no rule keeps
        // audio of it).
        _ = try FederationCLITests.site(in: folder, policy: "policies")
        #expect(try CLI.run(["vault", "init", "--state", "state"], in: folder).status == 0)
        let gateway = try FederationCLITests.Gateway(
            in: folder, policy: "policies",
            extra: ["--camera-source", "station-forecourt=\(folder.appendingPathComponent("bang.mp4").path)"])
        var listed = ""
        for _ in 0..<60 where !listed.contains("loud-sound") {
            try await Task.sleep(for: .milliseconds(500))
            listed = try await CLI.runAsync(["alerts", "list", "--state", "state"], in: folder).output
        }
        #expect(listed.contains("loud-sound"), "\(listed)")
        #expect(gateway.stop() == 0)
        let stored = try CLI.run(["vault", "list", "--state", "state", "--policy", "policies"], in: folder).output
        #expect(!stored.contains("audio"), "sound analysed, not kept: \(stored)")
    }
}
