import Foundation
import Synchronization
import Testing
import VeilAnalytics
import VeilCore
import VeilMedia
import VeilTestSupport
import VeilVision

@testable import VeilGateway

/// Issue 13: an alert carries a snapshot redacted with the least revealing profile of the grants that send one, kept
/// apart from the alert (the vault, in the gateway) and referenced by it.
@Suite("Alert snapshots")
struct AlertSnapshotTests {
    /// Snapshots kept in memory.
    final class MemorySnapshots: AlertSnapshotStore {
        struct Kept {
            var jpeg: Data
            var camera: CameraID
            var redaction: RedactionSpec
        }
        let kept = Mutex<[String: Kept]>([:])
        func store(jpeg: Data, camera: CameraID, at time: Date, redaction: RedactionSpec) async throws -> String {
            let reference = "snap-\(UUID().uuidString)"
            kept.withLock { $0[reference] = Kept(jpeg: jpeg, camera: camera, redaction: redaction) }
            return reference
        }
        func snapshot(_ reference: String, camera: CameraID, required: RedactionSpec) async throws -> Data? {
            kept.withLock { $0[reference] }.flatMap {
                $0.camera == camera && $0.redaction.isAtLeastAsProtective(as: required) ? $0.jpeg : nil
            }
        }
    }

    /// A grey 640 × 480 picture with a checkerboard face-sized square at `face` (texture a blur must remove).
    static func picture(face: Box, time: Double) throws -> VideoFrame {
        let frame = try VideoFrame(width: 640, height: 480, time: time)
        frame.withWritablePlanes { planes in
            for row in 0..<480 {
                let line = planes.y.advanced(by: row * planes.yStride)
                for column in 0..<640 {
                    let inside =
                        Double(column) >= face.x1 && Double(column) < face.x2 && Double(row) >= face.y1
                        && Double(row) < face.y2
                    // Texture everywhere (a stripe pattern), the face's a finer checkerboard.
                    line[column] =
                        inside ? (((row / 4) + (column / 4)) % 2 == 0 ? 30 : 220) : (column / 16 % 2 == 0 ? 90 : 160)
                }
            }
        }
        return frame
    }

    /// The mean absolute difference between neighbouring pixels of the decoded snapshot inside `box`: texture left.
    static func texture(in frame: VideoFrame, _ box: Box) -> Double {
        frame.withPlanes { planes in
            var sum = 0.0, count = 0.0
            for row in Int(box.y1)..<Int(box.y2) {
                let line = planes.y.advanced(by: row * planes.yStride)
                for column in Int(box.x1)..<(Int(box.x2) - 1) {
                    sum += abs(Double(line[column]) - Double(line[column + 1]))
                    count += 1
                }
            }
            return sum / max(1, count)
        }
    }

    /// A camera whose whole picture is a restricted zone, alerting after 0.2 s inside.
    static func restrictedYard(
        snapshots: AlertSnapshotting?, raise: @escaping @Sendable (Alert) -> Void
    ) -> CameraAnalyticsSink {
        let zone = Zone(
            id: "yard", polygon: [Point(x: 0, y: 0), Point(x: 1, y: 0), Point(x: 1, y: 1), Point(x: 0, y: 1)])
        var thresholds = CameraAnalytics.Thresholds()
        thresholds.restrictedDwell = 0.2
        return CameraAnalyticsSink(
            setup: .init(
                camera: "yard-cam", analytics: [.restrictedZone], zones: [zone], lines: [], thresholds: thresholds),
            snapshots: snapshots, raise: raise)
    }

    @Test(
        "a restricted-zone alert is raised with a reference to its snapshot, a JPEG with the face blurred and the rest as it was; the frame itself is left unpainted"
    )
    func snapshotWithAlert() async throws {
        let store = MemorySnapshots()
        let raised = Mutex<[Alert]>([])
        let profile = RedactionSpec(classes: [.faces, .plates], mode: .blur, shape: .box, margin: 0)
        let sink = Self.restrictedYard(
            snapshots: AlertSnapshotting(redaction: profile, store: store),
            raise: { alert in raised.withLock { $0.append(alert) } })
        let person = Box(x1: 300, y1: 150, x2: 360, y2: 330), face = Box(x1: 315, y1: 160, x2: 345, y2: 195)
        var pictures: [VideoFrame] = []
        for index in 0..<15 {
            let time = Double(index) * 0.04
            let picture = try Self.picture(face: face, time: time)
            pictures.append(picture)
            sink.observe(
                TrackedFrame(
                    camera: "yard-cam", time: time, origin: Date(), width: 640, height: 480,
                    tracks: [
                        RedactionTracker.Covered(track: 1, kind: .persons, box: person, unseenFor: 0),
                        RedactionTracker.Covered(track: 2, kind: .faces, box: face, unseenFor: 0),
                    ], picture: picture))
        }
        // The snapshot is stored off the camera's thread before the alert is raised.
        let deadline = ContinuousClock.now + .seconds(30)
        while raised.withLock({ $0.isEmpty }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let alert = try #require(raised.withLock { $0.first })
        #expect(alert.kind == .restrictedZone)
        #expect(alert.snapshot == nil, "the picture is not in the alert (nor in the journal)")
        let reference = try #require(alert.snapshotID)
        let kept = try #require(store.kept.withLock { $0[reference] })
        #expect(kept.redaction == profile)
        #expect(kept.jpeg.starts(with: [0xFF, 0xD8]), "a JPEG")

        // Decoded with FFmpeg, as a partner would: the face's fine texture is gone, the rest is as sharp as before.
        let path = try TestPaths.temporaryFolder("snapshot") + "/snapshot.jpg"
        try kept.jpeg.write(to: URL(fileURLWithPath: path))
        let source = try MediaSource(address: path)
        let decoded = try #require(try source.nextFrame())
        #expect(decoded.width == 640 && decoded.height == 480)
        let original = try #require(pictures.last)
        let elsewhere = Box(x1: 40, y1: 300, x2: 200, y2: 440)
        #expect(Self.texture(in: original, face) > 40)
        #expect(Self.texture(in: decoded, face) < 0.3 * Self.texture(in: original, face), "the face is blurred")
        #expect(
            Self.texture(in: decoded, elsewhere) > 0.8 * Self.texture(in: original, elsewhere),
            "what is not a face keeps its detail")
        #expect(
            pictures.allSatisfy { Self.texture(in: $0, face) > 40 },
            "the camera's own frames are left as they were (the pipeline paints each rendition's copy)")
    }

    @Test("without snapshotting, alerts are raised at once and without a reference")
    func noSnapshotting() throws {
        let raised = Mutex<[Alert]>([])
        let sink = Self.restrictedYard(
            snapshots: nil, raise: { alert in raised.withLock { $0.append(alert) } })
        let person = Box(x1: 300, y1: 150, x2: 360, y2: 330)
        for index in 0..<15 {
            let time = Double(index) * 0.04
            sink.observe(
                TrackedFrame(
                    camera: "yard-cam", time: time, origin: Date(), width: 640, height: 480,
                    tracks: [RedactionTracker.Covered(track: 1, kind: .persons, box: person, unseenFor: 0)],
                    picture: try Self.picture(face: Box(x1: 0, y1: 0, x2: 1, y2: 1), time: time)))
        }
        let alerts = raised.withLock { $0 }
        #expect(alerts.count == 1)
        #expect(alerts.first?.snapshotID == nil)
    }
}
