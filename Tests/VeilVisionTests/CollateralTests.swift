import Foundation
import Testing
import VeilCore
import VeilMedia
import VeilTestSupport

@testable import VeilVision

/// Issue 11: redaction hides what identifies and nothing more. Each picture is judged both ways: every marked face
/// covered, and the textured scene outside the faces obscured (``Collateral``, the reference definition of
/// ../shared/tools/collateral.cpp) no more than today's ceiling for that medium. The goal is 2 % everywhere; the
/// ceilings are what the shipped detectors reach now and only ever go down. Marks: Fixtures/faces.json (photos,
/// Megamind.avi) and vtest-heads.json (HeadCoverageTests).
@Suite("Collateral: what redaction hides besides faces and plates")
struct CollateralTests {
    /// The example policy's default profile (policies/city-centre.yaml, `standard`).
    static let defaultProfile = RedactionSpec(
        classes: [.faces, .plates, .screens], mode: .blur, shape: .ellipse, margin: 0.15)
    /// The goal (issue 11).
    static let goal = 0.02
    /// Today's ceilings, measured with the example policy's default profile (a little headroom); the goal where it is
    /// already met. Before issue 11's work: city 42 %, messi5 42 %, person 4 %, kite 5 %, vtest 35 %, Megamind 90 %.
    static let ceiling: [String: Double] = [
        "faces/city.jpg": goal, "faces/messi5.jpg": goal, "people/person.jpg": goal, "people/kite.jpg": goal,
        // Megamind went up once, from 5 % to 7–8 %, with YuNet for video faces: a fifth of CenterFace's cost, every
        // marked face still covered, but one large false face on a dark lamp-lit corner (frames 150–200). vtest went
        // down, to 5.1–5.4 %; then its marks became tight heads (vtest-heads.json) instead of the top of loose person
        // boxes, a smaller allowance, and the same redaction measures 5.6–5.9 %. Then head covers went half a second
        // after passes start missing them, not a second (people's tracks, which the analytics follow, still a second),
        // and a head region of someone the whole frame finds counts as missed by every pass that misses them: vtest
        // 5.1–5.3 %, Megamind 3.5 % (the false face goes sooner).
        "people/dog.jpg": goal, "people/horses.jpg": goal, "video/Megamind.avi": 0.045, "video/vtest.avi": 0.056,
    ]

    struct Marks: Decodable {
        struct Picture: Decodable {
            var faces: [[Double]]
            var heads: [[Double]]
        }
        var images: [String: Picture]
        var videos: [String: [String: [[Double]]]]
    }

    static func marks() throws -> Marks {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/faces.json")
        return try JSONDecoder().decode(Marks.self, from: Data(contentsOf: url))
    }

    static func box(_ mark: [Double]) -> Box {
        Box(x1: mark[0], y1: mark[1], x2: mark[0] + mark[2], y2: mark[1] + mark[3])
    }

    /// What the redactor paints for the covered boxes (grown by the profile's margin).
    static func painted(_ covered: [RedactionTracker.Covered], _ spec: RedactionSpec) -> [Box] {
        covered.filter { spec.classes.contains($0.kind) }.map { $0.box.expanded(by: spec.margin) }
    }

    @Test(
        "the measure itself: an untouched picture loses nothing, a blurred one nearly everything, a face allowance is not counted"
    )
    func measure() async throws {
        try await HeavyTest.run {
            let frame = try VisionFixture.image("faces/city.jpg")
            let before = Collateral.detail(of: frame)
            let untouched = Collateral.tally(before: before, after: Collateral.detail(of: frame), faces: [])
            #expect(untouched.textured > 1000)
            #expect(untouched.obscured == 0)
            let whole = Box(x1: 0, y1: 0, x2: Double(frame.width), y2: Double(frame.height))
            // Blur the left half: about half of the textured blocks obscured, none when the left half is all allowed.
            Redactor(spec: RedactionSpec(classes: [.faces], mode: .blur, shape: .box, margin: 0))
                .apply(to: frame, boxes: [(.faces, Box(x1: 0, y1: 0, x2: whole.width / 2, y2: whole.height))])
            let after = Collateral.detail(of: frame)
            let half = Collateral.tally(before: before, after: after, faces: [])
            #expect(half.fraction > 0.3 && half.fraction < 0.7, "\(half)")
            let allowed = Collateral.tally(
                before: before, after: after,
                faces: [
                    Box(x1: whole.width / 8, y1: whole.height / 4, x2: whole.width * 3 / 8, y2: whole.height * 3 / 4)
                ])
            #expect(allowed.obscured == 0, "a face box grown 2× covers the blurred half: \(allowed)")
        }
    }

    @Test(
        "photos, default profile: every marked face covered, and no more of the rest obscured than today's ceiling",
        arguments: [
            "faces/city.jpg", "faces/messi5.jpg", "people/person.jpg", "people/kite.jpg", "people/dog.jpg",
            "people/horses.jpg",
        ])
    func photo(_ name: String) async throws {
        try await HeavyTest.run {
            let marks = try #require(try Self.marks().images[name])
            let frame = try VisionFixture.image(name)
            let before = Collateral.detail(of: frame)
            // As `veilgate redact` looks at a photo: the face network at twice the picture's width.
            let detectors = try VisionModels(directory: VisionFixture.models)
                .detectors(
                    for: Self.defaultProfile.classes, headsOfPeople: true,
                    faceInputWidth: min(1920, max(640, frame.width * 2))
                ).detectors
            let pipeline = RedactionPipeline(spec: Self.defaultProfile, detectors: detectors)
            let painted = Self.painted(try pipeline.process(frame), Self.defaultProfile)
            let faces = marks.faces.map(Self.box), heads = marks.heads.map(Self.box)
            let uncovered = faces.filter { PlateRedactionTests.coverage(of: $0, by: painted, inner: 0) < 0.8 }
            let tally = Collateral.tally(before: before, after: Collateral.detail(of: frame), faces: faces + heads)
            let headsCovered = heads.filter { PlateRedactionTests.coverage(of: $0, by: painted, inner: 0) >= 0.8 }.count
            print(
                "\(name): \(faces.count - uncovered.count) of \(faces.count) faces and \(headsCovered) of \(heads.count) heads covered; collateral \(tally)"
            )
            #expect(uncovered.isEmpty, "faces left visible: \(uncovered)")
            #expect(tally.fraction <= Self.ceiling[name] ?? Self.goal, "collateral \(tally)")
        }
    }

    @Test(
        "Megamind.avi, default profile: every marked face covered on the marked frames, no more of the rest obscured than today"
    )
    func megamind() async throws {
        try await HeavyTest.run {
            let marks = try #require(try Self.marks().videos["video/Megamind.avi"])
            let source = try MediaSource(address: VisionFixture.data.appendingPathComponent("video/Megamind.avi").path)
            let detectors = try VisionModels(directory: VisionFixture.models).detectors(
                for: Self.defaultProfile.classes, headsOfPeople: true
            ).detectors
            // As `veilgate redact` runs on video: detection every 2nd frame (and at once on new motion).
            let pipeline = RedactionPipeline(
                spec: Self.defaultProfile, detectors: detectors, options: .init(detectEvery: 2))
            var tally = Collateral.Tally()
            var faces = 0
            var uncovered: [String] = []
            while let frame = try source.nextFrame() {
                let marked = marks[String(frame.index)]?.map(Self.box)
                let before = marked.map { _ in Collateral.detail(of: frame) }
                let painted = Self.painted(try pipeline.process(frame), Self.defaultProfile)
                guard let marked, let before else { continue }
                tally = tally + Collateral.tally(before: before, after: Collateral.detail(of: frame), faces: marked)
                for face in marked {
                    faces += 1
                    if PlateRedactionTests.coverage(of: face, by: painted, inner: 0) < 0.8 {
                        uncovered.append("frame \(frame.index): \(face)")
                    }
                }
            }
            print("Megamind.avi: \(faces - uncovered.count) of \(faces) faces covered; collateral \(tally)")
            #expect(faces == 11)
            #expect(uncovered.isEmpty, "faces left visible: \(uncovered)")
            #expect(tally.fraction <= Self.ceiling["video/Megamind.avi"] ?? Self.goal, "collateral \(tally)")
        }
    }
}
