internal import CFFmpeg
public import Foundation

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

    private let muxer: MemoryMP4Muxer
    private var encoder: H264Encoder!
    private var keyframeNext = true

    public init(width: Int, height: Int, frameRate: Double, settings: EncoderSettings = EncoderSettings()) throws {
        muxer = try MemoryMP4Muxer()
        // Keyframes are forced where segments start; the interval only bounds a very long segment. Zero latency:
        // a cut must hold exactly the frames written before it.
        encoder = try H264Encoder(
            output: muxer.output, width: width, height: height, frameRate: frameRate, settings: settings,
            keyframeInterval: max(settings.keyframeInterval, 1) * 2, tune: "zerolatency", interleaved: false)
        try muxer.writeHeader()
        initSegment = muxer.initSegment
    }

    deinit {
        encoder = nil  // before the muxer its stream belongs to
    }

    /// Encodes a frame at its own time. The first frame after a ``cut()`` (and the very first) is a keyframe.
    public func write(_ frame: VideoFrame) throws {
        try encoder.encode(frame, keyframe: keyframeNext)
        keyframeNext = false
    }

    /// Ends the current fragment: the media segment of everything written since the last cut (nil when nothing
    /// was). The next frame written starts the next segment with a keyframe.
    public func cut() throws -> Data? {
        keyframeNext = true
        return try muxer.cut()
    }
}
