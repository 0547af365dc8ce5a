public import Foundation
internal import CFFmpeg

/// One continuous H.264 encode muxed as fragmented MP4 in memory and cut into segments on demand: the
/// initialisation segment (`ftyp` + `moov`) once, then one media segment (`moof` + `mdat`) per ``cut()``, each
/// starting with a keyframe. What HLS with fMP4 segments serves (RFC 8216, `EXT-X-MAP`).
///
/// One encoder for the whole stream, so rate control carries across segments and no segment pays for a new
/// encoder; libx264's `zerolatency` tuning makes every frame's packet come out at once, so a cut holds exactly
/// the frames written before it. `@unchecked Sendable`: one task owns a stream.
public final class FragmentedMP4Stream: @unchecked Sendable {
    public let width: Int
    public let height: Int
    /// `ftyp` and `moov`: what a player needs before any media segment.
    public private(set) var initSegment = Data()
    public private(set) var framesWritten = 0

    private final class Sink {
        var bytes = Data()
    }

    private let sink = Sink()
    private var output: UnsafeMutablePointer<AVFormatContext>?
    private var io: UnsafeMutablePointer<AVIOContext>?
    private var encoder: UnsafeMutablePointer<AVCodecContext>?
    private var stream: UnsafeMutablePointer<AVStream>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var lastPTS: Int64 = -1
    private var keyframeNext = true
    private static let clock = AVRational(num: 1, den: 90_000)

    public init(width: Int, height: Int, frameRate: Double, settings: EncoderSettings = EncoderSettings()) throws {
        veil_silence_ffmpeg_logs()
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0 else {
            throw MediaError(.invalidArgument, "H.264 needs even, positive dimensions (got \(width)×\(height))")
        }
        self.width = width
        self.height = height
        guard let codec = avcodec_find_encoder_by_name("libx264") else {
            throw MediaError(.unsupportedCodec, "libavcodec was built without libx264")
        }
        var context: UnsafeMutablePointer<AVFormatContext>?
        var status = avformat_alloc_output_context2(&context, nil, "mp4", nil)
        guard status >= 0, let context else { throw MediaError(.writeFailed, "cannot create an MP4 muxer", ffmpeg: status) }
        output = context
        let bufferSize = 64 << 10
        guard let buffer = av_malloc(bufferSize)?.assumingMemoryBound(to: UInt8.self),
              let io = avio_alloc_context(buffer, Int32(bufferSize), 1, Unmanaged.passUnretained(sink).toOpaque(), nil,
                                          { opaque, bytes, count in
                                              guard let opaque, let bytes, count > 0 else { return 0 }
                                              Unmanaged<Sink>.fromOpaque(opaque).takeUnretainedValue().bytes.append(bytes, count: Int(count))
                                              return count
                                          }, nil)
        else { throw MediaError(.writeFailed, "cannot allocate the output buffer") }
        self.io = io
        context.pointee.pb = io
        context.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
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
        // Keyframes are forced where segments start; this only bounds a very long segment.
        encoder.pointee.gop_size = Int32(max(1, (rate * max(settings.keyframeInterval, 1) * 2).rounded()))
        encoder.pointee.max_b_frames = 0
        encoder.pointee.thread_count = 1
        encoder.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER)
        av_opt_set(encoder.pointee.priv_data, "preset", settings.preset, 0)
        av_opt_set(encoder.pointee.priv_data, "tune", "zerolatency", 0)
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
        var options: OpaquePointer?
        defer { av_dict_free(&options) }
        // frag_custom: a fragment ends only when cut() says so; empty_moov: the init segment has no samples.
        av_dict_set(&options, "movflags", "frag_custom+empty_moov+default_base_moof", 0)
        status = avformat_write_header(context, &options)
        guard status >= 0 else { throw MediaError(.writeFailed, "cannot write the MP4 header", ffmpeg: status) }
        avio_flush(io)
        initSegment = sink.bytes
        sink.bytes = Data()
        packet = av_packet_alloc()
    }

    deinit {
        av_packet_free(&packet)
        avcodec_free_context(&encoder)
        if let output { avformat_free_context(output) }
        if io != nil {
            av_freep(&io!.pointee.buffer)
            avio_context_free(&io)
        }
    }

    /// Encodes a frame at its own time. The first frame after a ``cut()`` (and the very first) is a keyframe.
    public func write(_ frame: VideoFrame) throws {
        guard let encoder else { throw MediaError(.writeFailed, "the stream is closed") }
        guard frame.width == width, frame.height == height else {
            throw MediaError(.invalidArgument, "frame is \(frame.width)×\(frame.height), the stream \(width)×\(height)")
        }
        var pts = Int64((frame.time * 90_000).rounded())
        if pts <= lastPTS { pts = lastPTS + 1 }
        lastPTS = pts
        frame.frame.pointee.pts = pts
        frame.frame.pointee.pict_type = keyframeNext ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE
        keyframeNext = false
        let status = avcodec_send_frame(encoder, frame.frame)
        frame.frame.pointee.pict_type = AV_PICTURE_TYPE_NONE
        guard status >= 0 else { throw MediaError(.encodeFailed, "libx264 refused a frame", ffmpeg: status) }
        framesWritten += 1
        try drain()
    }

    /// Ends the current fragment: the media segment of everything written since the last cut (nil when nothing
    /// was). The next frame written starts the next segment with a keyframe.
    public func cut() throws -> Data? {
        guard let output, let io else { return nil }
        keyframeNext = true
        let status = av_write_frame(output, nil)  // with frag_custom: flush the fragment
        guard status >= 0 else { throw MediaError(.writeFailed, "cannot end a fragment", ffmpeg: status) }
        avio_flush(io)
        defer { sink.bytes = Data() }
        return sink.bytes.isEmpty ? nil : sink.bytes
    }

    private func drain() throws {
        guard let encoder, let output, let packet, let stream else { return }
        while true {
            let status = avcodec_receive_packet(encoder, packet)
            if status == veil_averror_eagain() || status == veil_averror_eof() { return }
            guard status >= 0 else { throw MediaError(.encodeFailed, "libx264 failed", ffmpeg: status) }
            packet.pointee.stream_index = stream.pointee.index
            av_packet_rescale_ts(packet, encoder.pointee.time_base, stream.pointee.time_base)
            let written = av_write_frame(output, packet)
            av_packet_unref(packet)
            guard written >= 0 else { throw MediaError(.writeFailed, "cannot mux a packet", ffmpeg: written) }
        }
    }
}
