import Foundation
internal import CFFmpeg

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
    public let width: Int
    public let height: Int
    public private(set) var framesWritten = 0
    public private(set) var firstTime: Double?
    public private(set) var lastTime: Double?

    private var output: UnsafeMutablePointer<AVFormatContext>?
    private var encoder: UnsafeMutablePointer<AVCodecContext>?
    private var stream: UnsafeMutablePointer<AVStream>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var lastPTS: Int64 = -1
    private var finished = false
    /// 90 kHz, the MPEG clock: fine enough for any frame rate, and timestamps stay integers.
    private static let clock = AVRational(num: 1, den: 90_000)

    public init(path: String, width: Int, height: Int, frameRate: Double, settings: EncoderSettings = EncoderSettings(),
                fragmented: Bool = false) throws
    {
        veil_silence_ffmpeg_logs()
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0 else {
            throw MediaError(.invalidArgument, "H.264 needs even, positive dimensions (got \(width)×\(height))")
        }
        self.path = path
        self.width = width
        self.height = height
        guard let codec = avcodec_find_encoder_by_name("libx264") else {
            throw MediaError(.unsupportedCodec, "libavcodec was built without libx264")
        }
        var context: UnsafeMutablePointer<AVFormatContext>?
        var status = avformat_alloc_output_context2(&context, nil, "mp4", path)
        guard status >= 0, let context else { throw MediaError(.writeFailed, "cannot create an MP4 muxer", ffmpeg: status) }
        output = context
        guard let encoder = avcodec_alloc_context3(codec), let stream = avformat_new_stream(context, nil) else {
            throw MediaError(.encodeFailed, "cannot allocate the encoder")
        }
        self.encoder = encoder
        self.stream = stream
        let rate = frameRate > 0 ? frameRate : 25
        encoder.pointee.width = Int32(width)
        encoder.pointee.height = Int32(height)
        encoder.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        encoder.pointee.time_base = Self.clock
        encoder.pointee.framerate = av_d2q(rate, 1000)
        encoder.pointee.gop_size = Int32(max(1, (rate * settings.keyframeInterval).rounded()))
        encoder.pointee.max_b_frames = 0
        encoder.pointee.thread_count = 1
        if (context.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 {
            encoder.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER)
        }
        av_opt_set(encoder.pointee.priv_data, "preset", settings.preset, 0)
        if let bitrate = settings.bitrate {
            encoder.pointee.bit_rate = Int64(bitrate) * 1000
        } else {
            av_opt_set(encoder.pointee.priv_data, "crf", String(settings.crf), 0)
        }
        status = avcodec_open2(encoder, codec, nil)
        guard status >= 0 else { throw MediaError(.encodeFailed, "cannot open libx264", ffmpeg: status) }
        status = avcodec_parameters_from_context(stream.pointee.codecpar, encoder)
        guard status >= 0 else { throw MediaError(.encodeFailed, "cannot describe the stream", ffmpeg: status) }
        stream.pointee.time_base = Self.clock
        status = avio_open(&context.pointee.pb, path, AVIO_FLAG_WRITE)
        guard status >= 0 else { throw MediaError(.writeFailed, "cannot create \(path)", ffmpeg: status) }
        var options: OpaquePointer?
        defer { av_dict_free(&options) }
        if fragmented { av_dict_set(&options, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0) }
        status = avformat_write_header(context, &options)
        guard status >= 0 else { throw MediaError(.writeFailed, "cannot write the MP4 header", ffmpeg: status) }
        packet = av_packet_alloc()
    }

    deinit {
        if !finished { try? finish() }
        av_packet_free(&packet)
        avcodec_free_context(&encoder)
        if let output {
            if output.pointee.pb != nil { avio_closep(&output.pointee.pb) }
            avformat_free_context(output)
        }
    }

    /// Encodes one frame at its own time (timestamps kept from the source, made strictly increasing).
    public func write(_ frame: VideoFrame) throws {
        guard let encoder, !finished else { throw MediaError(.writeFailed, "the writer is finished") }
        guard frame.width == width, frame.height == height else {
            throw MediaError(.invalidArgument, "frame is \(frame.width)×\(frame.height), the stream \(width)×\(height)")
        }
        var pts = Int64((frame.time * 90_000).rounded())
        if pts <= lastPTS { pts = lastPTS + 1 }
        lastPTS = pts
        frame.frame.pointee.pts = pts
        frame.frame.pointee.pict_type = AV_PICTURE_TYPE_NONE
        let status = avcodec_send_frame(encoder, frame.frame)
        guard status >= 0 else { throw MediaError(.encodeFailed, "libx264 refused a frame", ffmpeg: status) }
        if firstTime == nil { firstTime = frame.time }
        lastTime = frame.time
        framesWritten += 1
        try drain()
    }

    /// Flushes the encoder and writes the trailer. Idempotent.
    public func finish() throws {
        guard !finished, let encoder, let output else { return }
        finished = true
        avcodec_send_frame(encoder, nil)
        try drain()
        let status = av_write_trailer(output)
        avio_closep(&output.pointee.pb)
        guard status >= 0 else { throw MediaError(.writeFailed, "cannot finish \(path)", ffmpeg: status) }
    }

    private func drain() throws {
        guard let encoder, let output, let packet, let stream else { return }
        while true {
            let status = avcodec_receive_packet(encoder, packet)
            if status == veil_averror_eagain() || status == veil_averror_eof() { return }
            guard status >= 0 else { throw MediaError(.encodeFailed, "libx264 failed", ffmpeg: status) }
            packet.pointee.stream_index = stream.pointee.index
            av_packet_rescale_ts(packet, encoder.pointee.time_base, stream.pointee.time_base)
            let written = av_interleaved_write_frame(output, packet)
            guard written >= 0 else { throw MediaError(.writeFailed, "cannot write to \(path)", ffmpeg: written) }
        }
    }
}
