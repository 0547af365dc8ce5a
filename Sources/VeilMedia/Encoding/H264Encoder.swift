internal import CFFmpeg

/// libx264 through libavcodec, feeding one stream of a muxer: what ``MP4Writer`` and ``FragmentedMP4Stream``
/// share. Timestamps are the frames' own, on the 90 kHz MPEG clock, made strictly increasing.
final class H264Encoder {
    let width: Int
    let height: Int
    private(set) var framesWritten = 0
    private(set) var firstTime: Double?
    private(set) var lastTime: Double?

    private let output: UnsafeMutablePointer<AVFormatContext>
    private let stream: UnsafeMutablePointer<AVStream>
    private var encoder: UnsafeMutablePointer<AVCodecContext>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private let interleaved: Bool
    /// One frame's duration, in the encoder's clock: the gap between the last two frames (the nominal rate until there
    /// are two). Written on packets libx264 leaves without one.
    private var frameTicks: Int64
    private var lastPTS: Int64 = -1
    /// 90 kHz, the MPEG clock: fine enough for any frame rate, and timestamps stay integers.
    private static let clock = AVRational(num: 1, den: 90_000)

    /// Adds a video stream to `output` and opens libx264 for it. `tune` is libx264's (`zerolatency` makes every
    /// frame's packet come out at once); `interleaved` writes through libavformat's interleaving queue.
    init(
        output: UnsafeMutablePointer<AVFormatContext>, width: Int, height: Int, frameRate: Double,
        settings: EncoderSettings,
        keyframeInterval: Double, tune: String? = nil, interleaved: Bool = true
    ) throws {
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0 else {
            throw MediaError(.invalidArgument, "H.264 needs even, positive dimensions (got \(width)×\(height))")
        }
        guard let codec = avcodec_find_encoder_by_name("libx264") else {
            throw MediaError(.unsupportedCodec, "libavcodec was built without libx264")
        }
        guard let encoder = avcodec_alloc_context3(codec), let stream = avformat_new_stream(output, nil),
            let packet = av_packet_alloc()
        else {
            throw MediaError(.encodeFailed, "cannot allocate the encoder")
        }
        self.output = output
        self.stream = stream
        self.encoder = encoder
        self.packet = packet
        self.width = width
        self.height = height
        self.interleaved = interleaved
        let rate = frameRate > 0 ? frameRate : 25
        frameTicks = Int64((Double(Self.clock.den) / Double(Self.clock.num) / rate).rounded())
        encoder.pointee.width = Int32(width)
        encoder.pointee.height = Int32(height)
        encoder.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        encoder.pointee.time_base = Self.clock
        encoder.pointee.framerate = av_d2q(rate, 1000)
        encoder.pointee.gop_size = Int32(max(1, (rate * keyframeInterval).rounded()))
        encoder.pointee.max_b_frames = 0
        encoder.pointee.thread_count = 1
        if (output.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 {
            encoder.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER)
        }
        av_opt_set(encoder.pointee.priv_data, "preset", settings.preset, 0)
        if let tune { av_opt_set(encoder.pointee.priv_data, "tune", tune, 0) }
        if let bitrate = settings.bitrate {
            encoder.pointee.bit_rate = Int64(bitrate) * 1000
        } else {
            av_opt_set(encoder.pointee.priv_data, "crf", String(settings.crf), 0)
        }
        var status = avcodec_open2(encoder, codec, nil)
        guard status >= 0 else { throw MediaError(.encodeFailed, "cannot open libx264", ffmpeg: status) }
        status = avcodec_parameters_from_context(stream.pointee.codecpar, encoder)
        guard status >= 0 else { throw MediaError(.encodeFailed, "cannot describe the stream", ffmpeg: status) }
        stream.pointee.time_base = Self.clock
    }

    deinit {
        av_packet_free(&packet)
        avcodec_free_context(&encoder)
    }

    /// Encodes a frame and writes the packets that come out; `keyframe` forces an IDR picture.
    func encode(_ frame: VideoFrame, keyframe: Bool = false) throws {
        guard let encoder else { throw MediaError(.writeFailed, "the encoder is closed") }
        guard frame.width == width, frame.height == height else {
            throw MediaError(.invalidArgument, "frame is \(frame.width)×\(frame.height), the stream \(width)×\(height)")
        }
        var pts = Int64((frame.time * 90_000).rounded())
        if pts <= lastPTS { pts = lastPTS + 1 }
        // The frames' own spacing, not the nominal rate: a camera that says 25 fps and sends 10 must not have its
        // samples squeezed to 40 ms.
        if framesWritten > 0 { frameTicks = pts - lastPTS }
        lastPTS = pts
        frame.frame.pointee.pts = pts
        frame.frame.pointee.pict_type = keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE
        let status = avcodec_send_frame(encoder, frame.frame)
        frame.frame.pointee.pict_type = AV_PICTURE_TYPE_NONE
        guard status >= 0 else { throw MediaError(.encodeFailed, "libx264 refused a frame", ffmpeg: status) }
        if firstTime == nil { firstTime = frame.time }
        lastTime = frame.time
        framesWritten += 1
        try drain()
    }

    /// Flushes the frames libx264 still holds.
    func flush() throws {
        guard let encoder else { return }
        avcodec_send_frame(encoder, nil)
        try drain()
    }

    private func drain() throws {
        guard let encoder, let packet else { return }
        while true {
            let status = avcodec_receive_packet(encoder, packet)
            if status == veil_averror_eagain() || status == veil_averror_eof() { return }
            guard status >= 0 else { throw MediaError(.encodeFailed, "libx264 failed", ffmpeg: status) }
            packet.pointee.stream_index = stream.pointee.index
            // A packet without a duration ends the track at its own start: the MP4's last frame was cut off by the
            // edit list and never played.
            if packet.pointee.duration <= 0 { packet.pointee.duration = frameTicks }
            av_packet_rescale_ts(packet, encoder.pointee.time_base, stream.pointee.time_base)
            let written = interleaved ? av_interleaved_write_frame(output, packet) : av_write_frame(output, packet)
            av_packet_unref(packet)
            guard written >= 0 else { throw MediaError(.writeFailed, "cannot write a packet", ffmpeg: written) }
        }
    }
}
