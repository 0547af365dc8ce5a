public import VeilCore

/// Says when something new starts moving between two scheduled detections, so the detectors run at once instead
/// of up to N − 1 frames later: a face walking into the picture is covered from (about) its first frame, not from
/// the next scheduled detection.
///
/// "New" keeps the cost bounded: a cell of a coarse luma grid that changed since the previous frame counts only if
/// neither it nor a cell next to it changed in the last ``Configuration/memory`` seconds (motion that continues — a
/// person already walking, a tree swaying, a camera that repeats frames — does not trigger again and again) and it
/// lies outside every box already covered (tracked objects are the tracker's business). A change over a third of the
/// picture (lights, a camera that moved) triggers too: after that, nothing known can be trusted. Pure Swift on a sample
/// of the Y plane, a fraction of a millisecond at 720p.
public final class MotionTrigger: @unchecked Sendable {
    // @unchecked Sendable: one pipeline owns it.
    public struct Configuration: Sendable {
        /// Luma difference (0–255) between two frames that makes a cell changed.
        public var threshold: Float = 12
        /// Grid width in cells.
        public var columns = 80
        /// New changed cells needed to trigger.
        public var minimumCells = 2
        /// How long (seconds of video) a cell that changed stays "moving" for its neighbourhood.
        public var memory = 1.0
        public init() {}
    }

    public let configuration: Configuration
    private var previous: [Float] = []
    /// When each cell last changed (video time), and the frame time seen last.
    private var lastChanged: [Double] = []
    private var lastTime = -Double.infinity
    private var grid = LumaGrid()
    private var gridWidth = 0, gridHeight = 0, cell = 1, imageWidth = 0, imageHeight = 0

    public init(configuration: Configuration = Configuration()) { self.configuration = configuration }

    /// Takes the frame in and says whether something new moves in it outside `covered` (boxes in pixels).
    public func somethingNew(in image: any YUVImage, outside covered: [Box]) -> Bool {
        let luma = cellMeans(of: image)
        defer { previous = luma }
        let now = image.time
        defer { lastTime = now }
        guard previous.count == luma.count, imageWidth == image.width, imageHeight == image.height, now >= lastTime
        else {
            imageWidth = image.width
            imageHeight = image.height
            lastChanged = [Double](repeating: -.infinity, count: luma.count)
            return false
        }
        var changed = [Bool](repeating: false, count: luma.count)
        var changedCount = 0
        for index in luma.indices where abs(luma[index] - previous[index]) > configuration.threshold {
            changed[index] = true
            changedCount += 1
        }
        // Where something moved lately (grown by a cell), as it was before this frame.
        let recent = Self.grown(
            lastChanged.map { now - $0 <= configuration.memory }, width: gridWidth, height: gridHeight)
        for index in luma.indices where changed[index] { lastChanged[index] = now }
        if changedCount * 3 > luma.count { return true }
        var fresh = 0
        for index in luma.indices where changed[index] && !recent[index] {
            let x = Double((index % gridWidth) * cell) + Double(cell) / 2,
                y = Double((index / gridWidth) * cell) + Double(cell) / 2
            if covered.contains(where: { x >= $0.x1 && x <= $0.x2 && y >= $0.y1 && y <= $0.y2 }) { continue }
            fresh += 1
            if fresh >= configuration.minimumCells { return true }
        }
        return false
    }

    private func cellMeans(of image: any YUVImage) -> [Float] {
        let means = grid.means(of: image, columns: configuration.columns, step: 2)
        (gridWidth, gridHeight, cell) = (grid.width, grid.height, grid.cell)
        return means
    }

    static func grown(_ mask: [Bool], width: Int, height: Int) -> [Bool] {
        var result = mask
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] {
                for ny in max(0, y - 1)...min(height - 1, y + 1) {
                    for nx in max(0, x - 1)...min(width - 1, x + 1) { result[ny * width + nx] = true }
                }
            }
        }
        return result
    }
}
