internal import CFFmpeg
public import Foundation

/// A source's sound stored as it came — no decoding, no re-encoding — as one self-contained MP4 per vault segment:
/// what a camera pipeline records where the policy keeps audio (its own data category, with its own retention, apart
/// from the video). A plain MP4 (`moov` after the samples) built in seekable memory, so codecs whose sample entry
/// needs the first packets (AC-3, E-AC-3) are stored as well as AAC, MP3 or Opus.
public enum AudioMP4 {
    /// The MP4 of `packets` (one format, times increasing; a packet not later than the one before is skipped).
    /// Throws ``MediaError`` `.unsupportedCodec` for a codec MP4 cannot carry (``AudioFormat/fitsMP4``).
    public static func file(of packets: [AudioPacket]) throws -> Data {
        guard let format = packets.first?.format else { throw MediaError(.invalidArgument, "no audio to store") }
        guard format.fitsMP4 else {
            throw MediaError(.unsupportedCodec, "MP4 cannot carry \(format.codecName) audio as it is")
        }
        veil_silence_ffmpeg_logs()
        let file = SeekableMemory()
        var context: UnsafeMutablePointer<AVFormatContext>?
        var status = avformat_alloc_output_context2(&context, nil, "mp4", nil)
        guard status >= 0, let context else {
            throw MediaError(.writeFailed, "cannot create an MP4 muxer", ffmpeg: status)
        }
        defer { avformat_free_context(context) }
        var io: UnsafeMutablePointer<AVIOContext>? = try file.makeIO()
        defer {
            av_freep(&io!.pointee.buffer)
            avio_context_free(&io)
        }
        context.pointee.pb = io
        context.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
        guard let stream = avformat_new_stream(context, nil) else {
            throw MediaError(.writeFailed, "cannot add an audio stream")
        }
        status = avcodec_parameters_copy(stream.pointee.codecpar, format.parameters)
        guard status >= 0 else { throw MediaError(.writeFailed, "cannot copy the audio parameters", ffmpeg: status) }
        stream.pointee.codecpar.pointee.codec_tag = 0  // the source container's tag means nothing in MP4
        stream.pointee.time_base = AVRational(num: 1, den: Int32(max(1, format.sampleRate)))
        status = avformat_write_header(context, nil)
        guard status >= 0 else { throw MediaError(.writeFailed, "cannot write the MP4 header", ffmpeg: status) }
        let base = stream.pointee.time_base  // the muxer may have chosen its own
        let origin = packets[0].time
        var last: Int64 = .min
        for packet in packets where packet.format.isSame(as: format) {
            // Times from the segment's first packet: each file starts at zero, its place is in the vault's index.
            let position = ((packet.time - origin) * Double(base.den) / Double(base.num)).rounded()
            let length = (packet.duration * Double(base.den) / Double(base.num)).rounded()
            guard position.isFinite, length.isFinite, abs(position) < 1e15, length >= 0, length < 1e15 else { continue }
            let ticks = Int64(position)
            guard ticks > last, let copy = av_packet_clone(packet.packet) else { continue }
            var pointer: UnsafeMutablePointer<AVPacket>? = copy
            defer { av_packet_free(&pointer) }
            last = ticks
            copy.pointee.stream_index = stream.pointee.index
            copy.pointee.pts = ticks
            copy.pointee.dts = ticks
            copy.pointee.duration = Int64(length)
            copy.pointee.pos = -1
            status = av_write_frame(context, copy)
            guard status >= 0 else { throw MediaError(.writeFailed, "cannot store audio", ffmpeg: status) }
        }
        status = av_write_trailer(context)
        guard status >= 0 else { throw MediaError(.writeFailed, "cannot finish the audio MP4", ffmpeg: status) }
        avio_flush(io)
        return file.bytes
    }
}

/// A growable byte buffer libavformat writes and seeks in (a plain MP4 goes back to fill in sizes).
private final class SeekableMemory {
    var bytes = Data()
    var position = 0

    func makeIO() throws -> UnsafeMutablePointer<AVIOContext> {
        let size = 64 << 10
        guard let buffer = av_malloc(size)?.assumingMemoryBound(to: UInt8.self) else {
            throw MediaError(.writeFailed, "cannot allocate the output buffer")
        }
        guard
            let io = avio_alloc_context(
                buffer, Int32(size), 1, Unmanaged.passUnretained(self).toOpaque(), nil,
                { opaque, data, count in
                    guard let opaque, let data, count > 0 else { return 0 }
                    let memory = Unmanaged<SeekableMemory>.fromOpaque(opaque).takeUnretainedValue()
                    let end = memory.position + Int(count)
                    if end > memory.bytes.count { memory.bytes.append(Data(count: end - memory.bytes.count)) }
                    memory.bytes.replaceSubrange(
                        memory.position..<end, with: UnsafeBufferPointer(start: data, count: Int(count)))
                    memory.position = end
                    return count
                },
                { opaque, offset, whence in
                    guard let opaque else { return -1 }
                    let memory = Unmanaged<SeekableMemory>.fromOpaque(opaque).takeUnretainedValue()
                    switch whence & ~AVSEEK_FORCE {
                    case AVSEEK_SIZE: return Int64(memory.bytes.count)
                    case SEEK_SET: memory.position = Int(offset)
                    case SEEK_CUR: memory.position += Int(offset)
                    case SEEK_END: memory.position = memory.bytes.count + Int(offset)
                    default: return -1
                    }
                    memory.position = max(0, memory.position)
                    return Int64(memory.position)
                })
        else {
            av_free(buffer)
            throw MediaError(.writeFailed, "cannot allocate the output buffer")
        }
        return io
    }
}
