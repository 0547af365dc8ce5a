import Foundation
import Testing
import VeilCore
import VeilMedia

@testable import VeilVision

enum VisionFixture {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let data = repository.deletingLastPathComponent().appendingPathComponent("shared/data")
    static let models =
        ProcessInfo.processInfo.environment["VEILGATE_MODELS"]
        ?? repository.appendingPathComponent(".cache/models").path
    static let faceModel = models + "/centerface.onnx"

    /// Decodes a still image (JPEG/PNG) with FFmpeg.
    static func image(_ relative: String) throws -> VideoFrame {
        let source = try MediaSource(address: data.appendingPathComponent(relative).path)
        return try #require(try source.nextFrame())
    }

    static func faces() throws -> FaceDetector { try FaceDetector(modelPath: faceModel) }
}
