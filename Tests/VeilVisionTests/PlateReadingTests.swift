import Foundation
import Testing
import VeilCore
import VeilMedia
import VeilTestSupport

@testable import VeilVision

/// Reading plates for watchlist matching, on the real EU set, through the real path: the plate detector's boxes, the
/// recogniser, then the candidates a watchlist compares. The counterweight of the plates found is the plates wrongly
/// matched: every reading is compared with every other plate of the set too. No plate text is printed.
@Suite("Plate reading for watchlists on real photos")
struct PlateReadingTests {
    /// `name x y w h PLATE` per line of the set's ground truth.
    static func plates() throws -> [(image: String, box: Box, text: String)] {
        let folder = VisionFixture.data.appendingPathComponent("plates/eu")
        var result: [(String, Box, String)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        where name.hasSuffix(".txt") {
            for line in try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
                .split(separator: "\n")
            {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard fields.count >= 6, let x = Double(fields[1]), let y = Double(fields[2]),
                    let w = Double(fields[3]), let h = Double(fields[4])
                else { continue }
                result.append(
                    (
                        "plates/eu/" + name.dropLast(4) + ".jpg", Box(x1: x, y1: y, x2: x + w, y2: y + h),
                        PlateText.normalised(String(fields[5]))
                    ))
            }
        }
        return result
    }

    @Test("EU plates read from the detector's boxes match their own entry, and no other plate of the set")
    func readsDetectedPlates() async throws {
        try await HeavyTest.run {
            let models = VisionModels(directory: VisionFixture.models)
            let detector = try models.plates()
            let reader = try models.plateReader()
            let truth = try Self.plates()
            let lengths = Set(truth.map(\.text.count))
            var matched = 0, exact = 0, wrong = 0
            for plate in truth {
                let frame = try VisionFixture.image(plate.image)
                // Every plate-shaped box the detector finds on the photo is read, as the camera pipeline reads every
                // plate track: a match on any of them counts, a match with another plate of the set is wrong.
                var candidates = Set<String>()
                var runs = Set<String>()
                for detection in try detector.detect(in: frame) {
                    guard let reading = try reader.read(frame, box: detection.box) else { continue }
                    #expect(!reading.description.contains(reading.text), "a reading's description never shows the text")
                    candidates.formUnion(PlateText.candidates(of: reading.text, lengths: lengths))
                    runs.formUnion(
                        PlateText.candidates(of: reading.text, lengths: lengths).filter(reading.text.contains))
                }
                if candidates.contains(plate.text) { matched += 1 }
                if runs.contains(plate.text) { exact += 1 }
                wrong += truth.filter { $0.text != plate.text && candidates.contains($0.text) }.count
            }
            print(
                "EU plates matched from detected boxes: \(matched) of \(truth.count) (\(exact) read exactly); matches with another plate of the set: \(wrong)"
            )
            #expect(truth.count >= 50)
            #expect(Double(matched) / Double(truth.count) >= 0.9)
            #expect(wrong == 0)
        }
    }

    @Test("A plate-less picture reads as nothing a watchlist could match")
    func readsNothingFromAFace() async throws {
        try await HeavyTest.run {
            let reader = try VisionModels(directory: VisionFixture.models).plateReader()
            let frame = try VisionFixture.image("faces/messi5.jpg")
            let reading = try reader.read(frame, box: Box(x1: 200, y1: 40, x2: 320, y2: 80))
            #expect((reading?.text.count ?? 0) < 5, "\(String(describing: reading))")
        }
    }
}
