public import VeilCore

/// How much of a redacted picture was obscured that did not need to be: the counterweight to face coverage.
///
/// The reference definition is `../shared/tools/collateral.cpp`: the picture is cut into 16 × 16 blocks; a block is
/// *textured* when the original's Laplacian variance there is above a small floor (60), and *obscured* when the
/// redacted copy keeps less than 30 % of it. Blocks more than half inside a marked face grown 2× around its centre (a
/// head-sized allowance for hair and margins) do not count. Collateral = obscured textured blocks outside the
/// allowance ÷ textured blocks outside it. 0 means only faces were touched; 1 means the whole scene is gone.
///
/// Computed on the luma plane (the reference converts BGR to grey, which is the same signal up to the video range),
/// with the same 3 × 3 Laplacian kernel and reflected borders. A picture is measured in two steps — its
/// ``BlockDetail`` before redaction, then the comparison after — so a pipeline can measure in place without
/// keeping a copy of the frame.
public enum Collateral {
    public static let blockSize = 16
    /// Laplacian variance below which a block is flat: nothing there to lose.
    public static let texturedFloor: Float = 60
    /// Share of the original variance a block must keep not to count as obscured.
    public static let keptShare: Float = 0.3

    /// The Laplacian variance of every whole 16 × 16 block of a picture's luma, row by row.
    public struct BlockDetail: Sendable, Equatable {
        public let columns: Int
        public let rows: Int
        public let variances: [Float]
    }

    /// Textured and obscured blocks outside the allowance, summed over as many pictures as were measured.
    public struct Tally: Sendable, Equatable, CustomStringConvertible {
        public var textured = 0
        public var obscured = 0
        public init() {}

        public var fraction: Double { textured > 0 ? Double(obscured) / Double(textured) : 0 }
        public static func + (left: Tally, right: Tally) -> Tally {
            var sum = left
            sum.textured += right.textured
            sum.obscured += right.obscured
            return sum
        }
        public var description: String {
            "\(percent(fraction)) (\(obscured) of \(textured) textured blocks outside the faces obscured)"
        }
    }

    /// The share of a picture painted over outside the faces' allowance, whatever is there: the counterweight the
    /// texture measure lacks on flat ground — an oval over empty road hides little texture but is plain to see, and a
    /// cover that lingers where someone was is just that. `painted`: the boxes as painted (ellipses inscribed in them
    /// when `ellipses`); `faces`: marked faces or heads, each allowed grown 2× around its centre. Sampled every 4 px.
    public static func paintedOutside(
        _ painted: [Box], ellipses: Bool, faces: [Box], width: Int, height: Int
    ) -> Double {
        let allowances = faces.map { $0.expanded(by: 0.5) }
        let step = 4
        var inside = 0, total = 0
        for y in stride(from: step / 2, to: height, by: step) {
            for x in stride(from: step / 2, to: width, by: step) {
                total += 1
                let (px, py) = (Double(x), Double(y))
                guard !allowances.contains(where: { px >= $0.x1 && px <= $0.x2 && py >= $0.y1 && py <= $0.y2 }) else {
                    continue
                }
                let covered = painted.contains { box in
                    guard px >= box.x1, px <= box.x2, py >= box.y1, py <= box.y2 else { return false }
                    guard ellipses, box.width > 0, box.height > 0 else { return true }
                    let dx = (px - box.centreX) / (box.width / 2), dy = (py - box.centreY) / (box.height / 2)
                    return dx * dx + dy * dy <= 1
                }
                if covered { inside += 1 }
            }
        }
        return total > 0 ? Double(inside) / Double(total) : 0
    }

    public static func detail(of image: any YUVImage) -> BlockDetail {
        image.withPlanes { planes in
            let width = planes.width, height = planes.height, stride = planes.yStride
            let columns = width / blockSize, rows = height / blockSize
            var sums = [Double](repeating: 0, count: columns * rows), squares = sums
            guard columns > 0, rows > 0 else { return BlockDetail(columns: 0, rows: 0, variances: []) }
            let luma = planes.y
            // Reflect-101 borders, as OpenCV's default: index −1 reads 1, index n reads n − 2.
            func reflect(_ index: Int, _ count: Int) -> Int {
                index < 0 ? min(count - 1, -index) : (index >= count ? max(0, 2 * count - index - 2) : index)
            }
            for row in 0..<(rows * blockSize) {
                let above = luma + reflect(row - 1, height) * stride, line = luma + row * stride
                let below = luma + reflect(row + 1, height) * stride
                let blockRow = row / blockSize
                for blockColumn in 0..<columns {
                    var sum = 0.0, square = 0.0
                    let start = blockColumn * blockSize
                    for column in start..<(start + blockSize) {
                        let left = reflect(column - 1, width), right = reflect(column + 1, width)
                        let value = Double(
                            Int(above[column]) + Int(below[column]) + Int(line[left]) + Int(line[right])
                                - 4 * Int(line[column]))
                        sum += value
                        square += value * value
                    }
                    sums[blockRow * columns + blockColumn] += sum
                    squares[blockRow * columns + blockColumn] += square
                }
            }
            let count = Double(blockSize * blockSize)
            let variances = zip(sums, squares).map { sum, square in
                Float(max(0, square / count - (sum / count) * (sum / count)))
            }
            return BlockDetail(columns: columns, rows: rows, variances: variances)
        }
    }

    /// Compares a picture's detail after redaction with its detail before, outside `faces` grown by `grow`.
    public static func tally(before: BlockDetail, after: BlockDetail, faces: [Box], grow: Double = 2) -> Tally {
        var tally = Tally()
        guard before.columns == after.columns, before.rows == after.rows else { return tally }
        let allowed = faces.map { face in
            Box(
                x1: face.centreX - face.width * grow / 2, y1: face.centreY - face.height * grow / 2,
                x2: face.centreX + face.width * grow / 2, y2: face.centreY + face.height * grow / 2)
        }
        for row in 0..<before.rows {
            for column in 0..<before.columns {
                let block = Box(
                    x1: Double(column * blockSize), y1: Double(row * blockSize),
                    x2: Double((column + 1) * blockSize), y2: Double((row + 1) * blockSize))
                if allowedPixels(in: block, allowed) * 2 > blockSize * blockSize { continue }
                let original = before.variances[row * before.columns + column]
                guard original >= texturedFloor else { continue }
                tally.textured += 1
                if after.variances[row * after.columns + column] < keptShare * original { tally.obscured += 1 }
            }
        }
        return tally
    }

    /// Pixels of `block` inside any allowed box (the union, counted on the integer grid as the reference does).
    static func allowedPixels(in block: Box, _ allowed: [Box]) -> Int {
        let relevant = allowed.filter { $0.x2 > block.x1 && $0.x1 < block.x2 && $0.y2 > block.y1 && $0.y1 < block.y2 }
        guard !relevant.isEmpty else { return 0 }
        var count = 0
        for y in Int(block.y1)..<Int(block.y2) {
            for x in Int(block.x1)..<Int(block.x2) {
                // The reference truncates the grown box's corner and size to integers.
                if relevant.contains(where: { box in
                    let left = Int(box.x1), top = Int(box.y1)
                    return x >= left && x < left + Int(box.width) && y >= top && y < top + Int(box.height)
                }) {
                    count += 1
                }
            }
        }
        return count
    }

    static func percent(_ fraction: Double) -> String {
        let tenths = Int((fraction * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10) %"
    }
}
