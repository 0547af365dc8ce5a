public import VeilCore

/// Finds things that appeared in the scene and stay still — a bag set down, a box left by a door — without an object
/// detector: a pair of backgrounds over a coarse luma grid, one that learns over minutes (the scene as it was) and one
/// over seconds (the scene as it is now). Where the picture matches the short-term background but not the long-term
/// one, something new has come to rest; where both match, nothing changed; where neither does, something moves.
/// (Porikli's dual-background method; people standing still are found too, and the unattended-object analytic leaves
/// out whatever has a person near it.)
public struct StillObjectDetector: Sendable {
    public struct Settings: Sendable {
        /// Columns of the luma grid (its cells are square).
        public var columns = 96
        /// Seconds over which each background follows the picture (time constants).
        public var longTerm = 600.0
        public var shortTerm = 4.0
        /// Luma difference from the long-term background that makes a cell new…
        public var changed: Float = 18
        /// …and at most this from the short-term one, for it to be still.
        public var settled: Float = 6
        /// The fewest cells a still region has…
        public var minimumCells = 4
        /// …and the largest share of the picture it may cover: a larger one is the light changing, or a vehicle come to
        /// a stop, and the long-term background learns it at once.
        public var maximumShare = 0.03
        /// Look at the picture this often (seconds): backgrounds need no more.
        public var interval = 0.25

        public init() {}
    }

    /// A region that came to rest: its box (normalised: left, top, width, height), a number kept while it stays, and
    /// since when (video time) it has been still.
    public struct StillRegion: Sendable, Hashable {
        public var id: Int
        public var x: Double, y: Double, width: Double, height: Double
        public var since: Double
    }

    public let settings: Settings
    private var grid = LumaGrid()
    private var long: [Float] = []
    private var short: [Float] = []
    private var lastTime: Double?
    private var regions: [StillRegion] = []
    private var nextID = 1

    public init(settings: Settings = Settings()) { self.settings = settings }

    /// Takes a frame; returns the still regions now (the same as last time between looks).
    public mutating func update(_ image: any YUVImage) -> [StillRegion] {
        let time = image.time
        if let lastTime, time >= lastTime, time - lastTime < settings.interval { return regions }
        let elapsed = lastTime.map { max(0, time - $0) } ?? 0
        lastTime = time
        let means = grid.means(of: image, columns: settings.columns, step: 2)
        guard long.count == means.count, elapsed < 30 else {
            // The first look, a new picture size, or a long gap (a reconnect): both backgrounds start from here.
            (long, short, regions) = (means, means, [])
            return regions
        }
        let longRate = Float(min(1, elapsed / settings.longTerm)),
            shortRate = Float(min(1, elapsed / settings.shortTerm))
        var still = [Bool](repeating: false, count: means.count)
        for index in means.indices {
            still[index] =
                abs(means[index] - long[index]) > settings.changed
                && abs(means[index] - short[index]) < settings.settled
            short[index] += shortRate * (means[index] - short[index])
            // What is still stays new to the long-term background: it learns only where nothing has come to rest, so a
            // bag left for an hour is still a bag.
            if !still[index] { long[index] += longRate * (means[index] - long[index]) }
        }
        let found = components(still)
        let limit = Int(settings.maximumShare * Double(means.count))
        for box in found where box.cells > limit {
            for y in box.y1..<box.y2 {
                for x in box.x1..<box.x2 { long[y * grid.width + x] = means[y * grid.width + x] }
            }
        }
        regions = match(found.filter { $0.cells <= limit }, at: time)
        return regions
    }

    /// Boxes of 4-connected still cells, in grid cells.
    private func components(_ still: [Bool]) -> [(x1: Int, y1: Int, x2: Int, y2: Int, cells: Int)] {
        let (width, height) = (grid.width, grid.height)
        var seen = [Bool](repeating: false, count: still.count)
        var found: [(x1: Int, y1: Int, x2: Int, y2: Int, cells: Int)] = []
        for start in still.indices where still[start] && !seen[start] {
            var stack = [start]
            seen[start] = true
            var box = (x1: width, y1: height, x2: 0, y2: 0, cells: 0)
            while let cell = stack.popLast() {
                let (x, y) = (cell % width, cell / width)
                box = (min(box.x1, x), min(box.y1, y), max(box.x2, x + 1), max(box.y2, y + 1), box.cells + 1)
                for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
                where nx >= 0 && ny >= 0 && nx < width && ny < height {
                    let next = ny * width + nx
                    if still[next] && !seen[next] {
                        seen[next] = true
                        stack.append(next)
                    }
                }
            }
            if box.cells >= settings.minimumCells { found.append(box) }
        }
        return found
    }

    /// Keeps a region's number and age while it overlaps the one it was.
    private mutating func match(
        _ boxes: [(x1: Int, y1: Int, x2: Int, y2: Int, cells: Int)], at time: Double
    )
        -> [StillRegion]
    {
        let (width, height) = (Double(max(1, grid.width)), Double(max(1, grid.height)))
        var result: [StillRegion] = []
        for box in boxes {
            var region = StillRegion(
                id: 0, x: Double(box.x1) / width, y: Double(box.y1) / height, width: Double(box.x2 - box.x1) / width,
                height: Double(box.y2 - box.y1) / height, since: time)
            if let previous = regions.first(where: { Self.overlap($0, region) >= 0.3 }) {
                region.id = previous.id
                region.since = previous.since
            } else {
                region.id = nextID
                nextID += 1
            }
            result.append(region)
        }
        return result
    }

    static func overlap(_ a: StillRegion, _ b: StillRegion) -> Double {
        let w = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
        let h = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
        guard w > 0, h > 0 else { return 0 }
        return w * h / (a.width * a.height + b.width * b.height - w * h)
    }
}
