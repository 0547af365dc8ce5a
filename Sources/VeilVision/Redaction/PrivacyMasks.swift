import Foundation
public import VeilCore

/// A camera's privacy masks (a neighbour's windows, a private garden), painted flat grey over the picture in place.
///
/// The pipeline paints them on the decoded frame before anything else reads it — detectors, analytics, every
/// rendition, raw recording included — so nothing downstream can hold what they cover. Grey, not the black of a solid
/// redaction, so a viewer tells a fixed mask from a redacted object. Rounded outwards: a pixel the polygon touches is
/// painted. The rows' spans are worked out once per picture size; painting is a `memset` per span.
public final class PrivacyMasks: @unchecked Sendable {
    // @unchecked Sendable: one pipeline owns it; the span cache is its only mutable state.
    /// One polygon, in normalised picture coordinates (0–1), in order around the area.
    public struct Polygon: Sendable, Equatable {
        public var points: [SIMD2<Double>]
        public init(points: [SIMD2<Double>]) { self.points = points }
    }

    public let polygons: [Polygon]
    /// Luma 128, neutral chroma: mid grey.
    static let luma: UInt8 = 128, chroma: UInt8 = 128
    private var cache: (width: Int, height: Int, luma: [[ClosedRange<Int>]], chroma: [[ClosedRange<Int>]])?

    public init(polygons: [Polygon]) {
        self.polygons = polygons.filter { $0.points.count >= 3 }
    }

    public var isEmpty: Bool { polygons.isEmpty }

    /// Paints the masks over `image`.
    public func apply(to image: any YUVImage) {
        guard !polygons.isEmpty else { return }
        let spans = spans(width: image.width, height: image.height)
        image.withWritablePlanes { planes in
            for (row, ranges) in spans.luma.enumerated() {
                for range in ranges {
                    memset(planes.y + row * planes.yStride + range.lowerBound, Int32(Self.luma), range.count)
                }
            }
            for (row, ranges) in spans.chroma.enumerated() {
                for range in ranges {
                    memset(planes.u + row * planes.uStride + range.lowerBound, Int32(Self.chroma), range.count)
                    memset(planes.v + row * planes.vStride + range.lowerBound, Int32(Self.chroma), range.count)
                }
            }
        }
    }

    /// Whether the point (pixels of a `width` × `height` picture) lies under a mask: what analytics ignore.
    public func covers(x: Double, y: Double, width: Int, height: Int) -> Bool {
        let spans = spans(width: width, height: height)
        let row = Int(y)
        guard row >= 0, row < spans.luma.count else { return false }
        return spans.luma[row].contains { $0.contains(Int(x)) }
    }

    private func spans(width: Int, height: Int) -> (luma: [[ClosedRange<Int>]], chroma: [[ClosedRange<Int>]]) {
        if let cache, cache.width == width, cache.height == height { return (cache.luma, cache.chroma) }
        var luma = [[ClosedRange<Int>]](repeating: [], count: height)
        for polygon in polygons {
            let points = polygon.points.map { SIMD2($0.x * Double(width), $0.y * Double(height)) }
            for row in 0..<height {
                // Sampled at the row's top, middle and bottom, so a row the polygon only touches is painted too.
                for sample in [Double(row), Double(row) + 0.5, Double(row + 1)] {
                    luma[row] += Self.crossings(of: points, atY: sample).compactMap { span in
                        let start = max(0, Int(span.lowerBound.rounded(.down))),
                            end = min(width - 1, Int(span.upperBound.rounded(.up)))
                        return start <= end ? start...end : nil
                    }
                }
            }
        }
        luma = luma.map(Self.merged)
        let chromaWidth = (width + 1) / 2
        let chroma = (0..<((height + 1) / 2)).map { row in
            Self.merged(
                (luma[2 * row] + (2 * row + 1 < height ? luma[2 * row + 1] : [])).map {
                    ($0.lowerBound / 2)...min(chromaWidth - 1, ($0.upperBound + 1) / 2)
                })
        }
        cache = (width, height, luma, chroma)
        return (luma, chroma)
    }

    /// The x-intervals inside the polygon on the horizontal line at `y` (even-odd rule).
    static func crossings(of points: [SIMD2<Double>], atY y: Double) -> [ClosedRange<Double>] {
        var xs: [Double] = []
        for index in points.indices {
            let a = points[index], b = points[(index + 1) % points.count]
            guard a.y != b.y, min(a.y, b.y) <= y, y <= max(a.y, b.y) else { continue }
            // Half-open in y so a vertex shared by two edges is counted once.
            if y == max(a.y, b.y) { continue }
            xs.append(a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y))
        }
        xs.sort()
        return stride(from: 0, to: xs.count - 1, by: 2).map { xs[$0]...xs[$0 + 1] }
    }

    static func merged(_ ranges: [ClosedRange<Int>]) -> [ClosedRange<Int>] {
        var result: [ClosedRange<Int>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = result.last, range.lowerBound <= last.upperBound + 1 {
                result[result.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                result.append(range)
            }
        }
        return result
    }
}
