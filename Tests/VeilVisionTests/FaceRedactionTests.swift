import Foundation
import Testing
import VeilCore
import VeilMedia
import VeilTestSupport

@testable import VeilVision

@Suite("Face redaction on real media")
struct FaceRedactionTests {
    /// Detail left in a region: the variance of the luma Laplacian (what a recogniser needs, gone after redaction).
    static func detail(_ frame: VideoFrame, _ box: Box) -> Double {
        frame.withPlanes { planes in
            let x1 = max(1, Int(box.x1)), y1 = max(1, Int(box.y1))
            let x2 = min(planes.width - 1, Int(box.x2)), y2 = min(planes.height - 1, Int(box.y2))
            var values: [Double] = []
            for row in y1..<max(y1, y2) {
                for column in x1..<max(x1, x2) {
                    func at(_ r: Int, _ c: Int) -> Double { Double(planes.y[r * planes.yStride + c]) }
                    values.append(
                        4 * at(row, column) - at(row - 1, column) - at(row + 1, column) - at(row, column - 1)
                            - at(row, column + 1))
                }
            }
            guard !values.isEmpty else { return 0 }
            let mean = values.reduce(0, +) / Double(values.count)
            return values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        }
    }

    static func distinctLuma(_ frame: VideoFrame, _ box: Box) -> Int {
        frame.withPlanes { planes in
            var seen = Set<UInt8>()
            for row in Int(box.y1)..<Int(box.y2) {
                for column in Int(box.x1)..<Int(box.x2) { seen.insert(planes.y[row * planes.yStride + column]) }
            }
            return seen.count
        }
    }

    @Test(
        "city.jpg: every face is found and covered; what the detector can still find there has no detail left",
        arguments: RedactionMode.allCases)
    func city(_ mode: RedactionMode) async throws {
        try await HeavyTest.run {
            let detector = try VisionFixture.faces()
            let frame = try VisionFixture.image("faces/city.jpg")
            let before = try detector.detect(in: frame)
            #expect(before.count >= 14, "the detector should find most of the ~17 faces, found \(before.count)")
            let detailBefore = before.map { Self.detail(frame, $0.box) }
            let pipeline = RedactionPipeline(
                spec: RedactionSpec(classes: [.faces], mode: mode, shape: .ellipse, margin: 0.2),
                detectors: [detector])
            let covered = try pipeline.process(frame)
            #expect(covered.count == before.count)
            if let path = ProcessInfo.processInfo.environment["VEILGATE_TEST_OUTPUT"] {
                try ImageWriter.write(frame, to: path + "/city-\(mode.rawValue).jpg")
            }
            // The inner half of each face (eyes, nose, mouth) keeps at most a twentieth of its detail.
            for (face, original) in zip(before, detailBefore) {
                let inner = Box(
                    x1: face.box.x1 + face.box.width / 4, y1: face.box.y1 + face.box.height / 4,
                    x2: face.box.x2 - face.box.width / 4, y2: face.box.y2 - face.box.height / 4)
                if mode == .pixelate {
                    // A mosaic's block edges are sharp by design: count what is left instead — a few flat tiles.
                    #expect(Self.distinctLuma(frame, inner) <= 16, "face at \(face.box) keeps detail")
                } else {
                    let innerBefore = Self.detail(try VisionFixture.image("faces/city.jpg"), inner)
                    #expect(Self.detail(frame, inner) <= max(2, innerBefore / 20), "face at \(face.box) keeps detail")
                }
                _ = original
            }
            // The detector, run again, finds no confident face where a face was: at most a head-shaped blur.
            let after = try FaceDetector(modelPath: VisionFixture.faceModel, threshold: 0.6).detect(in: frame)
            let survivors = after.filter { face in before.contains { $0.box.intersectionOverUnion(face.box) > 0.3 } }
            #expect(survivors.isEmpty, "confidently detectable after redaction: \(survivors.map(\.score))")
        }
    }

    @Test("every mode and shape changes the covered pixels and nothing else", arguments: RedactionMode.allCases)
    func modes(_ mode: RedactionMode) async throws {
        try await HeavyTest.run {
            let original = try VisionFixture.image("faces/messi5.jpg")
            let frame = try VisionFixture.image("faces/messi5.jpg")
            let box = Box(x1: 200, y1: 60, x2: 300, y2: 180)
            Redactor(spec: RedactionSpec(classes: [.faces], mode: mode, shape: .box, margin: 0)).apply(
                to: frame, boxes: [(.faces, box)])
            var changedInside = 0, changedOutside = 0
            original.withPlanes { a in
                frame.withPlanes { b in
                    for row in 0..<a.height {
                        for column in 0..<a.width where a.y[row * a.yStride + column] != b.y[row * b.yStride + column] {
                            if box.contains(
                                Box(x1: Double(column), y1: Double(row), x2: Double(column), y2: Double(row)),
                                tolerance: 2)
                            {
                                changedInside += 1
                            } else {
                                changedOutside += 1
                            }
                        }
                    }
                }
            }
            #expect(changedOutside == 0)
            #expect(changedInside > Int(box.area) / 2)
        }
    }
}
