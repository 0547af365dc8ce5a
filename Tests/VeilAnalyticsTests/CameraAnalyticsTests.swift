import Foundation
import Testing
import VeilCore

@testable import VeilAnalytics

/// Each analytic on tracks written out in the test: a person is a box whose bottom centre (the ground point) walks a
/// path, one frame every 0.1 s.
@Suite("Camera analytics: zones, loitering, lines, crowds")
struct CameraAnalyticsTests {
    static let origin = Date(timeIntervalSince1970: 1_800_000_000)
    /// The middle of the picture.
    static let square = Zone(
        id: "square",
        polygon: [Point(x: 0.3, y: 0.3), Point(x: 0.7, y: 0.3), Point(x: 0.7, y: 0.7), Point(x: 0.3, y: 0.7)])
    /// Across the picture at y = 0.5, from left to right: walking down the picture crosses it from its left to its
    /// right.
    static let line = CountingLine(id: "gate", from: Point(x: 0.1, y: 0.5), to: Point(x: 0.9, y: 0.5))

    /// A person standing at ground point (x, y), 0.2 tall.
    static func person(_ track: Int, at x: Double, _ y: Double) -> TrackedObject {
        TrackedObject(track: track, x: x - 0.03, y: y - 0.2, width: 0.06, height: 0.2)
    }

    static func analytics(
        _ kinds: Set<Analytic>, configure: (inout CameraAnalytics.Thresholds) -> Void = { _ in }
    ) -> CameraAnalytics {
        var thresholds = CameraAnalytics.Thresholds()
        configure(&thresholds)
        return CameraAnalytics(
            camera: "cam", analytics: kinds, zones: [square], lines: [line], thresholds: thresholds, origin: origin)
    }

    /// Runs frames 0.1 s apart from `start`; `positions(t)` gives the people in the frame at time t.
    static func run(
        _ analytics: inout CameraAnalytics, from start: Double = 0, seconds: Double,
        _ positions: (Double) -> [TrackedObject]
    ) -> [Alert] {
        var alerts: [Alert] = []
        for step in 0..<Int((seconds * 10).rounded()) {
            let time = start + Double(step) / 10
            alerts += analytics.observe(Observation(time: time, objects: positions(time)))
        }
        return alerts
    }

    @Test("geometry: inside a polygon, sides of a line, crossing between its ends only")
    func geometry() {
        #expect(Self.square.contains(Point(x: 0.5, y: 0.5)))
        #expect(!Self.square.contains(Point(x: 0.2, y: 0.5)))
        #expect(!Zone(id: "none", polygon: [Point(x: 0, y: 0), Point(x: 1, y: 1)]).contains(Point(x: 0.5, y: 0.5)))
        #expect(Self.line.side(of: Point(x: 0.5, y: 0.6)) > 0, "below the line is its right, looking from → to")
        #expect(Self.line.isCrossedBetweenEnds(from: Point(x: 0.5, y: 0.4), to: Point(x: 0.5, y: 0.6)))
        #expect(
            !Self.line.isCrossedBetweenEnds(from: Point(x: 0.95, y: 0.4), to: Point(x: 0.95, y: 0.6)),
            "beyond the line's end")
    }

    @Test("one object per person: duplicates fold into the first, a group box gives way to the people found in it")
    func distinctPeople() {
        let walker = Self.person(1, at: 0.5, 0.5)
        let motionRegion = TrackedObject(track: 2, x: 0.465, y: 0.29, width: 0.07, height: 0.22)
        #expect(TrackedObject.distinct([walker, motionRegion]) == [walker], "one person, two boxes")
        let left = Self.person(3, at: 0.45, 0.6), right = Self.person(4, at: 0.53, 0.61)
        let group = TrackedObject(track: 5, x: 0.40, y: 0.38, width: 0.18, height: 0.24)
        #expect(TrackedObject.distinct([group, left, right]) == [left, right], "a pair found as one box and apart")
        let legs = TrackedObject(track: 6, x: 0.43, y: 0.52, width: 0.05, height: 0.08)
        #expect(
            TrackedObject.distinct([group, left, legs]) == [group], "one person and a fragment in a box are no group")
    }

    @Test(
        "restricted zone: one alert after the dwell time, none for someone who passes outside it, one for someone on its edge"
    )
    func restrictedZone() {
        var analytics = Self.analytics([.restrictedZone])
        // Crosses into the square at t = 0.5 and stays: one alert, the dwell time (1 s) later.
        let alerts = Self.run(&analytics, seconds: 6) { t in [Self.person(1, at: 0.1 + min(t, 1) * 0.4, 0.5)] }
        #expect(alerts.count == 1)
        #expect(alerts.first?.zone == "square")
        #expect(alerts.first?.track == 1)
        let delay = alerts.first.map { $0.time.timeIntervalSince(Self.origin) } ?? 0
        #expect(
            delay >= 1.4 && delay <= 1.9, "the dwell time, and a few frames of the foot point's smoothing (\(delay))")

        // Passes by outside: nothing.
        var passing = Self.analytics([.restrictedZone])
        #expect(Self.run(&passing, seconds: 10) { t in [Self.person(2, at: 0.05 + t * 0.09, 0.85)] }.isEmpty)

        // Stands on the edge, stepping in and out every 0.3 s for a minute: one alert, not fifty.
        var edge = Self.analytics([.restrictedZone])
        let flicker = Self.run(&edge, seconds: 60) { t in
            [Self.person(3, at: Int(t / 0.3) % 2 == 0 ? 0.305 : 0.295, 0.5)]
        }
        #expect(flicker.count == 1, "\(flicker.count) alerts")

        // Leaves for longer than the re-arm time and comes back: a second alert.
        var twice = Self.analytics([.restrictedZone])
        let visits = Self.run(&twice, seconds: 12) { t in [Self.person(4, at: (t < 3 || t > 8) ? 0.5 : 0.1, 0.5)] }
        #expect(visits.count == 2)
    }

    @Test(
        "loitering: a visit longer than the threshold alerts once, within the frame after it; a lost and found track is the same visit"
    )
    func loitering() {
        var analytics = Self.analytics([.loitering]) { $0.loiteringAfter = 30 }
        // Stands in the square from t = 0; the tracker loses them for 1 s at t = 10 and finds them again as track 8.
        let alerts = Self.run(&analytics, seconds: 40) { t in
            if t >= 10 && t < 11 { return [] }
            return [Self.person(t < 10 ? 7 : 8, at: 0.5 + 0.01 * sin(t), 0.5)]
        }
        #expect(alerts.count == 1)
        let delay = alerts.first.map { $0.time.timeIntervalSince(Self.origin) } ?? 0
        #expect(
            delay >= 30 && delay <= 30.2, "the alert comes at the threshold, counted from the first entry (\(delay))")
        #expect(alerts.first?.track == 8)

        // Someone who walks through in 10 s does not loiter; someone elsewhere who appears after a gap starts a new
        // visit.
        var passing = Self.analytics([.loitering]) { $0.loiteringAfter = 30 }
        #expect(
            Self.run(&passing, seconds: 40) { t in t < 10 ? [Self.person(9, at: 0.3 + t * 0.04, 0.5)] : [] }.isEmpty)
        var apart = Self.analytics([.loitering]) { $0.loiteringAfter = 30 }
        let separate = Self.run(&apart, seconds: 40) { t in
            [Self.person(t < 20 ? 10 : 11, at: t < 20 ? 0.35 : 0.65, t < 20 ? 0.35 : 0.65)]
        }
        #expect(
            separate.isEmpty, "two visits of 20 s each, not one of 40 s: the second track is found far from the first")
    }

    @Test(
        "line crossing: one count per crossing and direction; jitter on the line and passing beyond its end count nothing; someone first seen on the line counts when they walk off it to the other side"
    )
    func lineCrossing() {
        var analytics = Self.analytics([.lineCrossing])
        // Walks down across the line (in), then back up (out), then down again (in).
        let alerts = Self.run(&analytics, seconds: 12) { t in
            let y = t < 4 ? 0.3 + t * 0.1 : (t < 8 ? 0.7 - (t - 4) * 0.1 : 0.3 + (t - 8) * 0.1)
            return [Self.person(1, at: 0.5, y)]
        }
        #expect(alerts.count == 3)
        #expect(analytics.lineTotals["gate"]?.in == 2)
        #expect(analytics.lineTotals["gate"]?.out == 1)
        #expect(alerts.map(\.count) == [1, 1, 2], "each alert carries its direction's running total")

        var jitter = Self.analytics([.lineCrossing])
        #expect(Self.run(&jitter, seconds: 20) { t in [Self.person(2, at: 0.5, 0.5 + 0.005 * sin(t * 7))] }.isEmpty)
        var beyond = Self.analytics([.lineCrossing])
        #expect(Self.run(&beyond, seconds: 6) { t in [Self.person(3, at: 0.95, 0.3 + t * 0.1)] }.isEmpty)

        // First seen on the line, just on its left (above it), then walking off down the picture: one crossing in. One
        // first seen there who walks back up the way they were facing crosses nothing.
        var fromTheLine = Self.analytics([.lineCrossing])
        let off = Self.run(&fromTheLine, seconds: 3) { t in [Self.person(4, at: 0.5, 0.49 + t * 0.1)] }
        #expect(off.count == 1 && fromTheLine.lineTotals["gate"]?.in == 1)
        var back = Self.analytics([.lineCrossing])
        #expect(Self.run(&back, seconds: 3) { t in [Self.person(5, at: 0.5, 0.49 - t * 0.1)] }.isEmpty)
    }

    @Test("crowd: occupancy per zone, one alert when a crowd holds, re-armed only once it thins out; minutes of counts")
    func crowd() {
        var analytics = Self.analytics([.crowdCount, .lineCrossing]) { $0.crowdThreshold = 5 }
        // Six people in the square from t = 5 to 20; then two; at 40 six again.
        let alerts = Self.run(&analytics, seconds: 70) { t in
            let inside = (t >= 5 && t < 20) || t >= 40 ? 6 : 2
            return (0..<inside).map { Self.person($0, at: 0.35 + Double($0) * 0.05, 0.5) }
        }
        #expect(alerts.count == 2)
        #expect(alerts.first?.count == 6)
        #expect(alerts.first?.zone == "square")
        #expect(analytics.occupancy["square"] == 6)
        analytics.finish()
        let minutes = analytics.takeMinuteCounts().filter { $0.zone == "square" }
        #expect(minutes.map(\.peakOccupancy) == [6, 6], "two minutes, each with six at its peak")
        #expect(analytics.takeMinuteCounts().isEmpty, "handed over once")
    }

    @Test("counts: minutes are the clock's, whenever the camera started, and a new origin starts no new minute")
    func clockMinutes() {
        // The camera starts half a minute past the minute; the pipeline sets the origin again, a second later, at once.
        let start = Self.origin.addingTimeInterval(30)
        var analytics = CameraAnalytics(
            camera: "cam", analytics: [.crowdCount], zones: [Self.square], lines: [], origin: start)
        _ = analytics.observe(Observation(time: 0, objects: [Self.person(1, at: 0.5, 0.5)]))
        analytics.origin = start.addingTimeInterval(1)
        for step in 1...1000 {
            let t = Double(step) / 10
            _ = analytics.observe(Observation(time: t, objects: t < 40 ? [Self.person(1, at: 0.5, 0.5)] : []))
        }
        analytics.finish()
        let minutes = analytics.takeMinuteCounts().filter { $0.zone == "square" }
        #expect(
            minutes.map(\.minute) == [0, 60, 120].map { Self.origin.addingTimeInterval($0) },
            "\(minutes.map(\.minute))")
        #expect(minutes.map(\.peakOccupancy) == [1, 1, 0])
    }

    @Test("crowd: occupancy counts people where they stand now, not where their smoothed point lags behind")
    func occupancyDoesNotLag() {
        var analytics = Self.analytics([.crowdCount])
        // Walking right at 0.1 of the picture a second: into the square at x = 0.3 when t = 2.
        var inside: [Double: Int] = [:]
        for step in 0..<30 {
            let t = Double(step) / 10
            _ = analytics.observe(Observation(time: t, objects: [Self.person(1, at: 0.1 + 0.1 * t, 0.5)]))
            inside[t] = analytics.occupancy["square"]
        }
        // A step after the feet cross the edge: the smoothed point (a third of the way to each new position) is still
        // outside until t = 2.2.
        #expect(inside[2.1] == 1)
        #expect(inside[1.9] == 0)
    }

    @Test(
        "running: speed in the person's own heights per second, sustained; walking, standing and a tracker's jump raise nothing"
    )
    func running() {
        // A 0.2-tall person (in picture heights) at 16:9: one body height a second is 0.2 / (16/9) of the width across.
        let heightAcross = 0.2 / (16.0 / 9.0)
        var analytics = Self.analytics([.running])
        let walking = Self.run(&analytics, seconds: 8) { t in [Self.person(1, at: 0.1 + 0.9 * heightAcross * t, 0.5)] }
        #expect(walking.isEmpty, "walking at 0.9 heights a second")
        let standing = Self.run(&analytics, from: 8, seconds: 6) { t in
            [Self.person(2, at: t < 11 ? 0.2 : 0.8, 0.5)]  // one jump across the picture at t = 11: a switched track
        }
        #expect(standing.isEmpty, "a single jump is one step of many: the median speed stays nought")

        var runner = Self.analytics([.running])
        let ran = Self.run(&runner, seconds: 2) { t in [Self.person(3, at: 0.1 + 3 * heightAcross * t, 0.5)] }
        #expect(ran.count == 1, "running at three heights a second: one alert")
        #expect(ran.first?.kind == .running && ran.first?.track == 3)
        #expect(ran.first?.zone == "square", "named by the zone the runner is in")
        // Down the picture at the same speed in heights: the same verdict, whatever the direction.
        var down = Self.analytics([.running])
        #expect(Self.run(&down, seconds: 2) { t in [Self.person(4, at: 0.5, 0.1 + 3 * 0.2 * t)] }.count == 1)

        // A pause of a second does not re-arm it; three seconds slow do.
        let pause = Self.run(&runner, from: 2, seconds: 1) { _ in [Self.person(3, at: 0.775, 0.5)] }
        let again = Self.run(&runner, from: 3, seconds: 1) { t in
            [Self.person(3, at: 0.775 - 3 * heightAcross * (t - 3), 0.5)]
        }
        #expect(pause.isEmpty && again.isEmpty, "the same run")
        _ = Self.run(&runner, from: 4, seconds: 4) { _ in [Self.person(3, at: 0.44, 0.5)] }
        let second = Self.run(&runner, from: 8, seconds: 2) { t in
            [Self.person(3, at: 0.44 + 3 * heightAcross * (t - 8), 0.5)]
        }
        #expect(second.count == 1, "a new run after a rest")
    }

    @Test("a zone's own thresholds win over the camera's: loitering after 10 s in one zone, 60 s elsewhere")
    func zoneThresholds() {
        let corner = Zone(
            id: "corner",
            polygon: [Point(x: 0.0, y: 0.0), Point(x: 0.2, y: 0.0), Point(x: 0.2, y: 0.2), Point(x: 0.0, y: 0.2)])
        var quick = CameraAnalytics.Thresholds()
        quick.loiteringAfter = 10
        var analytics = CameraAnalytics(
            camera: "cam", analytics: [.loitering], zones: [Self.square, corner], lines: [],
            zoneThresholds: ["corner": quick], origin: Self.origin)
        let alerts = Self.run(&analytics, seconds: 30) { _ in
            [Self.person(1, at: 0.1, 0.15), Self.person(2, at: 0.5, 0.5)]
        }
        #expect(
            alerts.count == 1 && alerts.first?.zone == "corner", "the corner after 10 s; the square not before 60 s")
        #expect(alerts.first.map { $0.time.timeIntervalSince(Self.origin) }.map { $0 >= 10 && $0 < 10.5 } == true)
    }

    @Test("an analytic the policy does not list does not run")
    func onlyListed() {
        var analytics = Self.analytics([.lineCrossing])
        let alerts = Self.run(&analytics, seconds: 100) { t in [Self.person(1, at: 0.5, 0.5)] }
        #expect(alerts.isEmpty, "no restricted-zone, loitering or crowd alert without them in the policy")
    }
}
