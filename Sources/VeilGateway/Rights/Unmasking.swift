import Foundation
import VeilCore
public import VeilMedia
public import VeilVault
import VeilVision

/// Renders what an approved unmask request opened (``Vault/unmask(request:approvals:by:at:)``): the camera's redacted
/// recording in the request's range, with the original pixels of its covered areas drawn back from the unmask layer,
/// and the request's id burned into every frame — a clip that says where it came from wherever it ends up.
public enum Unmasking {
    public struct Result: Sendable {
        public var frames = 0
        /// Frames in which some original pixels were drawn back.
        public var framesUnmasked = 0
        public var crops = 0
        public var segments = 0
    }

    /// Writes the unmasked clip to `path` (MP4, H.264). Throws when the range holds no redacted recording.
    public static func render(
        vault: Vault, request: UnmaskRequest, opened: [UnmaskedTrack], to path: String,
        settings: EncoderSettings = EncoderSettings(preset: "veryfast", crf: 20)
    ) async throws -> Result {
        try await onOwnThread("unmask") {
            try await rendered(vault: vault, request: request, opened: opened, to: path, settings: settings)
        }
    }

    private static func rendered(
        vault: Vault, request: UnmaskRequest, opened: [UnmaskedTrack], to path: String, settings: EncoderSettings
    ) async throws -> Result {
        let formatter = ISO8601DateFormatter()
        guard let from = formatter.date(from: request.from), let to = formatter.date(from: request.to) else {
            throw GatewayError(.invalidConfiguration, "request \(request.id): its range cannot be read")
        }
        let segments = try await vault.segments(camera: .init(request.camera), from: from, to: to)
            .filter { $0.descriptor.category == .redactedVideo }
            .sorted { $0.descriptor.start < $1.descriptor.start }
        guard !segments.isEmpty else {
            throw GatewayError(
                .invalidConfiguration, "no redacted recording of \(request.camera) in the request's range")
        }
        // Every opened track's crops, with the canvas each was drawn on.
        var crops: [(crop: UnmaskLayer.Crop, canvas: VideoFrame)] = []
        for track in opened {
            let source = try MediaSource(bytes: track.pixels, name: "unmask layer track \(track.track.track)")
            var index = 0
            while let canvas = try source.nextFrame(), index < track.track.crops.count {
                crops.append((track.track.crops[index], canvas))
                index += 1
            }
        }
        crops.sort { $0.crop.time < $1.crop.time }
        let watermark = Watermark("UNMASKED " + request.id)
        var writer: MP4Writer?
        var result = Result()
        // The clip's own clock, from the first frame on: stored files each keep their stream's times.
        var clipStart: Double?
        var lastClipTime = -1.0
        for segment in segments {
            let source = try MediaSource(bytes: try await vault.read(segment.id), name: "segment \(segment.id)")
            let tolerance = 0.5 / (source.frameRate > 0 ? source.frameRate : 25)
            if writer == nil {
                writer = try MP4Writer(
                    path: path, width: source.width & ~1, height: source.height & ~1,
                    frameRate: source.frameRate > 0 ? source.frameRate : 25, settings: settings)
            }
            var firstTime: Double?
            while let frame = try source.nextFrame() {
                firstTime = firstTime ?? frame.time
                let date =
                    segment.descriptor.start.addingTimeInterval(frame.time - (firstTime ?? frame.time))
                    .timeIntervalSince1970
                clipStart = clipStart ?? date
                frame.time = max(date - (clipStart ?? date), lastClipTime + tolerance)
                lastClipTime = frame.time
                var drawn = 0
                for (crop, canvas) in crops where abs(crop.time - date) <= tolerance {
                    let region = PictureRegion(
                        copying: .init(x1: 0, y1: 0, x2: Double(crop.width), y2: Double(crop.height)), of: canvas)
                    region.paste(into: frame, x: crop.x, y: crop.y)
                    drawn += 1
                }
                watermark.draw(on: frame, x: 8, y: 8)
                let size = watermark.size
                watermark.draw(on: frame, x: frame.width - size.width - 8, y: frame.height - size.height - 8)
                try writer?.write(frame)
                result.frames += 1
                result.crops += drawn
                if drawn > 0 { result.framesUnmasked += 1 }
            }
            result.segments += 1
        }
        try writer?.finish()
        return result
    }
}
