internal import CFFmpeg
internal import CJPEG
public import Foundation

/// Writes one frame as a JPEG (libjpeg-turbo) or PNG (libavcodec) file.
public enum ImageWriter {
    public static func write(_ frame: VideoFrame, to path: String) throws {
        let lower = path.lowercased()
        let isPNG = lower.hasSuffix(".png")
        guard isPNG || lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") else {
            throw MediaError(.invalidArgument, "\(path): images are written as .jpg, .jpeg or .png")
        }
        let data = try isPNG ? png(frame) : jpeg(frame)
        do { try data.write(to: URL(fileURLWithPath: path)) } catch {
            throw MediaError(.writeFailed, "\(path): cannot write")
        }
    }

    /// JPEG quality: detail for an alert's snapshot or an evidence still at about a twelfth of the raw picture's size
    /// (720p: about 100 KB).
    static let jpegQuality: Int32 = 75

    /// The frame as a JPEG, in memory (an alert's snapshot): libjpeg-turbo from the frame's planes, video's limited
    /// range stretched to the full range a JPEG reader assumes (a camera's blacks stayed dark grey before). 720p alert
    /// snapshots took 6–9 ms each with FFmpeg's MJPEG encoder — most of the analytics' share of a camera's CPU in
    /// `VeilBench cameras` — and take about 3.5 ms this way.
    public static func jpeg(_ frame: VideoFrame) throws -> Data {
        let picture = frame.frame.pointee
        guard picture.format == AV_PIX_FMT_YUV420P.rawValue || picture.format == AV_PIX_FMT_YUVJ420P.rawValue,
            let luma = picture.data.0, let blue = picture.data.1, let red = picture.data.2
        else { throw MediaError(.unsupportedCodec, "a JPEG is made from a 4:2:0 picture") }
        var jpeg: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        var message = [CChar](repeating: 0, count: 200)
        // Decoded video is limited range unless labelled otherwise (a JPEG source decodes as full-range YUVJ420P).
        let limitedRange = picture.format == AV_PIX_FMT_YUV420P.rawValue && picture.color_range != AVCOL_RANGE_JPEG
        let status = veil_jpeg_encode_420(
            luma, picture.linesize.0, blue, picture.linesize.1, red, picture.linesize.2, Int32(frame.width),
            Int32(frame.height), limitedRange ? 1 : 0, jpegQuality, &jpeg, &size, &message, message.count)
        guard status == 0, let jpeg else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw MediaError(.encodeFailed, "the JPEG encoder refused the frame: \(reason)")
        }
        defer { veil_jpeg_free(jpeg) }
        return Data(bytes: jpeg, count: Int(size))
    }

    /// The frame as a PNG (RGB, lossless), with libavcodec's encoder.
    static func png(_ frame: VideoFrame) throws -> Data {
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_PNG), let context = avcodec_alloc_context3(codec)
        else { throw MediaError(.unsupportedCodec, "no image encoder") }
        defer {
            var pointer: UnsafeMutablePointer<AVCodecContext>? = context
            avcodec_free_context(&pointer)
        }
        context.pointee.width = Int32(frame.width)
        context.pointee.height = Int32(frame.height)
        context.pointee.time_base = AVRational(num: 1, den: 25)
        context.pointee.pix_fmt = AV_PIX_FMT_RGB24
        var converted: UnsafeMutablePointer<AVFrame>? = av_frame_alloc()
        defer { av_frame_free(&converted) }
        guard let source = converted else { throw MediaError(.encodeFailed, "out of memory") }
        source.pointee.width = Int32(frame.width)
        source.pointee.height = Int32(frame.height)
        source.pointee.format = AV_PIX_FMT_RGB24.rawValue
        guard av_frame_get_buffer(source, 32) >= 0 else { throw MediaError(.encodeFailed, "out of memory") }
        let rgb = try frame.rgb()
        for row in 0..<frame.height {
            rgb.withUnsafeBufferPointer { buffer in
                source.pointee.data.0!.advanced(by: row * Int(source.pointee.linesize.0))
                    .update(from: buffer.baseAddress!.advanced(by: row * frame.width * 3), count: frame.width * 3)
            }
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
