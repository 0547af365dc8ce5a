import Foundation
import Testing
import VeilVision

@testable import VeilGateway

/// A subject access's chain of the subject's stretches of track, where the tracker started a second track on the
/// subject while the first still ran (a tight box inside a loose one) and the first then ended: the second is theirs,
/// unless someone else's box was inside the first as well.
@Suite("Subject access: a track handed over inside the subject's own")
struct SubjectHandOverTests {
    static let origin = Date(timeIntervalSince1970: 1_764_072_000)

    /// A stretch of track over `frames` (10 a second), its box at `box(frame)`.
    static func tracklet(_ track: Int, _ frames: ClosedRange<Int>, _ box: (Int) -> Box) -> FollowedFootage.Tracklet {
        FollowedFootage.Tracklet(
            track: track, frames: Array(frames), boxes: frames.map(box),
            first: origin.addingTimeInterval(Double(frames.lowerBound) / 10),
            last: origin.addingTimeInterval(Double(frames.upperBound) / 10))
    }

    /// The subject's loose box, walking left, frames 0–20.
    static let loose = tracklet(1, 0...20) { Box(x1: 600 - 2 * Double($0), y1: 200, x2: 670 - 2 * Double($0), y2: 350) }
    /// A tight box inside it from frame 12, going on to frame 40.
    static let tight = tracklet(2, 12...40) {
        Box(x1: 615 - 2 * Double($0), y1: 215, x2: 650 - 2 * Double($0), y2: 340)
    }

    @Test(
        "a tight track inside the subject's that outlasts it is the subject's — forwards and backwards; a loose one never"
    )
    func handsOver() {
        let all = [Self.loose, Self.tight]
        #expect(
            FollowedFootage.handOver(from: Self.loose, forward: true, among: all, chain: [Self.loose]) == Self.tight)
        // Backwards: a tight track that ended inside the subject's, having begun before it.
        let later = Self.tracklet(6, 10...30) {
            Box(x1: 600 - 2 * Double($0), y1: 200, x2: 670 - 2 * Double($0), y2: 350)
        }
        let earlier = Self.tracklet(7, 0...15) {
            Box(x1: 615 - 2 * Double($0), y1: 215, x2: 650 - 2 * Double($0), y2: 340)
        }
        #expect(
            FollowedFootage.handOver(from: later, forward: false, among: [later, earlier], chain: [later]) == earlier)
        // From the tight track to the loose one, either way: a loose box may hold someone else.
        #expect(FollowedFootage.handOver(from: Self.tight, forward: false, among: all, chain: [Self.tight]) == nil)
        #expect(FollowedFootage.handOver(from: Self.tight, forward: true, among: all, chain: [Self.tight]) == nil)
    }

    @Test("someone else's box inside the subject's as well makes it a doubt: handed over to neither")
    func doubt() {
        let other = Self.tracklet(3, 14...30) {
            Box(x1: 640 - 2 * Double($0), y1: 220, x2: 668 - 2 * Double($0), y2: 345)
        }
        let all = [Self.loose, Self.tight, other]
        #expect(FollowedFootage.handOver(from: Self.loose, forward: true, among: all, chain: [Self.loose]) == nil)
        // Someone inside it for a while only, gone before it ended (no candidate themselves): a doubt all the same.
        let passing = Self.tracklet(8, 4...9) {
            Box(x1: 640 - 2 * Double($0), y1: 220, x2: 668 - 2 * Double($0), y2: 345)
        }
        let withPassing = [Self.loose, Self.tight, passing]
        #expect(
            FollowedFootage.handOver(from: Self.loose, forward: true, among: withPassing, chain: [Self.loose]) == nil)
    }

    @Test("a track beside the subject's, or one started after it ended, is not handed over (the gap rule's case)")
    func besideOrAfter() {
        let beside = Self.tracklet(4, 12...40) { _ in Box(x1: 700, y1: 200, x2: 740, y2: 350) }
        #expect(
            FollowedFootage.handOver(from: Self.loose, forward: true, among: [Self.loose, beside], chain: [Self.loose])
                == nil)
        let after = Self.tracklet(5, 22...40) { _ in Box(x1: 560, y1: 200, x2: 600, y2: 350) }
        #expect(
            FollowedFootage.handOver(from: Self.loose, forward: true, among: [Self.loose, after], chain: [Self.loose])
                == nil)
    }
}
