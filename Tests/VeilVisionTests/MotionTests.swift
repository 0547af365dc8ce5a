import Testing
import VeilCore
import VeilMedia
import VeilTestSupport

@testable import VeilVision

/// The motion fallback and the tracker's residues: what keeps a head covered when the person network misses it
/// or a track is captured by a neighbour (vtest: the last 2 of 91 heads).
@Suite("Motion fallback and track residues")
struct MotionTests {
    /// A 640×480 grey picture with bright rectangles painted on it.
    static func picture(_ rectangles: [Box], time: Double = 0) throws -> VideoFrame {
        let frame = try VideoFrame(width: 640, height: 480, time: time)
        frame.withWritablePlanes { planes in
            for row in 0..<480 { planes.y.advanced(by: row * planes.yStride).update(repeating: 90, count: 640) }
            for box in rectangles {
                for row in Int(box.y1)..<Int(box.y2) {
                    planes.y.advanced(by: row * planes.yStride + Int(box.x1)).update(
                        repeating: 220, count: Int(box.width))
                }
            }
        }
        return frame
    }

    @Test(
        "A person-shaped region that appears is reported as a person; a car-shaped one, noise and a whole-picture change are not"
    )
    func motion() async throws {
        try await HeavyTest.run {
            let detector = MotionDetector()
            #expect(try detector.detect(in: Self.picture([])).isEmpty, "the first picture is the background")
            let person = Box(x1: 300, y1: 200, x2: 324, y2: 272)  // 24 × 72 px: a small, far-away person
            let found = try detector.detect(in: Self.picture([person]))
            #expect(found.count == 1)
            let box = try #require(found.first).box
            #expect(found.first?.kind == .persons)
            #expect(box.contains(person, tolerance: 0.5), "\(box) should enclose \(person)")
            #expect(
                box.width <= person.width + 16 && box.height <= person.height + 16,
                "grown by about a cell, not more: \(box)")

            let car = Box(x1: 60, y1: 300, x2: 200, y2: 350)
            let speck = Box(x1: 500, y1: 100, x2: 503, y2: 103)
            let others = try detector.detect(in: Self.picture([person, car, speck]))
            #expect(others.allSatisfy { !$0.box.contains(car) }, "wider than tall: not a person")
            #expect(others.allSatisfy { !$0.box.contains(speck) || $0.box.contains(person) }, "a few pixels: noise")

            // The lights go up across the picture: nothing is reported, and the background starts again.
            #expect(try detector.detect(in: Self.picture([Box(x1: 0, y1: 0, x2: 640, y2: 300)])).isEmpty)
            #expect(try detector.detect(in: Self.picture([Box(x1: 0, y1: 0, x2: 640, y2: 300)])).isEmpty)
        }
    }

    @Test(
        "A person standing still stays reported for seconds of video, however often the detector is called, then fades into the background"
    )
    func stillPersonFades() async throws {
        try await HeavyTest.run {
            let person = Box(x1: 300, y1: 200, x2: 324, y2: 272)
            for step in [0.1, 0.5] {
                let detector = MotionDetector()
                _ = try detector.detect(in: Self.picture([], time: 0))
                var reportedUntil = 0.0
                var time = step
                while time <= 20 {
                    if try detector.detect(in: Self.picture([person], time: time)).contains(where: {
                        $0.box.contains(person, tolerance: 0.5)
                    }) {
                        reportedUntil = time
                    }
                    time += step
                }
                #expect(
                    reportedUntil >= 8 && reportedUntil <= 14,
                    "called every \(step) s: reported until \(reportedUntil) s")
            }
        }
    }

    @Test("A track captured by a neighbour's detection leaves its old place covered until it expires")
    func residue() async throws {
        try await HeavyTest.run {
            var tracker = RedactionTracker(configuration: .init(coverLostFor: 1.0, growthPerSecond: 0.5))
            let lower = Detection(kind: .faces, box: Box(x1: 100, y1: 200, x2: 140, y2: 240), score: 1)
            // overlaps: IoU 0.14…0.4
            let upper = Detection(kind: .faces, box: Box(x1: 100, y1: 170, x2: 140, y2: 210), score: 1)
            _ = tracker.update(with: [lower], at: 0)
            // Only the upper face is detected now, close enough to continue the lower one's track.
            let covered = tracker.update(with: [upper], at: 0.2)
            #expect(covered.contains { $0.box.contains(upper.box) }, "the new detection is covered")
            #expect(
                covered.contains { $0.box.contains(lower.box) }, "the old place stays covered: it may be someone else")
            // Unclaimed, the residue expires like any lost track.
            let later = tracker.update(with: [upper], at: 1.3)
            #expect(!later.contains { $0.box.contains(lower.box) && !$0.box.contains(upper.box) })
            // A match where the track was expected leaves no residue.
            var steady = RedactionTracker()
            _ = steady.update(with: [lower], at: 0)
            #expect(steady.update(with: [lower], at: 0.1).count == 1)
        }
    }

    @Test(
        "The motion trigger fires when something new moves outside what is covered, not while it keeps moving, not on a still picture"
    )
    func trigger() async throws {
        try await HeavyTest.run {
            let trigger = MotionTrigger()
            let empty = try Self.picture([])
            #expect(!trigger.somethingNew(in: empty, outside: []), "the first picture: nothing to compare with")
            #expect(!trigger.somethingNew(in: try Self.picture([]), outside: []), "nothing moved")
            var person = Box(x1: 300, y1: 200, x2: 340, y2: 300)
            #expect(trigger.somethingNew(in: try Self.picture([person]), outside: []), "someone appears")
            person = Box(x1: 304, y1: 200, x2: 344, y2: 300)
            #expect(!trigger.somethingNew(in: try Self.picture([person]), outside: []), "and walks on: not new")
            #expect(!trigger.somethingNew(in: try Self.picture([person]), outside: []), "and stands still")
            let other = Box(x1: 40, y1: 40, x2: 80, y2: 140)
            #expect(
                !trigger.somethingNew(
                    in: try Self.picture([person, other]), outside: [Box(x1: 30, y1: 30, x2: 90, y2: 150)]),
                "something new, but where a box is covered already")
            let third = Box(x1: 500, y1: 300, x2: 540, y2: 400)
            #expect(trigger.somethingNew(in: try Self.picture([person, other, third]), outside: []))
            // The lights change: everything differs, so whatever was known is detected again.
            let lit = try VideoFrame(width: 640, height: 480)
            lit.withWritablePlanes { planes in
                for row in 0..<480 { planes.y.advanced(by: row * planes.yStride).update(repeating: 200, count: 640) }
            }
            #expect(trigger.somethingNew(in: lit, outside: []))
        }
    }

    /// Counts its calls; finds nothing.
    final class CountingDetector: ObjectDetector, @unchecked Sendable {
        let classes: Set<RedactionClass> = [.faces]
        var calls: [Int] = []
        var frame = 0
        func detect(in image: any YUVImage) throws -> [Detection] {
            calls.append(Int(image.time.rounded()))
            return []
        }
    }

    /// Finds one face, on its first call only.
    final class FaceOnce: ObjectDetector, @unchecked Sendable {
        let classes: Set<RedactionClass> = [.faces]
        var calls: [Int] = []
        func detect(in image: any YUVImage) throws -> [Detection] {
            calls.append(Int(image.time.rounded()))
            return calls.count == 1
                ? [Detection(kind: .faces, box: Box(x1: 100, y1: 100, x2: 140, y2: 150), score: 0.9)] : []
        }
    }

    /// Counts its calls; finds no plate.
    final class PlateCounter: ObjectDetector, @unchecked Sendable {
        let classes: Set<RedactionClass> = [.plates]
        var calls: [Int] = []
        func detect(in image: any YUVImage) throws -> [Detection] {
            calls.append(Int(image.time.rounded()))
            return []
        }
    }

    @Test(
        "a pass a lost face asks for does not look for plates; one something new moving asks for does, and every other scheduled one"
    )
    func platesOnlyWhereDue() async throws {
        try await HeavyTest.run {
            let (faces, plates) = (FaceOnce(), PlateCounter())
            let pipeline = RedactionPipeline(
                spec: RedactionSpec(classes: [.faces, .plates]), detectors: [faces, plates],
                options: .init(detectEvery: 10, coverHeadsOfPeople: false, plateEvery: 2))
            let arrival = Box(x1: 400, y1: 200, x2: 440, y2: 300)
            for index in 0..<25 {
                _ = try pipeline.track(try Self.picture(index >= 13 ? [arrival] : [], time: Double(index)))
            }
            // The schedule counts from the last pass: 0, then 11 after the lost face's pass at 1, then 23 after the
            // arrival's at 13.
            #expect(
                faces.calls == [0, 1, 11, 13, 23], "the lost face asks for a pass at 1; the arrival triggers one at 13")
            #expect(
                plates.calls == [0, 13, 23],
                "not at 1 (a lost face), nor at 11 (every other scheduled pass): \(plates.calls)")
        }
    }

    @Test(
        "With detection every 10th frame, something appearing at frame 13 is detected at frame 13, not 20; on a still picture only the schedule runs"
    )
    func detectOnMotion() async throws {
        try await HeavyTest.run {
            let detector = CountingDetector()
            let pipeline = RedactionPipeline(
                spec: RedactionSpec(classes: [.faces]), detectors: [detector], options: .init(detectEvery: 10))
            let person = Box(x1: 300, y1: 200, x2: 340, y2: 300)
            for index in 0..<30 {
                _ = try pipeline.track(try Self.picture(index >= 13 ? [person] : [], time: Double(index)))
            }
            #expect(detector.calls == [0, 10, 13, 23], "\(detector.calls)")
            #expect(pipeline.detectionsOnMotion == 1)

            let scheduled = CountingDetector()
            let still = RedactionPipeline(
                spec: RedactionSpec(classes: [.faces]), detectors: [scheduled],
                options: .init(detectEvery: 10, detectOnMotion: false))
            for index in 0..<30 {
                _ = try still.track(try Self.picture(index >= 13 ? [person] : [], time: Double(index)))
            }
            #expect(scheduled.calls == [0, 10, 20], "without the trigger, the schedule alone")
        }
    }

    /// Records the frames it was called on (25 fps); finds one face on its first call only, or nothing.
    final class FrameRecorder: ObjectDetector, @unchecked Sendable {
        let classes: Set<RedactionClass>
        let findsFaceOnce: Bool
        var calls: [Int] = []
        init(_ kind: RedactionClass, findsFaceOnce: Bool = false) {
            classes = [kind]
            self.findsFaceOnce = findsFaceOnce
        }
        func detect(in image: any YUVImage) throws -> [Detection] {
            calls.append(Int((image.time * 25).rounded()))
            return findsFaceOnce && calls.count == 1
                ? [Detection(kind: .faces, box: Box(x1: 100, y1: 100, x2: 140, y2: 150), score: 0.9)] : []
        }
    }

    @Test(
        "a camera behind real time puts its passes off and keeps every cover; caught up, it looks for what moved meanwhile, and plates get a frame of their own"
    )
    func behindRealTime() async throws {
        try await HeavyTest.run {
            let (faces, plates) = (FrameRecorder(.faces, findsFaceOnce: true), FrameRecorder(.plates))
            let pipeline = RedactionPipeline(
                spec: RedactionSpec(classes: [.faces, .plates]), detectors: [faces, plates],
                options: .init(detectEvery: 5, coverHeadsOfPeople: false, plateEvery: 1))
            let face = Box(x1: 100, y1: 100, x2: 140, y2: 150), arrival = Box(x1: 400, y1: 200, x2: 440, y2: 300)
            // (Up to frame 11: at 12 the lost face's cover has grown as far as it may and asks for a pass of its own.)
            for index in 0..<12 {
                // Behind from the first frame to the 9th: the first frame is looked at all the same.
                let covered = try pipeline.track(
                    try Self.picture(index >= 3 ? [arrival] : [], time: Double(index) / 25), behind: index < 10)
                #expect(
                    covered.contains { $0.kind == .faces && face.fraction(inside: $0.box) >= 1 },
                    "frame \(index): the face found on frame 0 stays covered while no pass runs")
            }
            // Frames 3 (the arrival) to 9 each had a pass due; the first that can afford it, 10, runs it — without
            // plates, since the camera was short of CPU lately — and 11 looks for plates alone.
            #expect(pipeline.framesDeferred == 7)
            #expect(faces.calls == [0, 10], "\(faces.calls)")
            #expect(plates.calls == [0, 11], "\(plates.calls)")
        }
    }

    @Test(
        "a camera short of CPU looks for still plates on every fourth scheduled pass instead of every other, on a frame of their own"
    )
    func fewerPlatePassesShortOfCPU() async throws {
        try await HeavyTest.run {
            var calls: [[Int]] = []
            for economical in [false, true] {
                let plates = FrameRecorder(.plates)
                let pipeline = RedactionPipeline(
                    spec: RedactionSpec(classes: [.faces, .plates]), detectors: [FrameRecorder(.faces), plates],
                    options: .init(detectEvery: 5, coverHeadsOfPeople: false, economical: economical))
                for index in 0..<30 { _ = try pipeline.track(try Self.picture([], time: Double(index) / 25)) }
                calls.append(plates.calls)
            }
            #expect(calls[0] == [0, 10, 20], "every other scheduled pass: \(calls[0])")
            // Frame 0 is looked at whole; the fifth scheduled pass (20) leaves plates to a frame of their own.
            #expect(calls[1] == [0, 21], "every fourth, the frame after: \(calls[1])")
        }
    }
}
