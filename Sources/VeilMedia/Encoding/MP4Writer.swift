internal import CFFmpeg
import Foundation

/// How video is re-encoded after redaction.
public struct EncoderSettings: Sendable, Hashable {
    /// libx264 preset: `ultrafast` … `veryslow`. `veryfast` keeps one 720p camera well inside one core.
    public var preset: String
    /// Constant rate factor (0–51, lower is better); ignored when ``bitrate`` is set.
    public var crf: Int
    /// Target bitrate in kbit/s, for links with a fixed budget; nil for constant quality.
    public var bitrate: Int?
    /// Seconds between keyframes.
    public var keyframeInterval: Double

    public init(preset: String = "veryfast", crf: Int = 23, bitrate: Int? = nil, keyframeInterval: Double = 2) {
        self.preset = preset
        self.crf = crf
        self.bitrate = bitrate
        self.keyframeInterval = keyframeInterval
    }
}

/// Encodes YUV 4:2:0 frames to H.264 with libavcodec's libx264 and muxes them into an MP4 file — regular, or
/// fragmented (`moov` first, then `moof`/`mdat` fragments) for live sharing and segments.
///
/// `@unchecked Sendable`: one task owns a writer.
public final class MP4Writer: @unchecked Sendable {
    public let path: String
    public var width: Int { encoder.width }
    public var height: Int { encoder.height }
    public var framesWritten: Int { encoder.framesWritten }
    public var firstTime: Double? { encoder.firstTime }
    public var lastTime: Double? { encoder.lastTime }

    private let output: UnsafeMutablePointer<AVFormatContext>
    private var encoder: H264Encoder!
    private var finished = false

    public init(
        path: String, width: Int, height: Int, frameRate: Double, settings: EncoderSettings = EncoderSettings(),
        fragmented: Bool = false
    ) throws {
        veil_silence_ffmpeg_logs()
        self.path = path
        var context: UnsafeMutablePointer<AVFormatContext>?
        var status = avformat_alloc_output_context2(&context, nil, "mp4", path)
        guard status >= 0, let context else {
            throw MediaError(.writeFailed, "cannot create an MP4 muxer", ffmpeg: status)
        }
        output = context
        encoder = try H264Encoder(
            output: context, width: width, height: height, frameRate: frameRate, settings: settings,
            keyframeInterval: settings.keyframeInterval)
        status = avio_open(&context.pointee.pb, path, AVIO_FLAG_WRITE)
        guard status >= 0 else { throw MediaError(.writeFailed, "cannot create \(path)", ffmpeg: status) }
        var options: OpaquePointer?
        defer { av_dict_free(&options) }
        if fragmented { av_dict_set(&options, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0) }
        status = avformat_write_header(context, &options)
        guard status >= 0 else { throw MediaError(.writeFailed, "cannot write the MP4 header", ffmpeg: status) }
    }

    deinit {
        if !finished, encoder != nil { try? finish() }
        encoder = nil
        if output.pointee.pb != nil { avio_closep(&output.pointee.pb) }
        avformat_free_context(output)
    }

    /// Encodes one frame at its own time (timestamps kept from the source, made strictly increasing).
    public func write(_ frame: VideoFrame) throws {
        guard !finished else { throw MediaError(.writeFailed, "the writer is finished") }
        try encoder.encode(frame)
    }

    /// Flushes the encoder and writes the trailer. Idempotent.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        try encoder.flush()
        let status = av_write_trailer(output)
        avio_closep(&output.pointee.pb)
        guard status >= 0 else { throw MediaError(.writeFailed, "cannot finish \(path)", ffmpeg: status) }
    }
}
