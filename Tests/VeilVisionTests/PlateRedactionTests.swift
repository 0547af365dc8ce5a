import Foundation
import Testing
import VeilCore
import VeilMedia
import VeilTestSupport

@testable import VeilVision

@Suite("Plate redaction on real media")
struct PlateRedactionTests {
    /// Ground truth of the EU set: `name x y w h PLATE` per line (the plate text is never printed).
    static func groundTruth() throws -> [(image: String, box: Box)] {
        let folder = VisionFixture.data.appendingPathComponent("plates/eu")
        var result: [(String, Box)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        where name.hasSuffix(".txt") {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard fields.count >= 5, let x = Double(fields[1]), let y = Double(fields[2]),
                    let w = Double(fields[3]),
                    let h = Double(fields[4])
                else { continue }
                result.append(("plates/eu/" + name.dropLast(4) + ".jpg", Box(x1: x, y1: y, x2: x + w, y2: y + h)))
            }
        }
        return result
    }

    /// The share of a plate's region that the boxes cover: the central 80 % (the characters) by default, the whole box
    /// with `inner: 0`.
    static func coverage(of plate: Box, by boxes: [Box], inner fraction: Double = 0.1) -> Double {
        let inner = Box(
            x1: plate.x1 + plate.width * fraction, y1: plate.y1 + plate.height * fraction,
            x2: plate.x2 - plate.width * fraction, y2: plate.y2 - plate.height * fraction)
        var covered = 0, total = 0
        for y in stride(from: inner.y1, to: inner.y2, by: 1) {
            for x in stride(from: inner.x1, to: inner.x2, by: 1) {
                total += 1
                if boxes.contains(where: { $0.contains(Box(x1: x, y1: y, x2: x, y2: y)) }) { covered += 1 }
            }
        }
        return total > 0 ? Double(covered) / Double(total) : 0
    }

    /// Share of ground-truth plates (whole box: characters, frame and country band) at least 90 % covered.
    static func measure(
        _ detector: PlateDetector, extraMargin: Double = 0
    ) throws -> (covered: Int, total: Int, missed: [String]) {
        let truth = try groundTruth()
        var covered = 0
        var missed: [String] = []
        for (image, plate) in truth {
            let frame = try VisionFixture.image(image)
            let boxes = try detector.detect(in: frame).map { $0.box.expanded(by: extraMargin) }
            if coverage(of: plate, by: boxes, inner: 0) >= 0.9 { covered += 1 } else { missed.append(image) }
        }
        return (covered, truth.count, missed)
    }

    @Test("EU plates: at least 98 % of ground-truth plate boxes covered by the text detector (PP-OCRv4)")
    func euPlatesTextDetector() async throws {
        try await HeavyTest.run {
            let result = try Self.measure(try VisionModels(directory: VisionFixture.models).plates())
            print(
                "EU plates covered (PP-OCRv4, whole plate box): \(result.covered) of \(result.total); missed: \(result.missed)"
            )
            #expect(result.total >= 50)
            #expect(Double(result.covered) / Double(result.total) >= 0.98)
        }
    }

    /// The Haar cascade is the fallback when the text model is missing: it must stay usable.
    @Test("EU plates: the Haar fallback still covers most plates' characters")
    func euPlatesCascade() async throws {
        try await HeavyTest.run {
            let detector = try PlateDetector()
            let truth = try Self.groundTruth()
            var covered = 0
            for (image, plate) in truth {
                let boxes = try detector.detect(in: try VisionFixture.image(image)).map { $0.box.expanded(by: 0.15) }
                if Self.coverage(of: plate, by: boxes) >= 0.9 { covered += 1 }
            }
            print("EU plates covered (Haar, characters): \(covered) of \(truth.count)")
            #expect(Double(covered) / Double(truth.count) >= 0.85)
        }
    }

    /// A 1280×720 frame with `car` pasted at (`x`, `y`) on grey (even offsets, so chroma lines up).
    static func frame(with car: VideoFrame, x: Int, y: Int, time: Double, index: Int) throws -> VideoFrame {
        let frame = try VideoFrame(width: 1280, height: 720, time: time, index: index)
        frame.withWritablePlanes { target in
            car.withPlanes { source in
                for row in 0..<target.height {
                    memset(target.y + row * target.yStride, 110, target.width)
                }
                for row in 0..<target.height / 2 {
                    memset(target.u + row * target.uStride, 128, target.width / 2)
                    memset(target.v + row * target.vStride, 128, target.width / 2)
                }
                let width = min(source.width, target.width - x) & ~1,
                    height = min(source.height, target.height - y) & ~1
                for row in 0..<height {
                    memcpy(target.y + (y + row) * target.yStride + x, source.y + row * source.yStride, width)
                }
                for row in 0..<height / 2 {
                    memcpy(
                        target.u + (y / 2 + row) * target.uStride + x / 2, source.u + row * source.uStride, width / 2)
                    memcpy(
                        target.v + (y / 2 + row) * target.vStride + x / 2, source.v + row * source.vStride, width / 2)
                }
            }
        }
        return frame
    }

    /// The counterweight to looking for plates on only every other scheduled pass: a car driving through the picture at
    /// 400 px/s keeps its plate covered on every frame from the first detection (the pipeline looks on every pass while
    /// a plate moves).
    @Test(
        "A plate driving through the picture stays covered on every frame (default profile, detection every 10th frame)"
    )
    func movingPlate() async throws {
        try await HeavyTest.run {
            let vision = VisionModels(directory: VisionFixture.models)
            let spec = RedactionSpec(classes: [.faces, .plates, .screens], mode: .blur, shape: .ellipse, margin: 0.15)
            let detector = try vision.plates()
            // Cars whose plate the detector finds on the still (the still test measures the rest).
            var cars: [(image: String, plate: Box)] = []
            for (image, plate) in try Self.groundTruth() where cars.count < 2 {
                let still = try VisionFixture.image(image)
                guard still.width <= 760, still.height <= 700,
                    Self.coverage(of: plate, by: try detector.detect(in: still).map(\.box), inner: 0) >= 0.9
                else { continue }
                cars.append((image, plate))
            }
            #expect(cars.count == 2)
            for (image, plate) in cars {
                let car = try VisionFixture.image(image)
                let pipeline = RedactionPipeline(
                    spec: spec, detectors: try vision.detectors(for: spec.classes, headsOfPeople: true).detectors,
                    options: .init(detectEvery: 10))
                let y = ((720 - car.height) / 2) & ~1
                var uncovered: [Int] = []
                for index in 0..<50 {
                    let time = Double(index) / 25
                    let x = Int(10 + 400 * time) & ~1
                    let covered = try pipeline.process(try Self.frame(with: car, x: x, y: y, time: time, index: index))
                    let moved = plate.offset(dx: Double(x), dy: Double(y))
                    if Self.coverage(of: moved, by: covered.filter { $0.kind == .plates }.map(\.box)) < 0.9 {
                        uncovered.append(index)
                    }
                }
                print(
                    "moving plate (\(image)): uncovered on \(uncovered.count) of 50 frames \(uncovered.prefix(10)); \(pipeline.passSummary)"
                )
                #expect(uncovered.isEmpty, "the plate of \(image) was visible on frames \(uncovered)")
            }
        }
    }
}
