import Foundation
import Testing
import VeilCore
import VeilMedia
import VeilTestSupport

@testable import VeilVision

enum VisionFixture {
    static let repository = TestPaths.repository
    static let data = TestPaths.sharedData
    static let models = TestPaths.models
    static let faceModel = models + "/centerface.onnx"

    /// Decodes a still image (JPEG/PNG) with FFmpeg.
    static func image(_ relative: String) throws -> VideoFrame {
        let source = try MediaSource(address: data.appendingPathComponent(relative).path)
        return try #require(try source.nextFrame())
    }

    static func faces() throws -> FaceDetector { try FaceDetector(modelPath: faceModel) }
}
