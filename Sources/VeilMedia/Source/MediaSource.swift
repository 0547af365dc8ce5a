internal import CFFmpeg
import Foundation

/// Options for opening a source.
public struct SourceOptions: Sendable {
    /// For RTSP: interleave over the TCP control connection (reliable, the default) or use UDP.
    public enum RTSPTransport: String, Sendable { case tcp, udp }

    public var rtspTransport: RTSPTransport
    /// Give up on a silent network source after this long.
    public var ioTimeout: Duration
    /// Decoder threads; 0 lets FFmpeg choose one per core.
    public var decoderThreads: Int
    /// Asked while libavformat waits on the network: true makes a blocking open or read give up at once, so a
    /// gateway shutting down does not wait out ``ioTimeout`` on a camera that does not answer.
    public var interrupt: (@Sendable () -> Bool)?

    /// Pass the source's audio on with the frames (``VideoFrame/audio``), compressed as it came; by default sound
    /// is dropped at the demuxer. Only for a recording whose policy keeps audio.
    public var keepAudio: Bool

    public init(
        rtspTransport: RTSPTransport = .tcp, ioTimeout: Duration = .seconds(10), decoderThreads: Int = 0,
        interrupt: (@Sendable () -> Bool)? = nil, keepAudio: Bool = false
    ) {
        self.rtspTransport = rtspTransport
        self.ioTimeout = ioTimeout
        self.decoderThreads = decoderThreads
        self.interrupt = interrupt
        self.keepAudio = keepAudio
    }
}

/// Bytes for a ``MediaSource`` that libavformat cannot fetch itself — a live stream fetched over mutual TLS, say.
/// Called on the thread that pulls frames; it may block there until bytes arrive.
public protocol ByteStreamReader: AnyObject, Sendable {
    /// Copies at least one byte into `buffer` and returns how many, blocking until some are available; returns 0 at the
    /// end of the stream and throws when the stream failed.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Holds a reader for the AVIO read callback (its opaque pointer), and the error that ended the stream.
private final class ReaderBox: @unchecked Sendable {
    let reader: any ByteStreamReader
    var failure: (any Error)?
    init(_ reader: any ByteStreamReader) { self.reader = reader }
}

/// Holds the interrupt check for libavformat's C callback (which gets this object as its opaque pointer).
private final class InterruptCheck: @unchecked Sendable {
    let check: @Sendable () -> Bool
    init(_ check: @escaping @Sendable () -> Bool) { self.check = check }
}

/// A video source opened with libavformat and decoded with libavcodec: a file (MP4, MKV, AVI, MPEG-TS), an
/// RTSP camera or an HTTP(S) stream. Pull frames with ``nextFrame()``; each is YUV 4:2:0.
///
/// Corrupt packets are counted (``decodeErrors``) and skipped, never fatal. `@unchecked Sendable`: one task
/// owns the source and pulls from it; the pointers are never shared.
public final class MediaSource: @unchecked Sendable {
    public let address: String
    public let width: Int
    public let height: Int
    /// Frames per second as the container declares it (0 when unknown).
    public let frameRate: Double
    /// The source's length in seconds, when the container knows it (files); nil for live streams.
    public let duration: Double?
    /// The codec's name, e.g. `h264`, `msmpeg4`.
    public let codecName: String
    /// The audio stream passed on with the frames (``SourceOptions/keepAudio``), if the source has one.
    public let audioFormat: AudioFormat?
    /// Packets or frames the decoder rejected; reported, never fatal.
    public private(set) var decodeErrors = 0
    public private(set) var framesDecoded = 0

    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var decoder: UnsafeMutablePointer<AVCodecContext>?
    private let streamIndex: Int32
    private let timeBase: AVRational
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var scaler: OpaquePointer?
    private var draining = false
    private let audioIndex: Int32
    private let audioTimeBase: AVRational
    private var pendingAudio: [AudioPacket] = []
    private var finished = false
    /// Kept alive as long as the format context that calls it.
    private let interruptCheck: InterruptCheck?
    /// For a stream read through ``ByteStreamReader``: the AVIO context (libavformat does not free a custom one) and
    /// what its callback reads from.
    private var customIO: UnsafeMutablePointer<AVIOContext>?
    private var readerBox: ReaderBox?
    /// A network or reader stream: a read error ends it (to reconnect) instead of being drained like a truncated file.
    private let isNetwork: Bool

    public convenience init(address: String, options: SourceOptions = SourceOptions()) throws {
        try self.init(address: address, reader: nil, options: options)
    }

    /// Opens a stream whose bytes come from `reader` (a container libavformat recognises, e.g. fragmented MP4 as an
    /// HLS-over-mutual-TLS client assembles it); `name` stands for it in messages. The stream is read forward only,
    /// like a network source: when `reader` fails, ``nextFrame()`` throws and a ``LiveSource`` reconnects.
    public convenience init(
        reading reader: any ByteStreamReader, name: String, options: SourceOptions = SourceOptions()
    ) throws {
        try self.init(address: name, reader: reader, options: options)
    }

    private init(address: String, reader: (any ByteStreamReader)?, options: SourceOptions) throws {
        veil_silence_ffmpeg_logs()
        self.address = address
        isNetwork = reader != nil || (address.contains("://") && !address.hasPrefix("file:"))
        let printable = reader == nil ? redactedAddress(address) : address
        var dictionary: OpaquePointer?
        defer { av_dict_free(&dictionary) }
        let timeout = String(options.ioTimeout.components.seconds * 1_000_000)
        if address.lowercased().hasPrefix("rtsp") {
            av_dict_set(&dictionary, "rtsp_transport", options.rtspTransport.rawValue, 0)
            av_dict_set(&dictionary, "timeout", timeout, 0)
        } else if address.contains("://") {
            av_dict_set(&dictionary, "rw_timeout", timeout, 0)
        }
        var context: UnsafeMutablePointer<AVFormatContext>? = avformat_alloc_context()
        interruptCheck = options.interrupt.map(InterruptCheck.init)
        if let interruptCheck, let context {
            context.pointee.interrupt_callback = AVIOInterruptCB(
                callback: { opaque in
                    guard let opaque else { return 0 }
                    return Unmanaged<InterruptCheck>.fromOpaque(opaque).takeUnretainedValue().check() ? 1 : 0
                },
                opaque: Unmanaged.passUnretained(interruptCheck).toOpaque())
        }
        // Until the source is open, a failure frees a custom AVIO context here (deinit does not run for a failed init).
        var io: UnsafeMutablePointer<AVIOContext>?
        var box: ReaderBox?
        var opened = false
        defer {
            if !opened, io != nil {
                av_freep(&io!.pointee.buffer)
                avio_context_free(&io)
            }
        }
        if let reader, let context {
            let readerBox = ReaderBox(reader)
            box = readerBox
            let size = 64 << 10
            guard let buffer = av_malloc(size)?.assumingMemoryBound(to: UInt8.self) else {
                avformat_free_context(context)
                throw MediaError(.openFailed, "cannot allocate the input buffer for \(printable)")
            }
            guard
                let custom = avio_alloc_context(
                    buffer, Int32(size), 0, Unmanaged.passUnretained(readerBox).toOpaque(),
                    { opaque, bytes, count in
                        guard let opaque, let bytes, count > 0 else { return veil_averror_eof() }
                        let box = Unmanaged<ReaderBox>.fromOpaque(opaque).takeUnretainedValue()
                        do {
                            let read = try box.reader.read(
                                into: UnsafeMutableRawBufferPointer(start: bytes, count: Int(count)))
                            return read > 0 ? Int32(read) : veil_averror_eof()
                        } catch {
                            box.failure = error
                            return veil_averror_eio()
                        }
                    }, nil, nil)
            else {
                av_free(buffer)
                avformat_free_context(context)
                throw MediaError(.openFailed, "cannot allocate the input buffer for \(printable)")
            }
            custom.pointee.seekable = 0
            context.pointee.pb = custom
            context.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
            io = custom
        }
        var status = avformat_open_input(&context, reader == nil ? address : nil, nil, &dictionary)
        guard status >= 0, let context else {
            if let failure = box?.failure { throw MediaError(.openFailed, "cannot open \(printable): \(failure)") }
            throw MediaError(.openFailed, "cannot open \(printable)", ffmpeg: status)
        }
        format = context
        status = avformat_find_stream_info(context, nil)
        guard status >= 0 else {
            avformat_close_input(&format)
            throw MediaError(.openFailed, "cannot read the streams of \(printable)", ffmpeg: status)
        }
        var codec: UnsafePointer<AVCodec>?
        let index = av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0)
        guard index >= 0, let stream = veil_stream(context, UInt32(index)) else {
            avformat_close_input(&format)
            throw MediaError(.noVideoStream, "\(printable) has no video stream")
        }
        guard let codec else {
            avformat_close_input(&format)
            throw MediaError(.unsupportedCodec, "\(printable): no decoder for its video codec")
        }
        guard let decoder = avcodec_alloc_context3(codec) else {
            avformat_close_input(&format)
            throw MediaError(.decodeFailed, "cannot allocate a decoder")
        }
        self.decoder = decoder
        avcodec_parameters_to_context(decoder, stream.pointee.codecpar)
        decoder.pointee.thread_count = Int32(options.decoderThreads)
        status = avcodec_open2(decoder, codec, nil)
        guard status >= 0 else {
            avcodec_free_context(&self.decoder)
            avformat_close_input(&format)
            throw MediaError(.unsupportedCodec, "\(printable): cannot open the decoder", ffmpeg: status)
        }
        streamIndex = index
        timeBase = stream.pointee.time_base
        let audio = options.keepAudio ? av_find_best_stream(context, AVMEDIA_TYPE_AUDIO, -1, -1, nil, 0) : -1
        if audio >= 0, let audioStream = veil_stream(context, UInt32(audio)),
            let format = AudioFormat(copying: audioStream.pointee.codecpar)
        {
            audioIndex = audio
            audioTimeBase = audioStream.pointee.time_base
            audioFormat = format
        } else {
            audioIndex = -1
            audioTimeBase = AVRational(num: 1, den: 1)
            audioFormat = nil
        }
        width = Int(decoder.pointee.width)
        height = Int(decoder.pointee.height)
        let rate = stream.pointee.avg_frame_rate.den != 0 ? stream.pointee.avg_frame_rate : stream.pointee.r_frame_rate
        frameRate = rate.den != 0 ? Double(rate.num) / Double(rate.den) : 0
        codecName = String(cString: codec.pointee.name)
        duration = context.pointee.duration > 0 ? Double(context.pointee.duration) / 1_000_000 : nil
        packet = av_packet_alloc()
        // From here deinit owns the custom AVIO context.
        customIO = io
        readerBox = box
        opened = true
        guard width > 0, height > 0 else {
            throw MediaError(.decodeFailed, "\(printable): the video has no size")
        }
    }

    deinit {
        av_packet_free(&packet)
        avcodec_free_context(&decoder)
        avformat_close_input(&format)
        freeCustomIO()
        if let scaler { sws_freeContext(scaler) }
    }

    private func freeCustomIO() {
        guard customIO != nil else { return }
        av_freep(&customIO!.pointee.buffer)
        avio_context_free(&customIO)
    }

    /// The next decoded frame, or nil at the end of the source. Corrupt data is skipped and counted.
    /// Throws only when the source fails in a way reading on cannot fix (a network source that went away).
    public func nextFrame() throws -> VideoFrame? {
        guard !finished, let decoder, let format, let packet else { return nil }
        while true {
            guard let raw = av_frame_alloc() else { throw MediaError(.decodeFailed, "out of memory") }
            let received = avcodec_receive_frame(decoder, raw)
            if received >= 0 {
                framesDecoded += 1
                let frame = try frame(from: raw)
                frame.audio = pendingAudio
                pendingAudio = []
                return frame
            }
            var pointer: UnsafeMutablePointer<AVFrame>? = raw
            av_frame_free(&pointer)
            if received == veil_averror_eof() {
                finished = true
                return nil
            }
            if received != veil_averror_eagain() {
                decodeErrors += 1
            }
            if draining {
                finished = true
                return nil
            }
            let read = av_read_frame(format, packet)
            if read < 0 {
                // End of file, or a truncated one: drain what the decoder holds. A network error ends the source
                // too; the live wrapper reconnects.
                if read != veil_averror_eof() { decodeErrors += 1 }
                draining = true
                avcodec_send_packet(decoder, nil)
                if read != veil_averror_eof(), isNetwork {
                    if let failure = readerBox?.failure {
                        throw MediaError(.endOfStream, "\(address) stopped: \(failure)")
                    }
                    throw MediaError(.endOfStream, "\(redactedAddress(address)) stopped", ffmpeg: read)
                }
                continue
            }
            if packet.pointee.stream_index == audioIndex, let audioFormat {
                keepAudio(packet, format: audioFormat)
                continue
            }
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == streamIndex else { continue }
            if avcodec_send_packet(decoder, packet) < 0 { decodeErrors += 1 }
        }
    }

    /// Moves an audio packet's data into a packet of its own for the next frame (the read packet is reused).
    private func keepAudio(_ packet: UnsafeMutablePointer<AVPacket>, format: AudioFormat) {
        guard let kept = av_packet_alloc() else {
            av_packet_unref(packet)
            return
        }
        av_packet_move_ref(kept, packet)
        let seconds = audioTimeBase.den != 0 ? Double(audioTimeBase.num) / Double(audioTimeBase.den) : 0
        let pts = kept.pointee.pts != veil_nopts_value() ? kept.pointee.pts : kept.pointee.dts
        let time = Double(pts) * seconds, duration = Double(max(0, kept.pointee.duration)) * seconds
        // No (sane) time, no place in a recording: a crafted stream's numbers never reach an integer conversion.
        guard pts != veil_nopts_value(), seconds > 0, time.isFinite, abs(time) < 1e9, duration.isFinite, duration < 10
        else {
            var pointer: UnsafeMutablePointer<AVPacket>? = kept
            av_packet_free(&pointer)
            return
        }
        // Bounded while no picture comes to carry it (a stalled video stream): the oldest go first.
        if pendingAudio.count >= 4096 { pendingAudio.removeFirst(pendingAudio.count - 4095) }
        pendingAudio.append(AudioPacket(taking: kept, format: format, time: time, duration: duration))
    }

    /// Wraps a decoded frame, converting it to YUV 4:2:0 when the codec produced another layout.
    private func frame(from raw: UnsafeMutablePointer<AVFrame>) throws -> VideoFrame {
        let pts = raw.pointee.best_effort_timestamp
        let time =
            pts == veil_nopts_value()
            ? Double(framesDecoded - 1) / max(frameRate, 1)
            : Double(pts) * Double(timeBase.num) / Double(timeBase.den)
        let layout = AVPixelFormat(rawValue: raw.pointee.format)
        if layout == AV_PIX_FMT_YUV420P || layout == AV_PIX_FMT_YUVJ420P, raw.pointee.width == Int32(width),
            raw.pointee.height == Int32(height)
        {
            return VideoFrame(taking: raw, time: time, index: framesDecoded - 1)
        }
        defer {
            var pointer: UnsafeMutablePointer<AVFrame>? = raw
            av_frame_free(&pointer)
        }
        let converted = try VideoFrame(
            width: width - width % 2, height: height - height % 2, time: time, index: framesDecoded - 1)
        scaler = sws_getCachedContext(
            scaler, raw.pointee.width, raw.pointee.height, layout, Int32(converted.width),
            Int32(converted.height), AV_PIX_FMT_YUV420P, Int32(SWS_BILINEAR), nil, nil, nil)
        guard let scaler else { throw MediaError(.decodeFailed, "cannot convert the decoder's pixel format") }
        withUnsafePointer(to: raw.pointee.data) { data in
            data.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { source in
                withUnsafePointer(to: raw.pointee.linesize) { lines in
                    lines.withMemoryRebound(to: Int32.self, capacity: 8) { sourceStrides in
                        withUnsafeMutablePointer(to: &converted.frame.pointee.data) { target in
                            target.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) {
                                destination in
                                withUnsafePointer(to: converted.frame.pointee.linesize) { targetLines in
                                    targetLines.withMemoryRebound(to: Int32.self, capacity: 8) { destinationStrides in
                                        _ = sws_scale(
                                            scaler, source, sourceStrides, 0, raw.pointee.height, destination,
                                            destinationStrides)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return converted
    }
}
