internal import CFFmpeg
public import Foundation

/// Writes one frame as a JPEG or PNG file with libavcodec's image encoders.
public enum ImageWriter {
    public static func write(_ frame: VideoFrame, to path: String) throws {
        let lower = path.lowercased()
        let isPNG = lower.hasSuffix(".png")
        guard isPNG || lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") else {
            throw MediaError(.invalidArgument, "\(path): images are written as .jpg, .jpeg or .png")
        }
        let data = try encode(frame, png: isPNG)
        do { try data.write(to: URL(fileURLWithPath: path)) } catch {
            throw MediaError(.writeFailed, "\(path): cannot write")
        }
    }

    /// The frame as a JPEG, in memory (an alert's snapshot).
    public static func jpeg(_ frame: VideoFrame) throws -> Data { try encode(frame, png: false) }

    static func encode(_ frame: VideoFrame, png isPNG: Bool) throws -> Data {
        guard let codec = avcodec_find_encoder(isPNG ? AV_CODEC_ID_PNG : AV_CODEC_ID_MJPEG),
            let context = avcodec_alloc_context3(codec)
        else { throw MediaError(.unsupportedCodec, "no image encoder") }
        defer {
            var pointer: UnsafeMutablePointer<AVCodecContext>? = context
            avcodec_free_context(&pointer)
        }
        context.pointee.width = Int32(frame.width)
        context.pointee.height = Int32(frame.height)
        context.pointee.time_base = AVRational(num: 1, den: 25)
        var source = frame.frame
        let format = frame.frame.pointee.format
        defer { frame.frame.pointee.format = format }
        var converted: UnsafeMutablePointer<AVFrame>?
        defer { av_frame_free(&converted) }
        if isPNG {
            context.pointee.pix_fmt = AV_PIX_FMT_RGB24
            converted = av_frame_alloc()
            guard let converted else { throw MediaError(.encodeFailed, "out of memory") }
            converted.pointee.width = Int32(frame.width)
            converted.pointee.height = Int32(frame.height)
            converted.pointee.format = AV_PIX_FMT_RGB24.rawValue
            guard av_frame_get_buffer(converted, 32) >= 0 else { throw MediaError(.encodeFailed, "out of memory") }
            let rgb = try frame.rgb()
            for row in 0..<frame.height {
                rgb.withUnsafeBufferPointer { buffer in
                    converted.pointee.data.0!.advanced(by: row * Int(converted.pointee.linesize.0))
                        .update(from: buffer.baseAddress!.advanced(by: row * frame.width * 3), count: frame.width * 3)
                }
            }
            source = converted
        } else {
            // Full-range 4:2:0, as JPEG expects; the planes are the same layout. The frame is labelled so only while
            // it is encoded.
            context.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
            context.pointee.qmin = 2
            context.pointee.qmax = 4
            frame.frame.pointee.format = AV_PIX_FMT_YUVJ420P.rawValue
        }
        var status = avcodec_open2(context, codec, nil)
        guard status >= 0 else { throw MediaError(.encodeFailed, "cannot open the image encoder", ffmpeg: status) }
        source.pointee.pts = 0
        status = avcodec_send_frame(context, source)
        guard status >= 0 else {
            throw MediaError(.encodeFailed, "the image encoder refused the frame", ffmpeg: status)
        }
        avcodec_send_frame(context, nil)
        guard let packet = av_packet_alloc() else { throw MediaError(.encodeFailed, "out of memory") }
        var packetPointer: UnsafeMutablePointer<AVPacket>? = packet
        defer { av_packet_free(&packetPointer) }
        status = avcodec_receive_packet(context, packet)
        guard status >= 0 else { throw MediaError(.encodeFailed, "no image produced", ffmpeg: status) }
        return Data(bytes: packet.pointee.data, count: Int(packet.pointee.size))
    }
}
