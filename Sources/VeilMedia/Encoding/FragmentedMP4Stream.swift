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
    public var width: Int { encoder.width }
    public var height: Int { encoder.height }
    /// `ftyp` and `moov`: what a player needs before any media segment.
    public private(set) var initSegment = Data()
    public var framesWritten: Int { encoder.framesWritten }

    private final class Sink {
        var bytes = Data()
    }

    private let sink = Sink()
    private let output: UnsafeMutablePointer<AVFormatContext>
    private var io: UnsafeMutablePointer<AVIOContext>?
    private var encoder: H264Encoder!
    private var keyframeNext = true

    public init(width: Int, height: Int, frameRate: Double, settings: EncoderSettings = EncoderSettings()) throws {
        veil_silence_ffmpeg_logs()
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
        // Keyframes are forced where segments start; the interval only bounds a very long segment. Zero latency:
        // a cut must hold exactly the frames written before it.
        encoder = try H264Encoder(output: context, width: width, height: height, frameRate: frameRate, settings: settings,
                                  keyframeInterval: max(settings.keyframeInterval, 1) * 2, tune: "zerolatency", interleaved: false)
        var options: OpaquePointer?
        defer { av_dict_free(&options) }
        // frag_custom: a fragment ends only when cut() says so; empty_moov: the init segment has no samples.
        av_dict_set(&options, "movflags", "frag_custom+empty_moov+default_base_moof", 0)
        status = avformat_write_header(context, &options)
        guard status >= 0 else { throw MediaError(.writeFailed, "cannot write the MP4 header", ffmpeg: status) }
        avio_flush(io)
        initSegment = sink.bytes
        sink.bytes = Data()
    }

    deinit {
        encoder = nil
        avformat_free_context(output)
        if io != nil {
            av_freep(&io!.pointee.buffer)
            avio_context_free(&io)
        }
    }

    /// Encodes a frame at its own time. The first frame after a ``cut()`` (and the very first) is a keyframe.
    public func write(_ frame: VideoFrame) throws {
        try encoder.encode(frame, keyframe: keyframeNext)
        keyframeNext = false
    }

    /// Ends the current fragment: the media segment of everything written since the last cut (nil when nothing
    /// was). The next frame written starts the next segment with a keyframe.
    public func cut() throws -> Data? {
        guard let io else { return nil }
        keyframeNext = true
        let status = av_write_frame(output, nil)  // with frag_custom: flush the fragment
        guard status >= 0 else { throw MediaError(.writeFailed, "cannot end a fragment", ffmpeg: status) }
        avio_flush(io)
        defer { sink.bytes = Data() }
        return sink.bytes.isEmpty ? nil : sink.bytes
    }
}
