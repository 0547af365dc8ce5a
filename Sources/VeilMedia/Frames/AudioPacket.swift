internal import CFFmpeg
import Foundation

/// A source's audio stream as it came, for storing as it came: its codec parameters (copied from the demuxer).
/// Sound is never decoded or analysed here; a recording keeps it only where the policy says so
/// (``SourceOptions/keepAudio``). `@unchecked Sendable`: immutable after creation.
public final class AudioFormat: @unchecked Sendable {
    let parameters: UnsafeMutablePointer<AVCodecParameters>
    public let codecName: String
    public let sampleRate: Int
    public let channels: Int

    init?(copying source: UnsafePointer<AVCodecParameters>) {
        guard let parameters = avcodec_parameters_alloc() else { return nil }
        guard avcodec_parameters_copy(parameters, source) >= 0 else {
            var pointer: UnsafeMutablePointer<AVCodecParameters>? = parameters
            avcodec_parameters_free(&pointer)
            return nil
        }
        self.parameters = parameters
        codecName = avcodec_get_name(parameters.pointee.codec_id).map { String(cString: $0) } ?? "unknown"
        sampleRate = Int(parameters.pointee.sample_rate)
        channels = Int(parameters.pointee.ch_layout.nb_channels)
        fitsMP4 =
            av_guess_format("mp4", nil, nil).map {
                avformat_query_codec($0, parameters.pointee.codec_id, FF_COMPLIANCE_NORMAL) == 1
            }
            ?? false
    }

    deinit {
        var pointer: UnsafeMutablePointer<AVCodecParameters>? = parameters
        avcodec_parameters_free(&pointer)
    }

    /// Whether an MP4 file can carry this codec as it is (AAC, AC-3, MP3, Opus, …).
    public let fitsMP4: Bool

    /// The same codec, rate and channels: one stream can carry both.
    public func isSame(as other: AudioFormat) -> Bool {
        if other === self { return true }
        let mine = parameters.pointee, theirs = other.parameters.pointee
        guard mine.codec_id == theirs.codec_id, mine.profile == theirs.profile, sampleRate == other.sampleRate,
            channels == other.channels,
            mine.extradata_size == theirs.extradata_size
        else { return false }
        // The codec's configuration (an AAC AudioSpecificConfig, say) must match too.
        return mine.extradata_size == 0 || memcmp(mine.extradata, theirs.extradata, Int(mine.extradata_size)) == 0
    }
}

/// One compressed audio packet, owned by this object, with its time on the same clock as ``VideoFrame/time``.
/// Frames carry the audio demuxed since the previous frame (``VideoFrame/audio``), so sound follows pictures
/// through the pipeline with the same back-pressure.
public final class AudioPacket: @unchecked Sendable {
    let packet: UnsafeMutablePointer<AVPacket>
    public let format: AudioFormat
    /// Presentation time in seconds (kept increasing across reconnects, like the frames').
    public internal(set) var time: Double
    /// Length in seconds (0 when the container does not say).
    public let duration: Double
    public var size: Int { Int(packet.pointee.size) }

    init(taking packet: UnsafeMutablePointer<AVPacket>, format: AudioFormat, time: Double, duration: Double) {
        self.packet = packet
        self.format = format
        self.time = time
        self.duration = duration
    }

    deinit {
        var pointer: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&pointer)
    }
}
