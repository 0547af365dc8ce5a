import Foundation
import Testing
import VeilAnalytics
import VeilCore
import VeilMedia
import VeilTestSupport
import VeilVision

@testable import VeilGateway

/// Issue 13, unattended-object, on real footage: vtest has no bag left behind, so one is set down on it — a dark
/// patch pasted onto the grass from 15 s on, a bag's size at that distance — and the same minute is analysed with and
/// without it. With it: one alert, in the grass zone, about 20 s (the threshold) after the bag came to rest, with its
/// box. Without it: none — not for the group standing by the sign for most of the minute (people are never alone with
/// themselves), nor for the cloth lying on the grass from the start (part of the scene).
@Suite("Unattended objects on real footage")
struct UnattendedObjectTests {
    /// Where the bag is put (pixels of vtest's 768 × 576) and from which frame (10 fps).
    static let bag = (x: 200, y: 470, width: 22, height: 16, from: 150)

    static func paste(into frame: VideoFrame) {
        frame.withWritablePlanes { planes in
            for row in 0..<bag.height {
                for column in 0..<bag.width {
                    planes.y[(bag.y + row) * planes.yStride + bag.x + column] =
                        (row / 4 + column / 4) % 2 == 0 ? 38 : 62
                }
            }
            for row in 0..<bag.height / 2 {
                for column in 0..<bag.width / 2 {
                    planes.u[(bag.y / 2 + row) * planes.uStride + bag.x / 2 + column] = 120
                    planes.v[(bag.y / 2 + row) * planes.vStride + bag.x / 2 + column] = 140
                }
            }
        }
    }

    @Test("a bag left on the grass alerts once, after the threshold, with its box; the plain minute raises nothing")
    func bagLeftBehind() async throws {
        // A minute of detection on a thread of its own, as the gateway runs cameras: on the cooperative pool it held a
        // thread for seconds and starved the TLS handshakes of the federation tests beside it.
        try await DedicatedThreadExecutor.run(named: "unattended-object test") { try Self.analyseMinute() }
    }

    static func analyseMinute() throws {
        let zones = [
            Zone(
                id: "grass",
                polygon: [Point(x: 0.2, y: 0.55), Point(x: 0.6, y: 0.55), Point(x: 0.6, y: 0.9), Point(x: 0.2, y: 0.9)]),
            Zone(
                id: "path",
                polygon: [
                    Point(x: 0.35, y: 0.25), Point(x: 0.75, y: 0.25), Point(x: 0.75, y: 0.6), Point(x: 0.35, y: 0.6),
                ]),
        ]
        var thresholds = CameraAnalytics.Thresholds()
        thresholds.unattendedAfter = 20
        func analytics() -> CameraAnalytics {
            CameraAnalytics(
                camera: "square", analytics: [.unattendedObject], zones: zones, lines: [], thresholds: thresholds,
                origin: Date(timeIntervalSince1970: 0))
        }
        var (plain, withBag) = (analytics(), analytics())
        var (plainStill, bagStill) = (StillObjectDetector(), StillObjectDetector())
        let spec = RedactionSpec(classes: [.persons])
        let pipeline = RedactionPipeline(
            spec: spec,
            detectors: try CameraPipelineTests.models.detectors(for: spec.classes, headsOfPeople: false).detectors,
            options: .init(detectEvery: 5))
        let source = try MediaSource(address: TestPaths.vtest)
        var (plainAlerts, bagAlerts): ([Alert], [Alert]) = ([], [])
        while let frame = try source.nextFrame(), frame.index < 600 {
            let covered = try pipeline.track(frame)
            let people = TrackedObject.people(in: covered, width: frame.width, height: frame.height)
            let aspect = Double(frame.width) / Double(frame.height)
            plainAlerts += plain.observe(
                Observation(
                    time: frame.time, objects: people, aspectRatio: aspect,
                    stillObjects: plainStill.update(frame).map(StillObject.init)))
            if frame.index >= bag.from { paste(into: frame) }
            let stillNow = bagStill.update(frame).map(StillObject.init)
            if ProcessInfo.processInfo.environment["VEILGATE_DIAGNOSE"] != nil, frame.index % 50 == 0 {
                print(
                    "DIAG frame \(frame.index): still "
                        + stillNow.map {
                            String(
                                format: "#%d %.2f,%.2f %.2fx%.2f since %.1f", $0.id, $0.x, $0.y, $0.width, $0.height,
                                $0.since)
                        }.joined(separator: "; "))
            }
            bagAlerts += withBag.observe(
                Observation(time: frame.time, objects: people, aspectRatio: aspect, stillObjects: stillNow))
        }
        print(
            "unattended objects on vtest: with the bag \(bagAlerts.map { "\($0.zone?.rawValue ?? "-") at \(String(format: "%.1f", $0.time.timeIntervalSince1970)) s \($0.boxes ?? [])" }); without it \(plainAlerts.count) alert(s) \(plainAlerts.map { "\($0.zone?.rawValue ?? "-") at \(String(format: "%.1f", $0.time.timeIntervalSince1970)) s" })"
        )
        #expect(plainAlerts.isEmpty, "false alarms on the plain minute")
        #expect(bagAlerts.count == 1)
        let alert = try #require(bagAlerts.first)
        #expect(alert.kind == .unattendedObject && alert.zone == "grass")
        // Set down at 15 s, still (the short-term background has it) about 6 s later, alone for 20 s after that —
        // measured: at 50.6 s, as someone passing near it at about 30 s started its 20 s again. Never before the
        // threshold.
        let seconds = alert.time.timeIntervalSince1970
        #expect(seconds >= 35 && seconds <= 60, "raised at \(seconds) s")
        let box = try #require(alert.boxes?.first)
        let (bx, by) = (Double(bag.x + bag.width / 2) / 768, Double(bag.y + bag.height / 2) / 576)
        #expect(box[0] <= bx && bx <= box[0] + box[2] && box[1] <= by && by <= box[1] + box[3], "\(box)")
    }
}
