internal import CFFmpeg
public import VeilCore

/// One decoded picture in planar YUV 4:2:0, owned by this object and freed with it.
///
/// Redaction works in place on the planes (``withPlanes(_:)``), so a frame flows from decoder to redactor to
/// encoder without a full-frame copy. `@unchecked Sendable`: a frame has one owner at a time — the pipeline
/// hands it on and never touches it again.
public final class VideoFrame: YUVImage, @unchecked Sendable {
    let frame: UnsafeMutablePointer<AVFrame>

    /// Presentation time in seconds from the start of the source (kept increasing across reconnects). Settable for a
    /// reader that puts frames from several files on one clock (stored segments that each start at zero).
    public var time: Double
    /// The frame's number in decode order, from 0.
    public let index: Int
    /// Audio demuxed since the previous frame, when the source keeps it (``SourceOptions/keepAudio``); else empty.
    public internal(set) var audio: [AudioPacket] = []

    public var width: Int { Int(frame.pointee.width) }
    public var height: Int { Int(frame.pointee.height) }

    /// Takes ownership of a YUV 4:2:0 AVFrame.
    init(taking frame: UnsafeMutablePointer<AVFrame>, time: Double, index: Int) {
        self.frame = frame
        self.time = time
        self.index = index
    }

    /// A new black frame (for tests and synthetic sources).
    public init(width: Int, height: Int, time: Double = 0, index: Int = 0) throws {
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0, let frame = av_frame_alloc() else {
            throw MediaError(.invalidArgument, "a frame needs even, positive dimensions")
        }
        frame.pointee.width = Int32(width)
        frame.pointee.height = Int32(height)
        frame.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        let status = av_frame_get_buffer(frame, 32)
        guard status >= 0 else {
            var pointer: UnsafeMutablePointer<AVFrame>? = frame
            av_frame_free(&pointer)
            throw MediaError(.invalidArgument, "cannot allocate a frame", ffmpeg: status)
        }
        self.frame = frame
        self.time = time
        self.index = index
        withWritablePlanes { planes in
            for row in 0..<height {
                planes.y.advanced(by: row * planes.yStride).initialize(repeating: 16, count: width)
            }
            for row in 0..<height / 2 {
                planes.u.advanced(by: row * planes.uStride).initialize(repeating: 128, count: width / 2)
                planes.v.advanced(by: row * planes.vStride).initialize(repeating: 128, count: width / 2)
            }
        }
    }

    /// Another frame on the same picture buffer: no pixels are copied until one of the two is painted
    /// (``withWritablePlanes(_:)`` gives the painter its own buffer first). One per audience of a camera, so each
    /// audience's redaction never shows in another's picture.
    public func sharingPicture() throws -> VideoFrame {
        guard let clone = av_frame_clone(frame) else { throw MediaError(.invalidArgument, "cannot reference a frame") }
        return VideoFrame(taking: clone, time: time, index: index)
    }

    deinit {
        var pointer: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&pointer)
    }

    /// The planes for reading: no copy, whoever else shares the decoder's buffer.
    public func withPlanes<T>(_ body: (YUVPlanes) throws -> T) rethrows -> T {
        try body(planes)
    }

    /// The planes for writing. A decoder may still reference this picture's buffer (as a reference frame), so
    /// it is made this frame's own first — a copy only when it is shared, and only for frames that get painted.
    public func withWritablePlanes<T>(_ body: (YUVPlanes) throws -> T) rethrows -> T {
        _ = av_frame_make_writable(frame)
        return try body(planes)
    }

    private var planes: YUVPlanes {
        YUVPlanes(
            y: frame.pointee.data.0!, u: frame.pointee.data.1!, v: frame.pointee.data.2!,
            yStride: Int(frame.pointee.linesize.0), uStride: Int(frame.pointee.linesize.1),
            vStride: Int(frame.pointee.linesize.2), width: width, height: height)
    }

    /// Packed RGB (3 bytes per pixel, rows without padding), for detectors. This is a conversion, not part of the
    /// encode path.
    public func rgb() throws -> [UInt8] {
        try convert(to: AV_PIX_FMT_RGB24, bytesPerPixel: 3)
    }

    func convert(to format: AVPixelFormat, bytesPerPixel: Int) throws -> [UInt8] {
        guard
            let context = sws_getContext(
                Int32(width), Int32(height), AV_PIX_FMT_YUV420P, Int32(width), Int32(height),
                format, Int32(SWS_BILINEAR), nil, nil, nil)
        else { throw MediaError(.decodeFailed, "cannot create a colour converter") }
        defer { sws_freeContext(context) }
        // swscale's SIMD writers may store a little past the end of a row whose length is not a multiple of their
        // vector width (kite.jpg, 1352 px wide, corrupted the heap): convert into rows padded to 64 bytes, with a
        // spare row's worth at the end, and pack them afterwards.
        let packed = width * bytesPerPixel, padded = (packed + 63) & ~63
        var staging = [UInt8](repeating: 0, count: padded * (height + 1))
        staging.withUnsafeMutableBufferPointer { buffer in
            var destination: [UnsafeMutablePointer<UInt8>?] = [buffer.baseAddress, nil, nil, nil]
            var strides: [Int32] = [Int32(padded), 0, 0, 0]
            withUnsafePointer(to: frame.pointee.data) { data in
                data.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { source in
                    withUnsafePointer(to: frame.pointee.linesize) { lines in
                        lines.withMemoryRebound(to: Int32.self, capacity: 8) { sourceStrides in
                            _ = sws_scale(context, source, sourceStrides, 0, Int32(height), &destination, &strides)
                        }
                    }
                }
            }
        }
        guard padded != packed else { return Array(staging.prefix(packed * height)) }
        var output = [UInt8]()
        output.reserveCapacity(packed * height)
        for row in 0..<height { output += staging[(row * padded)..<(row * padded + packed)] }
        return output
    }
}
