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
        try await DedicatedThreadExecutor.run(named: "unmask") {
            try await rendered(vault: vault, request: request, opened: opened, to: path, settings: settings)
        }
    }

    private static func rendered(
        vault: Vault, request: UnmaskRequest, opened: [UnmaskedTrack], to path: String, settings: EncoderSettings
    ) async throws -> Result {
        guard let from = Timestamp.parse(request.from), let to = Timestamp.parse(request.to) else {
            throw GatewayError(.invalidConfiguration, "request \(request.id): its range cannot be read")
        }
        let segments = try await vault.segments(camera: .init(request.camera), from: from, to: to)
            .filter { $0.descriptor.category == .redactedVideo }
            .sorted { $0.descriptor.start < $1.descriptor.start }
        guard !segments.isEmpty else {
            throw GatewayError(
                .invalidConfiguration, "no redacted recording of \(request.camera) in the request's range")
        }
        let originals = OriginalPixels(opened)
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
                // Only the range the approvers agreed to, not the whole of the segments around its ends.
                guard date >= from.timeIntervalSince1970 - tolerance, date <= to.timeIntervalSince1970 + tolerance
                else { continue }
                clipStart = clipStart ?? date
                frame.time = max(date - (clipStart ?? date), lastClipTime + tolerance)
                lastClipTime = frame.time
                let drawn = try originals.restore(into: frame, at: date, tolerance: tolerance)
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

/// The original pixels an approved unmask request opened, drawn back into the redacted recording frame by frame, in
/// time order: each track's small video is decoded as its crops come due, so that a long range never holds more than
/// one canvas per track in memory.
public final class OriginalPixels: @unchecked Sendable {
    // @unchecked Sendable: one pass over the footage owns it, and calls it from one task at a time, in time order.
    private struct Cursor {
        let crops: [UnmaskLayer.Crop]
        let pixels: [UInt8]
        let name: String
        var source: MediaSource?
        var next = 0
    }

    private var cursors: [Cursor]

    public init(_ opened: [UnmaskedTrack]) {
        cursors = opened.map {
            Cursor(crops: $0.track.crops, pixels: $0.pixels, name: "unmask layer track \($0.track.track)")
        }
    }

    /// Pastes every crop of `date` (wall-clock seconds since 1970, ± `tolerance`) into `frame`; returns how many. Dates
    /// must not go back between calls.
    public func restore(into frame: VideoFrame, at date: Double, tolerance: Double) throws -> Int {
        var drawn = 0
        for index in cursors.indices {
            guard cursors[index].next < cursors[index].crops.count,
                cursors[index].crops[cursors[index].next].time <= date + tolerance
            else { continue }
            if cursors[index].source == nil {
                cursors[index].source = try MediaSource(bytes: cursors[index].pixels, name: cursors[index].name)
            }
            // Crops of frames that were not drawn (before the range, or skipped) are decoded past.
            while cursors[index].next < cursors[index].crops.count,
                cursors[index].crops[cursors[index].next].time <= date + tolerance
            {
                let crop = cursors[index].crops[cursors[index].next]
                cursors[index].next += 1
                guard let canvas = try cursors[index].source?.nextFrame() else { break }
                guard abs(crop.time - date) <= tolerance else { continue }
                PictureRegion(
                    copying: .init(x1: 0, y1: 0, x2: Double(crop.width), y2: Double(crop.height)), of: canvas
                ).paste(into: frame, x: crop.x, y: crop.y)
                drawn += 1
            }
            if cursors[index].next >= cursors[index].crops.count { cursors[index].source = nil }
        }
        return drawn
    }
}
