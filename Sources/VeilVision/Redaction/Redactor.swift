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
            .map {
                (kind: $0.kind, box: $0.box.expanded(by: spec.margin).clamped(width: image.width, height: image.height))
            }
            .filter { $0.box.width >= 1 && $0.box.height >= 1 }
        guard !selected.isEmpty else { return [] }
        image.withWritablePlanes { planes in
            for (kind, box) in selected {
                // Ellipses fit heads; a plate is a rectangle, and an ellipse would leave its corner characters out.
                let shape = kind == .plates ? RedactionShape.box : spec.shape
                let x1 = Int(box.x1.rounded(.down)) & ~1, y1 = Int(box.y1.rounded(.down)) & ~1
                let x2 = min(planes.width, (Int(box.x2.rounded(.up)) + 1) & ~1)
                let y2 = min(planes.height, (Int(box.y2.rounded(.up)) + 1) & ~1)
                guard x2 > x1, y2 > y1 else { continue }
                paint(planes.y, stride: planes.yStride, x1: x1, y1: y1, x2: x2, y2: y2, fill: 16, shape: shape)
                paint(
                    planes.u, stride: planes.uStride, x1: x1 / 2, y1: y1 / 2, x2: x2 / 2, y2: y2 / 2, fill: 128,
                    shape: shape)
                paint(
                    planes.v, stride: planes.vStride, x1: x1 / 2, y1: y1 / 2, x2: x2 / 2, y2: y2 / 2, fill: 128,
                    shape: shape)
            }
        }
        return selected.map(\.box)
    }

    /// Covers the whole picture in the spec's mode, at a fixed coarseness of `block` pixels (a region's own cover
    /// scales with the region): the scene around a subject-access subject, legible as a scene, nobody in it
    /// recognisable.
    public func coverAll(of image: any YUVImage, block: Int) {
        let block = max(2, block)
        image.withWritablePlanes { planes in
            let width = planes.width & ~1, height = planes.height & ~1
            paint(
                planes.y, stride: planes.yStride, x1: 0, y1: 0, x2: width, y2: height, fill: 16, shape: .box,
                block: block)
            for (plane, stride) in [(planes.u, planes.uStride), (planes.v, planes.vStride)] {
                paint(
                    plane, stride: stride, x1: 0, y1: 0, x2: width / 2, y2: height / 2, fill: 128, shape: .box,
                    block: max(1, block / 2))
            }
        }
    }

    private func paint(
        _ plane: UnsafeMutablePointer<UInt8>, stride: Int, x1: Int, y1: Int, x2: Int, y2: Int, fill: UInt8,
        shape: RedactionShape, block: Int? = nil
    ) {
        let width = x2 - x1, height = y2 - y1
        guard width > 0, height > 0 else { return }
        let source: [UInt8]
        switch spec.mode {
        case .solid:
            source = [UInt8](repeating: fill, count: width * height)
        case .pixelate:
            source = Self.pixelated(
                plane, stride: stride, x1: x1, y1: y1, width: width, height: height,
                block: block ?? max(4, min(width, height) / 4))
        case .blur:
            // Only a few block means survive (irreversible), interpolated smoothly between block centres so it
            // reads as a blur rather than tiles. (Four box-blur passes did the same at several times the cost:
            // with many heads in a wide shot, painting was a tenth of the pipeline's time.)
            source = Self.smoothed(
                plane, stride: stride, x1: x1, y1: y1, width: width, height: height,
                block: block ?? max(4, min(width, height) * 2 / 5))
        }
        // Ellipse: only pixels inside the inscribed ellipse change (a box covers everything).
        let centreX = Double(width) / 2, centreY = Double(height) / 2
        for row in 0..<height {
            let line = plane.advanced(by: (y1 + row) * stride + x1)
            var from = 0, to = width
            if shape == .ellipse {
                let dy = (Double(row) + 0.5 - centreY) / centreY
                let half = dy * dy < 1 ? centreX * (1 - dy * dy).squareRoot() : 0
                from = max(0, Int((centreX - half).rounded(.down)))
                to = min(width, Int((centreX + half).rounded(.up)))
            }
            for column in from..<to { line[column] = source[row * width + column] }
        }
    }

    static func pixelated(
        _ plane: UnsafeMutablePointer<UInt8>, stride: Int, x1: Int, y1: Int, width: Int, height: Int,
        block: Int
    ) -> [UInt8] {
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

    /// The means of `block`-sized cells, interpolated between the cells' centres (bilinear with smoothstep weights,
    /// so the surface has no creases a sharpening filter could find).
    static func smoothed(
        _ plane: UnsafeMutablePointer<UInt8>, stride: Int, x1: Int, y1: Int, width: Int, height: Int,
        block: Int
    ) -> [UInt8] {
        let columns = (width + block - 1) / block, rows = (height + block - 1) / block
        var means = [Float](repeating: 0, count: columns * rows)
        for cellRow in 0..<rows {
            for cellColumn in 0..<columns {
                let left = cellColumn * block, top = cellRow * block
                let right = min(width, left + block), bottom = min(height, top + block)
                var sum = 0
                for row in top..<bottom {
                    let line = plane.advanced(by: (y1 + row) * stride + x1)
                    for column in left..<right { sum += Int(line[column]) }
                }
                means[cellRow * columns + cellColumn] = Float(sum) / Float((right - left) * (bottom - top))
            }
        }
        /// For each position along an axis: the two cells around it and the weight of the second.
        func weights(_ length: Int, _ cells: Int) -> [(Int, Int, Float)] {
            (0..<length).map { position in
                let grid = (Float(position) + 0.5) / Float(block) - 0.5
                let first = max(0, min(cells - 1, Int(grid.rounded(.down))))
                let second = min(cells - 1, first + 1)
                let t = max(0, min(1, grid - Float(first)))
                return (first, second, t * t * (3 - 2 * t))  // smoothstep: no crease at the cell centres
            }
        }
        let across = weights(width, columns), down = weights(height, rows)
        var output = [UInt8](repeating: 0, count: width * height)
        var line = [Float](repeating: 0, count: columns)
        output.withUnsafeMutableBufferPointer { output in
            for row in 0..<height {
                let (top, bottom, fraction) = down[row]
                for column in 0..<columns {
                    line[column] =
                        means[top * columns + column] * (1 - fraction) + means[bottom * columns + column] * fraction
                }
                for column in 0..<width {
                    let (left, right, weight) = across[column]
                    output[row * width + column] = UInt8(line[left] * (1 - weight) + line[right] * weight + 0.5)
                }
            }
        }
        return output
    }
}
