import Foundation
public import VeilCore

/// Moving, person-shaped regions of a fixed camera's picture, reported as people: the fail-closed fallback for
/// the ones the person network misses (too small, half hidden, merged into a group). Their heads are then
/// covered like any detected person's (``RedactionPipeline``), or the whole region when people are.
///
/// A running-average background over a coarse grid of luma cells (cells of about 1/160 of the width); cells that
/// differ from it are foreground, grown by one cell so a body's parts join, and grouped into connected regions.
/// Regions wider than tall (cars), tiny ones (noise) and huge ones are dropped, and when a third of the picture
/// changes at once (the camera moved, the lights changed) the background starts again and nothing is reported.
/// Pure Swift on the Y plane: about a millisecond per call at 720p.
public final class MotionDetector: ObjectDetector, @unchecked Sendable {
    // @unchecked Sendable: one owner calls it at a time.
    public let classes: Set<RedactionClass> = [.persons]

    public struct Configuration: Sendable {
        /// Luma difference (0–255) from the background that makes a cell foreground.
        public var threshold: Float = 18
        /// How fast the background follows the picture: the share of a change it absorbs per second of video
        /// (per second, not per call, so detecting more often — on motion, say — does not make a still person
        /// vanish into the background sooner: one standing out by 130 levels stays reported for about 11 s).
        public var learningPerSecond: Float = 0.16
        /// Grid width in cells.
        public var columns = 160
        /// Smallest region reported, in cells.
        public var minimumCells = 8
        public init() {}
    }

    public let configuration: Configuration
    private var background: [Float] = []
    private var lastTime = 0.0
    private var grid = LumaGrid()
    private var gridWidth = 0, gridHeight = 0, cell = 1, imageWidth = 0, imageHeight = 0

    public init(configuration: Configuration = Configuration()) { self.configuration = configuration }

    public func detect(in image: any YUVImage) throws -> [Detection] {
        let luma = cellMeans(of: image)
        let elapsed = image.time - lastTime
        lastTime = image.time
        guard background.count == luma.count, imageWidth == image.width, imageHeight == image.height, elapsed >= 0
        else {
            background = luma  // the first picture (or a new size, or a new source) is the background
            imageWidth = image.width
            imageHeight = image.height
            return []
        }
        var foreground = [Bool](repeating: false, count: luma.count)
        var changed = 0
        for index in luma.indices where abs(luma[index] - background[index]) > configuration.threshold {
            foreground[index] = true
            changed += 1
        }
        let rate = 1 - Float(pow(Double(1 - configuration.learningPerSecond), min(elapsed, 5)))
        if changed * 3 > luma.count {
            background = luma
            return []
        }
        for index in luma.indices { background[index] += rate * (luma[index] - background[index]) }
        return regions(in: dilated(foreground), counting: foreground).compactMap { region -> Detection? in
            let (x1, y1, x2, y2, cells) = region
            let width = x2 - x1 + 1, height = y2 - y1 + 1
            guard cells >= configuration.minimumCells, height >= width,
                width * height * 6 <= gridWidth * gridHeight  // larger than a sixth of the picture: not one person
            else { return nil }
            let box = Box(
                x1: Double(x1 * cell), y1: Double(y1 * cell), x2: Double(min(imageWidth, (x2 + 1) * cell)),
                y2: Double(min(imageHeight, (y2 + 1) * cell)))
            return Detection(kind: .persons, box: box, score: 0.5, isFallback: true)
        }
    }

    private func cellMeans(of image: any YUVImage) -> [Float] {
        let means = grid.means(of: image, columns: configuration.columns, step: 1)
        (gridWidth, gridHeight, cell) = (grid.width, grid.height, grid.cell)
        return means
    }

    private func dilated(_ mask: [Bool]) -> [Bool] {
        var result = mask
        for y in 0..<gridHeight {
            for x in 0..<gridWidth where mask[y * gridWidth + x] {
                for dy in -1...1 {
                    for dx in -1...1 {
                        let nx = x + dx, ny = y + dy
                        if nx >= 0, ny >= 0, nx < gridWidth, ny < gridHeight { result[ny * gridWidth + nx] = true }
                    }
                }
            }
        }
        return result
    }

    /// Connected regions (4-neighbour) as bounding boxes in cells, with how many `counted` cells each holds (the
    /// foreground before dilation, so one changed cell does not pass for a region of nine).
    private func regions(in mask: [Bool], counting counted: [Bool]) -> [(Int, Int, Int, Int, Int)] {
        var seen = [Bool](repeating: false, count: mask.count)
        var result: [(Int, Int, Int, Int, Int)] = []
        var stack: [Int] = []
        for start in mask.indices where mask[start] && !seen[start] {
            var x1 = Int.max, y1 = Int.max, x2 = 0, y2 = 0, cells = 0
            seen[start] = true
            stack.append(start)
            while let index = stack.popLast() {
                let x = index % gridWidth, y = index / gridWidth
                x1 = min(x1, x)
                y1 = min(y1, y)
                x2 = max(x2, x)
                y2 = max(y2, y)
                if counted[index] { cells += 1 }
                for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
                where nx >= 0 && ny >= 0 && nx < gridWidth && ny < gridHeight {
                    let next = ny * gridWidth + nx
                    if mask[next], !seen[next] {
                        seen[next] = true
                        stack.append(next)
                    }
                }
            }
            result.append((x1, y1, x2, y2, cells))
        }
        return result
    }
}
