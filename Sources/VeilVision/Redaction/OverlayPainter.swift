public import VeilCore

/// Draws outlines on a picture for people to look at — zones, counting lines, privacy masks, tracked people — as
/// `veilgate analyse --overlay` shows an operator what the analytics see. Never on anything shared: an overlay is a
/// tuning aid. Pure Swift on the YUV planes; coordinates in pixels, lines `thickness` pixels wide.
public struct OverlayPainter: Sendable {
    /// A colour as video levels (BT.601 limited range).
    public struct Colour: Sendable, Equatable {
        public var y: UInt8, u: UInt8, v: UInt8

        public init(red: Double, green: Double, blue: Double) {
            let y = 16 + 65.481 * red + 128.553 * green + 24.966 * blue
            let u = 128 - 37.797 * red - 74.203 * green + 112.0 * blue
            let v = 128 + 112.0 * red - 93.786 * green - 18.214 * blue
            self.y = UInt8(max(16, min(235, y.rounded())))
            self.u = UInt8(max(16, min(240, u.rounded())))
            self.v = UInt8(max(16, min(240, v.rounded())))
        }

        public static let zone = Colour(red: 1, green: 0.85, blue: 0)
        public static let line = Colour(red: 0, green: 0.85, blue: 1)
        public static let mask = Colour(red: 1, green: 0, blue: 1)
        public static let person = Colour(red: 0.2, green: 1, blue: 0.2)
        public static let alert = Colour(red: 1, green: 0.1, blue: 0.1)
    }

    public var thickness: Int

    public init(thickness: Int = 2) { self.thickness = max(1, thickness) }

    /// A closed polygon's outline.
    public func polygon(_ points: [SIMD2<Double>], colour: Colour, on image: any YUVImage) {
        guard points.count >= 2 else { return }
        for index in points.indices {
            line(from: points[index], to: points[(index + 1) % points.count], colour: colour, on: image)
        }
    }

    /// A box's outline.
    public func box(_ box: Box, colour: Colour, on image: any YUVImage) {
        polygon(
            [SIMD2(box.x1, box.y1), SIMD2(box.x2, box.y1), SIMD2(box.x2, box.y2), SIMD2(box.x1, box.y2)],
            colour: colour, on: image)
    }

    /// A straight line, `thickness` wide, clipped to the picture.
    public func line(from start: SIMD2<Double>, to end: SIMD2<Double>, colour: Colour, on image: any YUVImage) {
        image.withWritablePlanes { planes in
            let length = max(abs(end.x - start.x), abs(end.y - start.y))
            let steps = max(1, Int(length.rounded(.up)))
            let half = thickness / 2
            for step in 0...steps {
                let fraction = Double(step) / Double(steps)
                let x = Int((start.x + (end.x - start.x) * fraction).rounded())
                let y = Int((start.y + (end.y - start.y) * fraction).rounded())
                for dy in -half..<(thickness - half) {
                    for dx in -half..<(thickness - half) { plot(x + dx, y + dy, colour, planes) }
                }
            }
        }
    }

    private func plot(_ x: Int, _ y: Int, _ colour: Colour, _ planes: YUVPlanes) {
        guard x >= 0, y >= 0, x < planes.width, y < planes.height else { return }
        planes.y[y * planes.yStride + x] = colour.y
        planes.u[(y / 2) * planes.uStride + x / 2] = colour.u
        planes.v[(y / 2) * planes.vStride + x / 2] = colour.v
    }
}
