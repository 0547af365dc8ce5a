internal import CFFmpeg
import Foundation

/// How loud a camera's sound is, window by window: the source's audio packets (``VideoFrame/audio``) decoded in memory
/// and measured — the RMS and the peak of every 100 ms, in dB below full scale, all channels together. Nothing is kept:
/// the samples are dropped as soon as they are measured (a recording keeps sound only where its policy says so, from
/// the packets as they came). `@unchecked Sendable`: one caller at a time (the camera's own thread).
public final class AudioLevelMeter: @unchecked Sendable {
    /// One window's loudness.
    public struct Level: Sendable, Equatable {
        /// Stream time of the window's start, in seconds.
        public var time: Double
        /// RMS in dBFS (−120 for digital silence).
        public var rms: Double
        /// The largest sample's magnitude in dBFS.
        public var peak: Double
    }

    /// The window: short enough for a bang, long enough that one click is not one.
    public static let window = 0.1

    public let format: AudioFormat
    private let decoder: UnsafeMutablePointer<AVCodecContext>
    private let frame: UnsafeMutablePointer<AVFrame>
    private var windowStart: Double?
    private var samplesInWindow = 0
    private var sumSquares = 0.0
    private var peak = 0.0
    /// Packets the decoder refused (a damaged stream is measured where it can be).
    public private(set) var decodeErrors = 0

    /// Nil when FFmpeg has no decoder for the format.
    public init?(format: AudioFormat) {
        guard let codec = avcodec_find_decoder(format.parameters.pointee.codec_id),
            let context = avcodec_alloc_context3(codec)
        else { return nil }
        var owned: UnsafeMutablePointer<AVCodecContext>? = context
        guard avcodec_parameters_to_context(context, format.parameters) >= 0, avcodec_open2(context, codec, nil) >= 0,
            let frame = av_frame_alloc()
        else {
            avcodec_free_context(&owned)
            return nil
        }
        self.format = format
        decoder = context
        self.frame = frame
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = decoder
        avcodec_free_context(&context)
        var owned: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&owned)
    }

    /// Decodes `packets` and returns the windows they complete, oldest first.
    public func levels(of packets: [AudioPacket]) -> [Level] {
        var levels: [Level] = []
        for packet in packets where packet.format.isSame(as: format) {
            if windowStart == nil { windowStart = packet.time }
            guard avcodec_send_packet(decoder, packet.packet) >= 0 else {
                decodeErrors += 1
                continue
            }
            while avcodec_receive_frame(decoder, frame) >= 0 {
                defer { av_frame_unref(frame) }
                let rate = max(1, Int(frame.pointee.sample_rate))
                let perWindow = max(1, Int(Double(rate) * Self.window))
                let channels = max(1, Int(frame.pointee.ch_layout.nb_channels))
                let total = Int(frame.pointee.nb_samples)
                var offset = 0
                // A window may end inside a frame (an AC-3 frame is 32 ms, an AAC one 21): split the frame there.
                while offset < total {
                    let count = min(total - offset, perWindow - samplesInWindow)
                    guard veil_audio_energy(frame, Int32(offset), Int32(count), &sumSquares, &peak) >= 0 else {
                        decodeErrors += 1
                        break
                    }
                    offset += count
                    samplesInWindow += count
                    if samplesInWindow >= perWindow {
                        let meanSquare = sumSquares / Double(samplesInWindow * channels)
                        let start = windowStart ?? packet.time
                        levels.append(
                            Level(time: start, rms: Self.decibels(sqrt(meanSquare)), peak: Self.decibels(peak)))
                        windowStart = start + Double(samplesInWindow) / Double(rate)
                        samplesInWindow = 0
                        sumSquares = 0
                        peak = 0
                    }
                }
            }
        }
        return levels
    }

    static func decibels(_ amplitude: Double) -> Double { amplitude > 1e-6 ? 20 * log10(amplitude) : -120 }
}
