import Foundation
import Testing
import VeilTestSupport

/// `veilgate analyse` on real footage (vtest.avi, a pedestrian street): a restricted zone where people walk raises
/// alerts, one where nobody goes (the shop fronts at the top of the picture) raises none.
@Suite("veilgate analyse (real footage)")
struct AnalyseCLITests {
    typealias CLI = VeilgateCLITests

    /// The example policy, with the station forecourt's zone replaced by two drawn for vtest's scene (where its
    /// hand-marked people stand: Tests/VeilVisionTests/Fixtures/vtest-people.json).
    static func vtestPolicy(in folder: URL) throws {
        let example = try FederationCLITests.examplePolicy()
        let zones = """
                  - id: walkway
                    polygon: [[0.50, 0.25], [0.75, 0.25], [0.75, 0.50], [0.50, 0.50]]
                  - id: shop-fronts
                    polygon: [[0.45, 0.00], [0.70, 0.00], [0.70, 0.10], [0.45, 0.10]]
            """
        // It also counts people, and the mall may see those counts (the camera serves crowd management and produces
        // counts).
        let edited = example.replacingOccurrences(
            of: "analytics: [line-crossing, unattended-object, restricted-zone, watchlist-match]",
            with:
                "analytics: [line-crossing, unattended-object, restricted-zone, watchlist-match, crowd-count, running]"
        )
        .replacingOccurrences(
            of:
                "    purposes: [public-safety, criminal-investigation]\n    produces: [raw-video, redacted-video, events]\n"
                + "    analytics: [line-crossing",
            with: "    purposes: [public-safety, criminal-investigation, crowd-management]\n"
                + "    produces: [raw-video, redacted-video, events, counts]\n    analytics: [line-crossing"
        )
        .replacingOccurrences(
            of: "action: counts\n        purpose: crowd-management\n        cameras: [market-square, mall-entrance]",
            with:
                "action: counts\n        purpose: crowd-management\n        cameras: [market-square, mall-entrance, station-forecourt]"
        )
        .replacingOccurrences(
            of: """
                      - id: platform-access
                        polygon: [[0.10, 0.10], [0.45, 0.10], [0.45, 0.35], [0.10, 0.35]]
                """, with: zones)
        #expect(edited != example)
        try FederationCLITests.writePolicy(edited, in: folder)
    }

    /// ``vtestPolicy(in:)`` changed by `edit` (which must change it).
    static func vtestPolicy(in folder: URL, edited edit: (String) -> String) throws {
        try vtestPolicy(in: folder)
        let path = folder.appendingPathComponent("policies/policy.yaml")
        let text = try String(contentsOf: path, encoding: .utf8)
        let edited = edit(text)
        #expect(edited != text)
        try edited.write(to: path, atomically: true, encoding: .utf8)
    }

    static let vtest = CLI.repositoryRoot.deletingLastPathComponent().appendingPathComponent(
        "shared/data/video/vtest.avi"
    ).path

    @Test("a restricted zone on the walkway alerts; one on the shop fronts, where nobody walks, stays silent")
    func restrictedZones() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            try Self.vtestPolicy(in: folder)
            let vtest = CLI.repositoryRoot.deletingLastPathComponent().appendingPathComponent(
                "shared/data/video/vtest.avi"
            )
            .path
            let run = try CLI.run(
                ["analyse", vtest, "--camera", "station-forecourt", "--policy", "policies", "--seconds", "30"],
                in: folder)
            #expect(run.status == 0, "\(run.errors)")
            let alerts = run.output.split(separator: "\n").compactMap { line -> [String: Any]? in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            }
            #expect(alerts.count == run.output.split(separator: "\n").count, "every line is a JSON alert")
            // Everyone in vtest walks: running, analysed on the whole picture, must stay silent (its false-alarm
            // counterweight).
            #expect(
                !alerts.contains { $0["kind"] as? String == "running" },
                "\(alerts.filter { $0["kind"] as? String == "running" })")
            let restricted = alerts.filter { $0["kind"] as? String == "restricted-zone" }
            #expect(restricted.contains { $0["zone"] as? String == "walkway" }, "\(run.output)")
            #expect(!restricted.contains { $0["zone"] as? String == "shop-fronts" }, "nobody walks on the shop fronts")
            #expect(!alerts.contains { $0["snapshot"] != nil }, "no picture in an analyse alert")
            // unattended-object runs too (the camera lists it): nothing is left behind on vtest's walkway, and nothing
            // alerts.
            #expect(run.errors.contains("unattended-object"), "\(run.errors)")
            #expect(!alerts.contains { $0["kind"] as? String == "unattended-object" }, "\(run.output)")
        }
    }

    @Test(
        "vehicle-dwell on vtest's parked van: one alert a minute in for the kerb zone it stands in, none for the walkway"
    )
    func vehicleDwell() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            // The white van parked at the top right all through the clip (660–710 × 55–81 px of 768 × 576); the other
            // vehicle, at the picture's right edge, stands outside the kerb zone.
            try Self.vtestPolicy(in: folder) { text in
                text.replacingOccurrences(of: "crowd-count, running]", with: "crowd-count, running, vehicle-dwell]")
                    .replacingOccurrences(
                        of: "      - id: shop-fronts\n",
                        with: """
                                  - id: kerb
                                    polygon: [[0.84, 0.05], [0.95, 0.05], [0.95, 0.20], [0.84, 0.20]]
                                    thresholds: {vehicle-dwell: {after: 1m}}
                                  - id: shop-fronts

                            """)
            }
            let lint = try CLI.run(["policy", "lint", "policies"], in: folder)
            #expect(lint.status == 0, "\(lint.output)\(lint.errors)")
            // What a DPO reads about it: when it fires, and that it reads no plate.
            let explained = try CLI.run(
                [
                    "policy", "explain", "--partner", "police", "--camera", "station-forecourt", "--action",
                    "alert:vehicle-dwell", "--zone", "kerb",
                ], in: folder)
            #expect(
                explained.output.contains(
                    "a vehicle (a car, van, lorry, bus or motorbike: boxes only, no make, colour or plate) in a zone for 60 s, once per stay"
                ), "\(explained.output)\(explained.errors)")
            let run = try CLI.run(
                ["analyse", Self.vtest, "--camera", "station-forecourt", "--policy", "policies"], in: folder)
            #expect(run.status == 0, "\(run.errors)")
            let dwell = run.output.split(separator: "\n").compactMap { line -> [String: Any]? in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            }.filter { $0["kind"] as? String == "vehicle-dwell" }
            #expect(dwell.count == 1, "\(dwell)")
            #expect(dwell.first?["zone"] as? String == "kerb", "\(dwell)")
            #expect((dwell.first?["track"] as? Int ?? 0) >= 1_000_000, "a vehicle's own track number: \(dwell)")
            #expect(run.errors.contains("vehicle-dwell"), "\(run.errors)")
        }
    }

    @Test(
        "the policy's thresholds reach the analytics: a walkway zone that alerts at the default 1 s stays silent at 20 s"
    )
    func policyThresholds() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let walkway = "polygon: [[0.50, 0.25], [0.75, 0.25], [0.75, 0.50], [0.50, 0.50]]"
            try Self.vtestPolicy(in: folder) {
                $0.replacingOccurrences(
                    of: walkway, with: walkway + "\n        thresholds: {restricted-zone: {after: 20s}}")
            }
            let run = try CLI.run(
                ["analyse", Self.vtest, "--camera", "station-forecourt", "--policy", "policies", "--seconds", "30"],
                in: folder)
            #expect(run.status == 0, "\(run.errors)")
            #expect(
                !run.output.contains(#""kind":"restricted-zone""#), "nobody stands 20 s on the walkway: \(run.output)")
        }
    }

    @Test("inside veilgate serve: the camera's analytics raise alerts, and the police's alert stream carries them")
    func gatewayRaisesAlerts() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            try Self.vtestPolicy(in: folder)
            let (police, mall) = try FederationCLITests.site(in: folder, policy: "policies")
            #expect(try CLI.run(["vault", "init", "--state", "state"], in: folder).status == 0)
            let gateway = try FederationCLITests.Gateway(
                in: folder, policy: "policies",
                extra: ["--camera-source", "station-forecourt=\(Self.vtest)", "--no-record"])
            // Only the forecourt plays (the other cameras' sources do not exist here); it walks people across the
            // walkway.
            var listed = ""
            for _ in 0..<120 where !listed.contains("restricted-zone") {
                try await Task.sleep(for: .seconds(0.5))
                listed = try CLI.run(["alerts", "list", "--state", "state"], in: folder).output
            }
            #expect(listed.contains("station-forecourt"), "\(listed)")
            #expect(listed.contains("walkway"))
            #expect(!listed.contains("shop-fronts"), "nobody walks on the shop fronts")
            let events = try CLI.run(
                [
                    "partner", "events", "--server", "https://127.0.0.1:\(gateway.port)", "--ca", "certs/ca.pem",
                    "--cert", police, "--last-event-id", "0", "--count", "1",
                ], in: folder)
            #expect(events.output.contains(#""kind":"restricted-zone""#), "\(events.output)\(events.errors)")
            #expect(events.output.contains(#""zone":"walkway""#))
            #expect(!events.output.contains("track"), "the police grant's fields do not include the track id")
            // The mall's counts grant: people counted per minute in each zone, and the line's crossings.
            let counts = try CLI.run(
                [
                    "partner", "get", "/v1/cameras/station-forecourt/counts", "--server",
                    "https://127.0.0.1:\(gateway.port)",
                    "--ca", "certs/ca.pem", "--cert", mall,
                ], in: folder)
            #expect(counts.status == 0, "\(counts.errors)")
            #expect(
                counts.output.contains(#""zone" : "walkway""#) && counts.output.contains("peakOccupancy"),
                "\(counts.output)")
            #expect(gateway.stop() == 0)
        }
    }

    @Test("--overlay writes the redacted video with the camera's zones and lines drawn where the policy puts them")
    func overlay() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            try Self.vtestPolicy(in: folder)
            let run = try CLI.run(
                [
                    "analyse", Self.vtest, "--camera", "station-forecourt", "--policy", "policies", "--seconds", "3",
                    "--overlay", "overlay.mp4",
                ], in: folder)
            #expect(run.status == 0, "\(run.errors)")
            #expect(run.errors.contains("overlay: overlay.mp4"))
            let (width, height, rgb) = try PrivacyMaskCLITests.firstFrame(
                "overlay.mp4", in: folder, pixelFormat: "rgb24", bytesPerPixel: 3)
            #expect(rgb.count == width * height * 3)
            func pixel(_ x: Double, _ y: Double) -> (r: Int, g: Int, b: Int) {
                let index = (Int(y * Double(height)) * width + Int(x * Double(width))) * 3
                return (Int(rgb[index]), Int(rgb[index + 1]), Int(rgb[index + 2]))
            }
            // The walkway zone's top edge (y 0.25, x 0.50–0.75): yellow. The main-entrance line (y 0.60, x 0.20–0.80):
            // cyan.
            let edge = pixel(0.625, 0.25), line = pixel(0.5, 0.6)
            #expect(edge.r > 150 && edge.g > 120 && edge.b < 110, "zone edge \(edge)")
            #expect(line.r < 110 && line.g > 120 && line.b > 150, "line \(line)")
            // Inside the zone, away from its edges, the street as it was: not yellow.
            let inside = pixel(0.62, 0.40)
            #expect(!(inside.r > 150 && inside.g > 120 && inside.b < 110), "inside the zone \(inside)")
        }
    }
}
