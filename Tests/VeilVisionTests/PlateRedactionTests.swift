import Foundation
import Testing
import VeilCore
import VeilMedia
@testable import VeilVision

@Suite("Plate redaction on real media")
struct PlateRedactionTests {
    /// Ground truth of the EU set: `name x y w h PLATE` per line (the plate text is never printed).
    static func groundTruth() throws -> [(image: String, box: Box)] {
        let folder = VisionFixture.data.appendingPathComponent("plates/eu")
        var result: [(String, Box)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() where name.hasSuffix(".txt") {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard fields.count >= 5, let x = Double(fields[1]), let y = Double(fields[2]), let w = Double(fields[3]),
                    let h = Double(fields[4])
                else { continue }
                result.append(("plates/eu/" + name.dropLast(4) + ".jpg", Box(x1: x, y1: y, x2: x + w, y2: y + h)))
            }
        }
        return result
    }

    /// The share of a plate's region that the boxes cover: the central 80 % (the characters) by default, the whole box with `inner: 0`.
    static func coverage(of plate: Box, by boxes: [Box], inner fraction: Double = 0.1) -> Double {
        let inner = Box(x1: plate.x1 + plate.width * fraction, y1: plate.y1 + plate.height * fraction,
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
    static func measure(_ detector: PlateDetector, extraMargin: Double = 0) throws -> (covered: Int, total: Int, missed: [String]) {
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
    func euPlatesTextDetector() throws {
        let result = try Self.measure(try VisionModels(directory: VisionFixture.models).plates())
        print("EU plates covered (PP-OCRv4, whole plate box): \(result.covered) of \(result.total); missed: \(result.missed)")
        #expect(result.total >= 50)
        #expect(Double(result.covered) / Double(result.total) >= 0.98)
    }

    /// The Haar cascade is the fallback when the text model is missing: it must stay usable.
    @Test("EU plates: the Haar fallback still covers most plates' characters")
    func euPlatesCascade() throws {
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
