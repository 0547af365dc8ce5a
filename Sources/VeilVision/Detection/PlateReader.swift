internal import CVeilVision
import Foundation
public import VeilCore

/// Reads a licence plate's text with PP-OCRv4's text recogniser — from the same registry package as the plate detector
/// (rapidocr-onnxruntime, Apache-2.0), converted for OpenCV 4.6 by scripts/models/convert_ppocr_rec.py — for watchlist
/// matching. The text is personal data: a ``PlateReading`` lives in memory only, is never logged (its description does
/// not show it) and is meant to be hashed and dropped at once.
///
/// `@unchecked Sendable`: the network is used by one caller at a time (calls are serialised by a lock).
public final class PlateReader: @unchecked Sendable {
    private let reader: OpaquePointer
    /// The model's characters: index 1 is the first line of the keys file; one past the last is a space.
    private let characters: [String]
    private let lock = NSLock()

    public init(modelPath: String, charactersPath: String) throws {
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw VisionError(
                .modelMissing, "\(modelPath) is missing: scripts/fetch-models.sh fetches the plate text recogniser")
        }
        guard let keys = FileManager.default.contents(atPath: charactersPath) else {
            throw VisionError(
                .modelMissing,
                "\(charactersPath) is missing: scripts/fetch-models.sh writes the recogniser's characters")
        }
        var error = [CChar](repeating: 0, count: 256)
        guard let handle = veil_text_reader_open(modelPath, &error, error.count) else {
            throw VisionError(.modelInvalid, "\(modelPath): \(openError(error))")
        }
        reader = handle
        var lines = String(decoding: keys, as: UTF8.self).components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        characters = lines + [" "]
    }

    deinit { veil_text_reader_close(reader) }

    /// The plate in `box` (frame pixels; the plate detector's box with its margin), read and normalised
    /// (``PlateText/normalised(_:)``); nil when nothing legible is there.
    public func read(_ image: any YUVImage, box: Box) throws -> PlateReading? {
        var indices = [Int32](repeating: 0, count: 64)
        var probabilities = [Float](repeating: 0, count: 64)
        var error = [CChar](repeating: 0, count: 256)
        let count: Int32 = lock.withLock {
            withImage(image) { native in
                veil_text_reader_read(
                    reader, native,
                    veil_box(x1: Float(box.x1), y1: Float(box.y1), x2: Float(box.x2), y2: Float(box.y2), score: 1),
                    &indices, &probabilities, Int32(indices.count), &error, error.count)
            }
        }
        guard count >= 0 else {
            throw VisionError(.detectionFailed, "plate reading failed: \(openError(error))")
        }
        var raw = ""
        var least: Float = 1
        for (index, probability) in zip(indices.prefix(Int(count)), probabilities) {
            let position = Int(index) - 1
            guard position >= 0, position < characters.count else { continue }
            raw += characters[position]
            least = min(least, probability)
        }
        let text = PlateText.normalised(raw)
        guard text.count >= 2 else { return nil }
        return PlateReading(text: text, confidence: Double(least))
    }
}

/// A plate's text as read: personal data, in memory only. Its description never shows the text.
public struct PlateReading: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Normalised (``PlateText/normalised(_:)``).
    public let text: String
    /// The least certain character's probability.
    public let confidence: Double

    public var description: String { "plate reading (\(text.count) characters, confidence \(confidence))" }
    public var debugDescription: String { description }
}
