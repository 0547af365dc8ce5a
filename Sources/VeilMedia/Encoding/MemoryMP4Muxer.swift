internal import CFFmpeg
import Foundation

/// An MP4 muxer that writes fragmented MP4 into memory (custom AVIO) and ends a fragment when told: what
/// ``FragmentedMP4Stream`` (live video) and ``FragmentedAudioStream`` (recorded sound) share. Add the streams to
/// ``output``, then ``writeHeader()`` gives the initialisation segment (`ftyp` + `moov`, no samples) and each
/// ``cut()`` one media segment (`moof` + `mdat`) of what was written since.
final class MemoryMP4Muxer {
    private final class Sink {
        var bytes = Data()
    }

    private let sink = Sink()
    let output: UnsafeMutablePointer<AVFormatContext>
    private var io: UnsafeMutablePointer<AVIOContext>?
    private(set) var initSegment = Data()

    init() throws {
        veil_silence_ffmpeg_logs()
        var context: UnsafeMutablePointer<AVFormatContext>?
        let status = avformat_alloc_output_context2(&context, nil, "mp4", nil)
        guard status >= 0, let context else {
            throw MediaError(.writeFailed, "cannot create an MP4 muxer", ffmpeg: status)
        }
        output = context
        let bufferSize = 64 << 10
        // From here a throw runs deinit (every stored property is set), which frees the context.
        guard let buffer = av_malloc(bufferSize)?.assumingMemoryBound(to: UInt8.self) else {
            throw MediaError(.writeFailed, "cannot allocate the output buffer")
        }
        guard
            let io = avio_alloc_context(
                buffer, Int32(bufferSize), 1, Unmanaged.passUnretained(sink).toOpaque(), nil,
                { opaque, bytes, count in
                    guard let opaque, let bytes, count > 0 else { return 0 }
                    Unmanaged<Sink>.fromOpaque(opaque).takeUnretainedValue().bytes.append(bytes, count: Int(count))
                    return count
                }, nil)
        else {
            av_free(buffer)
            throw MediaError(.writeFailed, "cannot allocate the output buffer")
        }
        self.io = io
        context.pointee.pb = io
        context.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
    }

    deinit {
        avformat_free_context(output)
        if io != nil {
            av_freep(&io!.pointee.buffer)
            avio_context_free(&io)
        }
    }

    /// Writes the header once the streams are added: frag_custom (a fragment ends only at ``cut()``), empty_moov
    /// (the init segment has no samples), default_base_moof (each fragment stands on its own).
    func writeHeader() throws {
        var options: OpaquePointer?
        defer { av_dict_free(&options) }
        av_dict_set(&options, "movflags", "frag_custom+empty_moov+default_base_moof", 0)
        let status = avformat_write_header(output, &options)
        guard status >= 0 else { throw MediaError(.writeFailed, "cannot write the MP4 header", ffmpeg: status) }
        avio_flush(io)
        initSegment = sink.bytes
        sink.bytes = Data()
    }

    /// Ends the current fragment: everything written since the last cut (nil when nothing was).
    func cut() throws -> Data? {
        guard let io else { return nil }
        let status = av_write_frame(output, nil)  // with frag_custom: flush the fragment
        guard status >= 0 else { throw MediaError(.writeFailed, "cannot end a fragment", ffmpeg: status) }
        avio_flush(io)
        defer { sink.bytes = Data() }
        return sink.bytes.isEmpty ? nil : sink.bytes
    }
}
