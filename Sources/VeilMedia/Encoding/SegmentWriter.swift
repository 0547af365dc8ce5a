import Foundation

/// Cuts an encoded stream into short, independently playable fragmented-MP4 segments (2–10 s): what the vault
/// stores and what live sharing serves. Each segment starts with a keyframe and carries its own header.
public final class SegmentWriter: @unchecked Sendable {
    // @unchecked Sendable: one task owns a segment writer.

    /// A finished segment file.
    public struct Segment: Sendable, Hashable {
        public var path: String
        public var start: Double
        public var end: Double
        public var frames: Int
    }

    public let folder: String
    public let segmentDuration: Double
    public let settings: EncoderSettings
    private let width: Int, height: Int, frameRate: Double
    private var current: MP4Writer?
    private var currentStart = 0.0
    private var number = 0
    private let prefix: String

    public init(
        folder: String, prefix: String = "segment", width: Int, height: Int, frameRate: Double,
        segmentDuration: Double = 6, settings: EncoderSettings = EncoderSettings()
    ) throws {
        guard (2...10).contains(segmentDuration) else {
            throw MediaError(.invalidArgument, "segments last 2 to 10 seconds (got \(segmentDuration))")
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        self.folder = folder
        self.prefix = prefix
        self.segmentDuration = segmentDuration
        var settings = settings
        settings.keyframeInterval = min(settings.keyframeInterval, segmentDuration)
        self.settings = settings
        self.width = width
        self.height = height
        self.frameRate = frameRate
    }

    /// Writes a frame; returns the segment it closed, if this frame started a new one.
    public func write(_ frame: VideoFrame) throws -> Segment? {
        var closed: Segment?
        if let current, frame.time - currentStart >= segmentDuration {
            closed = try close(current, end: frame.time)
        }
        if current == nil {
            currentStart = frame.time
            number += 1
            let path = folder + "/" + prefix + String(format: "-%06d.mp4", number)
            current = try MP4Writer(
                path: path, width: width, height: height, frameRate: frameRate, settings: settings,
                fragmented: true)
        }
        try current!.write(frame)
        return closed
    }

    /// Closes the last segment.
    public func finish() throws -> Segment? {
        guard let current else { return nil }
        let end = (current.lastTime ?? currentStart) + (frameRate > 0 ? 1 / frameRate : 0)
        return try close(current, end: end)
    }

    private func close(_ writer: MP4Writer, end: Double) throws -> Segment {
        try writer.finish()
        current = nil
        return Segment(path: writer.path, start: currentStart, end: end, frames: writer.framesWritten)
    }
}
