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

    /// The share of a plate's inner region (the central 80 %, where the characters are) that the boxes cover.
    static func coverage(of plate: Box, by boxes: [Box]) -> Double {
        let inner = Box(x1: plate.x1 + plate.width * 0.1, y1: plate.y1 + plate.height * 0.1,
                        x2: plate.x2 - plate.width * 0.1, y2: plate.y2 - plate.height * 0.1)
        var covered = 0, total = 0
        for y in stride(from: inner.y1, to: inner.y2, by: 1) {
            for x in stride(from: inner.x1, to: inner.x2, by: 1) {
                total += 1
                if boxes.contains(where: { $0.contains(Box(x1: x, y1: y, x2: x, y2: y)) }) { covered += 1 }
            }
        }
        return total > 0 ? Double(covered) / Double(total) : 0
    }

    /// The goal is 95 % of plates covered; the Haar cascade reaches about 90 % on this set. This test
    /// guards against regressions and prints the measured figure; a text detector (PP-OCR) is the planned way
    /// to reach the goal.
    @Test("EU plates: share of ground-truth plates whose characters are covered")
    func euPlates() throws {
        let detector = try PlateDetector()
        let truth = try Self.groundTruth()
        #expect(truth.count >= 50)
        var covered = 0
        for (image, plate) in truth {
            let frame = try VisionFixture.image(image)
            let margin = 0.15
            let boxes = try detector.detect(in: frame).map { $0.box.expanded(by: margin) }
            if Self.coverage(of: plate, by: boxes) >= 0.9 { covered += 1 }
        }
        let share = Double(covered) / Double(truth.count)
        print("EU plates covered: \(covered) of \(truth.count) (\(Int(share * 100)) %)")
        #expect(share >= 0.85)
    }
}
