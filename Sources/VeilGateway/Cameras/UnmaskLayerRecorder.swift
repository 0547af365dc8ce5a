public import Foundation
public import VeilCore
public import VeilMedia
public import VeilVault
public import VeilVision

/// The unmask layer of a camera that keeps one instead of raw video (`produces: [unmask-layer]`): for each frame of
/// the redacted recording, the original pixels of every area its redaction covers, taken before it is painted; for each
/// redacted recording file, one layer file of the same time — each track's pixels a small video of their own, sealed to
/// the policy's two approvers (``TwoPersonSealed``). What the layer costs beside the redacted video is measured by
/// `UnmaskTests` (a fraction of keeping raw video).
public struct UnmaskLayerRecorder: Sendable {
    let camera: CameraID
    /// The redacted recording's: what it covers is what the layer keeps.
    let redaction: RedactionSpec
    let approvers: [UnmaskApprover]

    private struct Capture {
        /// Stream time of the frame.
        var time: Double
        var region: PictureRegion
    }

    private var captures: [Int: (kind: RedactionClass, crops: [Capture])] = [:]
    /// The layer's constant rate factor: the recordings' own (an unmasked face is as sharp as the raw video's).
    static let quality = 23
    private var frameRate = 25.0
    private var lastTime: Double?
    private var size = (width: 0, height: 0)

    public init(camera: CameraID, redaction: RedactionSpec, approvers: [UnmaskApprover]) {
        self.camera = camera
        self.redaction = redaction
        self.approvers = approvers
    }

    /// Keeps the original pixels of what the redaction covers in this frame (called before the frame is painted).
    public mutating func capture(_ covered: [RedactionTracker.Covered], from frame: VideoFrame) {
        if let lastTime, frame.time > lastTime { frameRate = min(120, max(1, 1 / (frame.time - lastTime))) }
        lastTime = frame.time
        size = (frame.width, frame.height)
        let boxes = covered.filter { redaction.classes.contains($0.kind) }.map {
            (item: $0, box: $0.box.expanded(by: redaction.margin))
        }
        for (index, (item, box)) in boxes.enumerated() {
            // An area inside another one covered in the same frame (a face inside its person's head region) is kept
            // with that one: its pixels are there already.
            let inside = boxes.enumerated().contains { other, entry in
                other != index && entry.box.area > box.area && box.fraction(inside: entry.box) >= 0.9
            }
            guard !inside else { continue }
            let region = PictureRegion(copying: box, of: frame)
            guard region.width > 0, region.height > 0 else { continue }
            captures[item.track, default: (item.kind, [])].crops.append(Capture(time: frame.time, region: region))
        }
    }

    /// The layer file of what was captured before `end` (stream time), to be stored beside the redacted recording file
    /// from `start` to `end`; nil when nothing was covered. `origin`: the wall-clock time of stream time 0.
    mutating func take(start: Double, end: Double, origin: Date) throws -> PendingRecording? {
        try layer(start: start, end: end, origin: origin).map {
            PendingRecording(bytes: Data($0), category: .unmaskLayer, redaction: redaction, start: start, end: end)
        }
    }

    /// The stored bytes of the layer of what was captured before `end` (``take(start:end:origin:)``).
    public mutating func layer(start: Double, end: Double, origin: Date) throws -> [UInt8]? {
        var tracks: [UnmaskLayer.Track] = []
        let begins = origin.addingTimeInterval(start)
        for (track, captured) in captures.sorted(by: { $0.key < $1.key }) {
            let due = captured.crops.filter { $0.time < end }
            let later = captured.crops.filter { $0.time >= end }
            if later.isEmpty { captures[track] = nil } else { captures[track]?.crops = later }
            guard !due.isEmpty else { continue }
            // Each crop at the top left of a canvas as large as the largest, encoded as a small video.
            let width = max(16, ((due.map(\.region.width).max() ?? 0) + 1) & ~1)
            let height = max(16, ((due.map(\.region.height).max() ?? 0) + 1) & ~1)
            let stream = try FragmentedMP4Stream(
                width: width, height: height, frameRate: frameRate,
                settings: EncoderSettings(preset: "veryfast", crf: Self.quality))
            for (index, capture) in due.enumerated() {
                let canvas = try VideoFrame(
                    width: width, height: height, time: Double(index) / frameRate, index: index)
                capture.region.paste(into: canvas, x: 0, y: 0)
                try stream.write(canvas)
            }
            let pixels = try stream.finishedFile()
            let sealed = try TwoPersonSealed.seal(
                pixels, for: approvers, binding: Vault.unmaskBinding(camera: camera, start: begins, track: track))
            tracks.append(
                UnmaskLayer.Track(
                    track: track, kind: captured.kind.rawValue, canvasWidth: width, canvasHeight: height,
                    crops: due.map {
                        UnmaskLayer.Crop(
                            time: origin.addingTimeInterval($0.time).timeIntervalSince1970, x: $0.region.x1,
                            y: $0.region.y1, width: $0.region.width, height: $0.region.height)
                    }, sealed: sealed))
        }
        guard !tracks.isEmpty else { return nil }
        return try UnmaskLayer(width: size.width, height: size.height, tracks: tracks).encoded()
    }
}
