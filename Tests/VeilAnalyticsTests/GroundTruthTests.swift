import Foundation
import Testing
import VeilAnalytics
import VeilCore
import VeilGateway
import VeilMedia
import VeilTestSupport
import VeilVision

/// The analytics measured against what people counted by hand: vtest.avi's hand-marked people
/// (Tests/VeilVisionTests/Fixtures/vtest-people.json: every 50th frame from 0 to 750), through the detectors, tracker
/// and analytics the gateway runs (`veilgate analyse`'s setup: people with the tile grid and the motion fallback, every
/// 2nd frame).
@Suite("Analytics against hand counts (vtest.avi)")
struct GroundTruthTests {
    static let vtest = TestPaths.vtest
    static let models = TestPaths.models

    /// vtest's street cut into zones where people walk: the left and right halves of the walkway and the far pavement.
    static let zones = [
        Zone(
            id: "left",
            polygon: [Point(x: 0.0, y: 0.25), Point(x: 0.5, y: 0.25), Point(x: 0.5, y: 1.0), Point(x: 0.0, y: 1.0)]),
        Zone(
            id: "right",
            polygon: [Point(x: 0.5, y: 0.25), Point(x: 1.0, y: 0.25), Point(x: 1.0, y: 1.0), Point(x: 0.5, y: 1.0)]),
        Zone(
            id: "far",
            polygon: [Point(x: 0.0, y: 0.0), Point(x: 1.0, y: 0.0), Point(x: 1.0, y: 0.25), Point(x: 0.0, y: 0.25)]),
    ]

    /// The people detection and tracker `veilgate analyse` runs for the analytics: people with the tile grid and the
    /// motion fallback, every 2nd frame.
    static func pipeline() throws -> RedactionPipeline {
        let detectors = try VisionModels(directory: models).detectors(for: [.persons], headsOfPeople: true).detectors
        return RedactionPipeline(
            spec: RedactionSpec(classes: [.persons]), detectors: detectors,
            options: .init(detectEvery: 2, coverHeadsOfPeople: false))
    }

    /// Hand-marked people per frame: each box's ground point (bottom centre), normalised.
    static func marked() throws -> [Int: [Point]] {
        let url = TestPaths.repository.appendingPathComponent("Tests/VeilVisionTests/Fixtures/vtest-people.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var result: [Int: [Point]] = [:]
        for (key, value) in json {
            guard let frame = Int(key), let boxes = value as? [[Double]] else { continue }
            result[frame] = boxes.map { Point(x: ($0[0] + $0[2]) / 2 / 768, y: $0[3] / 576) }
        }
        return result
    }

    struct Crossings: Decodable {
        struct Line: Decodable {
            var x: Double, top: Double, bottom: Double
        }
        var line: Line
        var rightward: [Int]
        var leftward: [Int]
    }

    /// Issue 13 asks for line counts within ±10 % of hand counts in each direction. The hand count
    /// (Fixtures/vtest-crossings.json): 12 crossings to the right and 15 to the left of a line across the walkway, over
    /// the whole clip. The line is drawn from the bottom up, so `in` (from its left to its right) is rightward.
    /// Measured: 12 in and 15 out (11 in before a group's box gave way to the people found in it; 16 out before moving
    /// regions only the fallback found stopped counting as people). Before
    /// lost tracks handed their side on and the margin came down from a quarter of a person's height to a fifth: 6 in,
    /// 10 out; before someone first seen on the line took the side they were on: 10 in.
    @Test(
        "line crossings against the hand count: within ±10 % of the people counted crossing each way",
        .enabled(if: FileManager.default.fileExists(atPath: vtest)))
    func lineCrossings() async throws {
        try await HeavyTest.run {
            let url = TestPaths.repository.appendingPathComponent(
                "Tests/VeilAnalyticsTests/Fixtures/vtest-crossings.json")
            let hand = try JSONDecoder().decode(Crossings.self, from: Data(contentsOf: url))
            let pipeline = try Self.pipeline()
            let line = CountingLine(
                id: "walkway", from: Point(x: hand.line.x, y: hand.line.bottom),
                to: Point(x: hand.line.x, y: hand.line.top))
            var analytics = CameraAnalytics(
                camera: "vtest", analytics: [.lineCrossing], zones: [], lines: [line],
                origin: Date(timeIntervalSince1970: 0))
            let source = try MediaSource(address: Self.vtest)
            var crossings: [String] = []
            while let frame = try source.nextFrame() {
                let tracked = try pipeline.track(frame)
                let (width, height) = (Double(frame.width), Double(frame.height))
                let people = TrackedObject.people(in: tracked, width: frame.width, height: frame.height)
                let before = analytics.lineTotals["walkway"] ?? (0, 0)
                _ = analytics.observe(Observation(time: frame.time, objects: people, aspectRatio: width / height))
                let after = analytics.lineTotals["walkway"] ?? (0, 0)
                if after.in > before.in { crossings.append("in@\(frame.index)") }
                if after.out > before.out { crossings.append("out@\(frame.index)") }
            }
            let totals = analytics.lineTotals["walkway"] ?? (0, 0)
            print(
                "vtest line crossings: \(totals.in) in (hand: \(hand.rightward.count) rightward), \(totals.out) out (hand: \(hand.leftward.count) leftward); \(crossings)"
            )
            #expect(hand.rightward.count == 12 && hand.leftward.count == 15)
            #expect(abs(Double(totals.out - hand.leftward.count)) <= 0.1 * Double(hand.leftward.count) + 1e-9)
            #expect(abs(Double(totals.in - hand.rightward.count)) <= 0.1 * Double(hand.rightward.count) + 1e-9)
        }
    }

    /// Issue 13 asks for ±1 on every sampled frame. Measured: all 48 zone-frames within ±1, 35 exact, 13 people
    /// miscounted in all (47, 32 and 17 before
    /// occupancy was counted from where the detector puts people's feet rather than the smoothed points the lines use;
    /// 46 before a group's box gave way to the people found in it, 43 before moving regions only the fallback found
    /// stopped counting as people).
    ///
    /// Tried and not kept: a perspective model learnt from the detections (one person's height by where their feet are;
    /// on vtest 0.26 × foot y + 17 px) counting a box at least 1.4 times that height as two people. It mended frame
    /// 350's pair walking one behind the other but counted two where the hand count has one elsewhere: 14 people
    /// miscounted at 1.4 and 1.6, 13 at 1.8 (where it no longer mends anything).
    @Test(
        "zone occupancy against the hand count: every zone-frame within ±1 person",
        .enabled(if: FileManager.default.fileExists(atPath: vtest)))
    func occupancy() async throws {
        try await HeavyTest.run {
            let marked = try Self.marked()
            let pipeline = try Self.pipeline()
            var analytics = CameraAnalytics(
                camera: "vtest", analytics: [.crowdCount], zones: Self.zones, lines: [], origin: Date())
            let source = try MediaSource(address: Self.vtest)
            var compared = 0, exact = 0, within = 0, worst = 0, miscounted = 0
            var report: [String] = []
            while let frame = try source.nextFrame(), frame.index <= 750 {
                let tracked = try pipeline.track(frame)
                let (width, height) = (Double(frame.width), Double(frame.height))
                let people = TrackedObject.people(in: tracked, width: frame.width, height: frame.height)
                _ = analytics.observe(Observation(time: frame.time, objects: people, aspectRatio: width / height))
                guard let hand = marked[frame.index] else { continue }
                for zone in Self.zones {
                    let counted = hand.filter { zone.contains($0) }.count
                    let measured = analytics.occupancy[zone.id] ?? 0
                    compared += 1
                    if counted == measured { exact += 1 }
                    if abs(counted - measured) <= 1 {
                        within += 1
                    } else {
                        report.append("frame \(frame.index) \(zone.id): \(measured) for \(counted)")
                    }
                    worst = max(worst, abs(counted - measured))
                    miscounted += abs(counted - measured)
                }
            }
            print(
                "vtest occupancy: \(within) of \(compared) zone-frames within ±1 (\(exact) exact), \(miscounted) people miscounted, worst off by \(worst); \(report)"
            )
            #expect(compared == 16 * Self.zones.count)
            #expect(within == compared, "\(report)")
            #expect(miscounted <= 16, "\(report)")
        }
    }
}
