import Testing
import VeilCore

@testable import VeilVision

@Suite("Fail-closed tracking")
struct TrackerTests {
    func face(_ x: Double, _ y: Double = 100) -> Detection {
        Detection(kind: .faces, box: Box(x1: x, y1: y, x2: x + 40, y2: y + 40), score: 0.9)
    }

    @Test("a face the detector misses for a few frames stays covered, moving on and growing")
    func missedDetections() {
        var tracker = RedactionTracker(configuration: .init(coverLostFor: 1.0, growthPerSecond: 0.5))
        _ = tracker.update(with: [face(100)], at: 0.0)
        _ = tracker.update(with: [face(110)], at: 0.1)
        // The detector misses it for three frames.
        for step in 2...4 {
            let covered = tracker.update(with: [], at: Double(step) / 10)
            #expect(covered.count == 1)
            let box = covered[0].box
            // Predicted to keep moving right, and larger than the last detection.
            #expect(box.centreX > 130)
            #expect(box.width > 40)
        }
        // Found again: the same track continues.
        let again = tracker.update(with: [face(150)], at: 0.5)
        #expect(again.map(\.track) == [1])
        // Lost for longer than the limit, but missed by only one detection pass: still covered (time alone never
        // uncovers a face). The second pass that misses it uncovers it.
        #expect(tracker.update(with: [], at: 1.6).count == 1)
        #expect(tracker.update(with: [], at: 1.7).isEmpty)
        #expect(tracker.tracksStarted == 1)
    }

    @Test("between detections the cover spans where the object was last seen and where it is predicted")
    func coverSpansSeenAndPredicted() {
        var tracker = RedactionTracker(configuration: .init(coverLostFor: 1.0, growthPerSecond: 0.5))
        _ = tracker.update(with: [face(100)], at: 0.0)
        _ = tracker.update(with: [face(120)], at: 0.1)  // moving right at 100 px/s (smoothed)
        let covered = tracker.covered(at: 0.4)
        #expect(covered.count == 1)
        #expect(covered[0].box.contains(face(120).box), "the place it was last seen stays covered")
        #expect(covered[0].box.contains(face(150).box), "and where it would be at its speed")
    }

    @Test("two people are two tracks; classes never mix")
    func separateTracks() {
        var tracker = RedactionTracker()
        let plate = Detection(kind: .plates, box: Box(x1: 100, y1: 100, x2: 140, y2: 140), score: 1)
        let covered = tracker.update(with: [face(100), face(400), plate], at: 0)
        #expect(Set(covered.map(\.track)).count == 3)
        let next = tracker.update(with: [face(402), face(98)], at: 0.1)
        #expect(next.filter { $0.kind == .faces }.count == 2)
        #expect(tracker.tracksStarted == 3)
    }

    @Test(
        "without detection passes a lost face stays covered however long, at a bounded size, and asks for a detection")
    func boundedCoverWithoutDetections() {
        var tracker = RedactionTracker(
            configuration: .init(
                coverLostFor: 1.0, growthPerSecond: 0.5, maximumGrowth: 0.25,
                coastFor: 0.3))
        _ = tracker.update(with: [face(100)], at: 0.0)
        _ = tracker.update(with: [face(110)], at: 0.1)
        #expect(!tracker.wantsDetection(at: 0.3), "not grown to its bound yet")
        let later = tracker.covered(at: 10)
        #expect(later.count == 1, "no pass has missed it: it stays covered")
        // At most 1.5 × its size, moved at most 0.3 s worth of its speed, and still over where it was last seen.
        #expect(later[0].box.width <= 40 * 1.5 + 0.3 * 4 * 40 + 0.001)
        #expect(later[0].box.contains(face(110).box))
        #expect(tracker.wantsDetection(at: 10))
    }

    @Test("a small head that walked more than its width between passes keeps its track, and its cover follows it")
    func smallObjectMovingFast() {
        var tracker = RedactionTracker()
        let head = { (x: Double) in Detection(kind: .faces, box: Box(x1: x, y1: 100, x2: x + 12, y2: 112), score: 0.9) }
        _ = tracker.update(with: [head(100)], at: 0.0)
        // 20 px in 0.5 s: no overlap with where it was, but within four of its widths a second.
        let next = tracker.update(with: [head(80)], at: 0.5)
        #expect(next.contains { $0.track == 1 && $0.unseenFor == 0 }, "the same track continues")
        // Moving left (its velocity smoothed to 20 px/s): 0.3 s later the cover reaches further left than where it was
        // seen.
        let later = tracker.covered(at: 0.8)
        #expect(later.contains { $0.track == 1 && $0.box.x1 < 75 })
        // Something far beyond its reach is someone else.
        let far = tracker.update(with: [head(300)], at: 1.0)
        #expect(far.contains { $0.track != 1 && $0.unseenFor == 0 })
    }

    @Test("a jumpy match cannot fling the cover across the picture")
    func boundedSpeed() {
        var tracker = RedactionTracker()
        _ = tracker.update(with: [face(100)], at: 0.0)
        _ = tracker.update(with: [face(125)], at: 0.01)  // 2,500 px/s: a match that jumped
        // The doubtful match also leaves a residue where the face was: every cover stays near the two places.
        let covered = tracker.covered(at: 0.5)
        #expect(!covered.isEmpty)
        #expect(covered.allSatisfy { $0.box.x2 < 125 + 40 + 0.3 * 4 * 40 + 0.25 * 40 + 0.001 })
    }

    @Test(
        "a lost head's cover goes half a second after passes start missing it; a lost person's track, which the analytics follow, stays a second"
    )
    func headsGoSoonerThanPeople() {
        var tracker = RedactionTracker()
        let person = Detection(kind: .persons, box: Box(x1: 100, y1: 100, x2: 140, y2: 200), score: 0.9)
        let head = Detection(kind: .faces, box: Box(x1: 103, y1: 85, x2: 137, y2: 127), score: 0.9)
        _ = tracker.update(with: [person, head], at: 0)
        // A pass every 0.2 s, each missing both.
        var kinds: [Int: Set<RedactionClass>] = [:]
        for step in 1...6 { kinds[step] = Set(tracker.update(with: [], at: Double(step) * 0.2).map(\.kind)) }
        #expect(kinds[2] == [.persons, .faces], "two misses, but seen 0.4 s ago")
        #expect(kinds[3] == [.persons], "the head: missed three times, unseen 0.6 s")
        #expect(kinds[5] == [.persons], "the person: unseen 1 s, not more")
        #expect(kinds[6] == [], "the person: unseen 1.2 s")
    }

    @Test("a head region's person is the person it was made from")
    func personOfHead() throws {
        let person = Box(x1: 200, y1: 100, x2: 240, y2: 200)
        let head = try #require(RedactionPipeline.head(of: Detection(kind: .persons, box: person, score: 0.9)))
        let back = RedactionPipeline.person(ofHead: head.box)
        for (a, b) in [(back.x1, person.x1), (back.y1, person.y1), (back.x2, person.x2), (back.y2, person.y2)] {
            #expect(abs(a - b) < 1e-9, "\(back) for \(person)")
        }
    }

    @Test("a lost track inside what is seen now is dropped; a residue lasts one missed pass")
    func redundantTracksGo() {
        var tracker = RedactionTracker()
        let big = Detection(kind: .faces, box: Box(x1: 90, y1: 90, x2: 160, y2: 160), score: 0.9)
        _ = tracker.update(with: [face(100)], at: 0.0)
        // Found again as part of a larger box of the same class: the old, smaller track is inside it.
        let next = tracker.update(with: [big], at: 0.1)
        #expect(next.count == 1)
        #expect(next[0].box == big.box)
    }
}

@Suite("Boxes")
struct BoxTests {
    @Test("boxes apart do not overlap: the gap between them is no intersection")
    func apart() {
        let left = Box(x1: 0, y1: 0, x2: 10, y2: 10), right = Box(x1: 12, y1: 0, x2: 22, y2: 10)
        #expect(left.overlapArea(right) == 0)
        #expect(left.intersectionOverUnion(right) == 0)
        #expect(
            Box(x1: 0, y1: 0, x2: 10, y2: 10).intersectionOverUnion(Box(x1: 5, y1: 0, x2: 15, y2: 10)) == 50.0 / 150.0)
    }
}
