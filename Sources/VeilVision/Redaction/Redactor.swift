public import VeilCore

/// Paints redaction over boxes, in place on a picture's YUV planes: solid fill, pixelation or a strong blur,
/// in a box or an ellipse, with a margin. No copy of the frame is made; only the covered regions are touched.
public struct Redactor: Sendable {
    public let spec: RedactionSpec

    public init(spec: RedactionSpec) { self.spec = spec }

    /// Applies the spec to every box whose class the spec covers. Returns the boxes actually painted.
    @discardableResult
    public func apply(to image: any YUVImage, boxes: [(kind: RedactionClass, box: Box)]) -> [Box] {
        let selected = boxes.filter { spec.classes.contains($0.kind) }
            .map { $0.box.expanded(by: spec.margin).clamped(width: image.width, height: image.height) }
            .filter { $0.width >= 1 && $0.height >= 1 }
        guard !selected.isEmpty else { return [] }
        image.withWritablePlanes { planes in
            for box in selected {
                let x1 = Int(box.x1.rounded(.down)) & ~1, y1 = Int(box.y1.rounded(.down)) & ~1
                let x2 = min(planes.width, (Int(box.x2.rounded(.up)) + 1) & ~1)
                let y2 = min(planes.height, (Int(box.y2.rounded(.up)) + 1) & ~1)
                guard x2 > x1, y2 > y1 else { continue }
                paint(planes.y, stride: planes.yStride, x1: x1, y1: y1, x2: x2, y2: y2, fill: 16)
                paint(planes.u, stride: planes.uStride, x1: x1 / 2, y1: y1 / 2, x2: x2 / 2, y2: y2 / 2, fill: 128)
                paint(planes.v, stride: planes.vStride, x1: x1 / 2, y1: y1 / 2, x2: x2 / 2, y2: y2 / 2, fill: 128)
            }
        }
        return selected
    }

    private func paint(_ plane: UnsafeMutablePointer<UInt8>, stride: Int, x1: Int, y1: Int, x2: Int, y2: Int, fill: UInt8) {
        let width = x2 - x1, height = y2 - y1
        guard width > 0, height > 0 else { return }
        let source: [UInt8]
        switch spec.mode {
        case .solid:
            source = [UInt8](repeating: fill, count: width * height)
        case .pixelate:
            source = Self.pixelated(plane, stride: stride, x1: x1, y1: y1, width: width, height: height,
                                    block: max(4, min(width, height) / 4))
        case .blur:
            // Averaging over blocks and then smoothing twice: irreversible, and reads as a blur rather than tiles.
            let block = max(4, min(width, height) * 2 / 5)
            var region = Self.pixelated(plane, stride: stride, x1: x1, y1: y1, width: width, height: height, block: block)
            Self.boxBlur(&region, width: width, height: height, radius: max(2, block / 2))
            Self.boxBlur(&region, width: width, height: height, radius: max(2, block / 2))
            source = region
        }
        // Ellipse: only pixels inside the inscribed ellipse change (a box covers everything).
        let centreX = Double(width) / 2, centreY = Double(height) / 2
        for row in 0..<height {
            let line = plane.advanced(by: (y1 + row) * stride + x1)
            var from = 0, to = width
            if spec.shape == .ellipse {
                let dy = (Double(row) + 0.5 - centreY) / centreY
                let half = dy * dy < 1 ? centreX * (1 - dy * dy).squareRoot() : 0
                from = max(0, Int((centreX - half).rounded(.down)))
                to = min(width, Int((centreX + half).rounded(.up)))
            }
            for column in from..<to { line[column] = source[row * width + column] }
        }
    }

    static func pixelated(_ plane: UnsafeMutablePointer<UInt8>, stride: Int, x1: Int, y1: Int, width: Int, height: Int,
                          block: Int) -> [UInt8]
    {
        var output = [UInt8](repeating: 0, count: width * height)
        var blockY = 0
        while blockY < height {
            let blockHeight = min(block, height - blockY)
            var blockX = 0
            while blockX < width {
                let blockWidth = min(block, width - blockX)
                var sum = 0
                for row in blockY..<(blockY + blockHeight) {
                    let line = plane.advanced(by: (y1 + row) * stride + x1)
                    for column in blockX..<(blockX + blockWidth) { sum += Int(line[column]) }
                }
                let mean = UInt8(sum / (blockWidth * blockHeight))
                for row in blockY..<(blockY + blockHeight) {
                    for column in blockX..<(blockX + blockWidth) { output[row * width + column] = mean }
                }
                blockX += block
            }
            blockY += block
        }
        return output
    }

    /// A separable box blur with running sums: O(pixels) whatever the radius. One 1-D pass along the rows,
    /// one along the columns.
    static func boxBlur(_ pixels: inout [UInt8], width: Int, height: Int, radius: Int) {
        var temporary = pixels
        for row in 0..<height {
            blurLine(from: pixels, into: &temporary, start: row * width, step: 1, length: width, radius: radius)
        }
        for column in 0..<width {
            blurLine(from: temporary, into: &pixels, start: column, step: width, length: height, radius: radius)
        }
    }

    /// Averages each of `length` samples, `step` apart from `start`, over a window of `radius` on either side.
    private static func blurLine(from source: [UInt8], into target: inout [UInt8], start: Int, step: Int, length: Int,
                                 radius: Int)
    {
        var sum = 0, count = 0
        for index in 0..<min(length, radius + 1) { sum += Int(source[start + index * step]); count += 1 }
        for index in 0..<length {
            target[start + index * step] = UInt8(sum / count)
            let add = index + radius + 1, remove = index - radius
            if add < length { sum += Int(source[start + add * step]); count += 1 }
            if remove >= 0 { sum -= Int(source[start + remove * step]); count -= 1 }
        }
    }
}
