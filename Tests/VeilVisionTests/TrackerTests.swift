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
        // Lost for longer than the limit: no longer covered.
        #expect(tracker.update(with: [], at: 1.6).isEmpty)
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
}
