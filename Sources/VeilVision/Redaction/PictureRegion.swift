public import VeilCore

/// The pixels of a box of a picture (luma and chroma, on even coordinates), to put back after the picture was painted,
/// or onto another picture: the subject of a subject access kept in the clear, an unmask layer's crops.
public struct PictureRegion: Sendable {
    public let x1: Int, y1: Int, x2: Int, y2: Int
    private var luma: [UInt8] = [], u: [UInt8] = [], v: [UInt8] = []
    public var width: Int { x2 - x1 }
    public var height: Int { y2 - y1 }

    public init(copying box: Box, of picture: any YUVImage) {
        let clamped = box.clamped(width: picture.width, height: picture.height)
        x1 = Int(clamped.x1.rounded(.down)) & ~1
        y1 = Int(clamped.y1.rounded(.down)) & ~1
        x2 = min(picture.width & ~1, (Int(clamped.x2.rounded(.up)) + 1) & ~1)
        y2 = min(picture.height & ~1, (Int(clamped.y2.rounded(.up)) + 1) & ~1)
        guard x2 > x1, y2 > y1 else { return }
        let (x1, y1, x2, y2) = (x1, y1, x2, y2)
        (luma, u, v) = picture.withPlanes { planes in
            var luma: [UInt8] = [], u: [UInt8] = [], v: [UInt8] = []
            for row in y1..<y2 {
                luma += UnsafeBufferPointer(start: planes.y + row * planes.yStride + x1, count: x2 - x1)
            }
            for row in y1 / 2..<y2 / 2 {
                u += UnsafeBufferPointer(start: planes.u + row * planes.uStride + x1 / 2, count: (x2 - x1) / 2)
                v += UnsafeBufferPointer(start: planes.v + row * planes.vStride + x1 / 2, count: (x2 - x1) / 2)
            }
            return (luma, u, v)
        }
    }

    /// Puts the pixels back where they were.
    public func paste(into picture: any YUVImage) { paste(into: picture, x: x1, y: y1) }

    /// Puts the pixels at (`x`, `y`) (even) of another picture, clipped to it: a crop onto a track's canvas, or back.
    public func paste(into picture: any YUVImage, x: Int, y: Int) {
        guard x2 > x1, y2 > y1 else { return }
        let (x, y) = (x & ~1, y & ~1)
        picture.withWritablePlanes { planes in
            let width = x2 - x1
            let columns = max(0, min(width, (planes.width & ~1) - x))
            for row in 0..<min(y2 - y1, (planes.height & ~1) - y) {
                for column in 0..<columns {
                    planes.y[(y + row) * planes.yStride + x + column] = luma[row * width + column]
                }
            }
            for row in 0..<min((y2 - y1) / 2, planes.height / 2 - y / 2) {
                for column in 0..<columns / 2 {
                    planes.u[(y / 2 + row) * planes.uStride + x / 2 + column] = u[row * width / 2 + column]
                    planes.v[(y / 2 + row) * planes.vStride + x / 2 + column] = v[row * width / 2 + column]
                }
            }
        }
    }
}
