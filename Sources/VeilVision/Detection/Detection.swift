public import VeilCore

/// A rectangle in image pixels.
public struct Box: Hashable, Sendable, Codable {
    public var x1: Double, y1: Double, x2: Double, y2: Double

    public init(x1: Double, y1: Double, x2: Double, y2: Double) {
        self.x1 = min(x1, x2)
        self.y1 = min(y1, y2)
        self.x2 = max(x1, x2)
        self.y2 = max(y1, y2)
    }

    public var width: Double { x2 - x1 }
    public var height: Double { y2 - y1 }
    public var area: Double { max(0, width) * max(0, height) }
    public var centreX: Double { (x1 + x2) / 2 }
    public var centreY: Double { (y1 + y2) / 2 }

    /// The area both boxes cover (0 when they are apart). Worked out on the edges themselves: a `Box` built from
    /// them would sort them, and turn the gap between two boxes apart into an "overlap".
    public func overlapArea(_ other: Box) -> Double {
        let width = min(x2, other.x2) - max(x1, other.x1), height = min(y2, other.y2) - max(y1, other.y1)
        return width > 0 && height > 0 ? width * height : 0
    }

    /// The share of this box's area that lies inside `other` (0 for an empty box).
    public func fraction(inside other: Box) -> Double { area > 0 ? overlapArea(other) / area : 0 }

    /// The distance between the two boxes' centres.
    public func centreDistance(to other: Box) -> Double {
        let dx = centreX - other.centreX, dy = centreY - other.centreY
        return (dx * dx + dy * dy).squareRoot()
    }

    public func intersectionOverUnion(_ other: Box) -> Double {
        let shared = overlapArea(other)
        let total = area + other.area - shared
        return total > 0 ? shared / total : 0
    }

    /// Whether `other` lies inside this box (up to `tolerance` pixels).
    public func contains(_ other: Box, tolerance: Double = 0) -> Bool {
        other.x1 >= x1 - tolerance && other.y1 >= y1 - tolerance && other.x2 <= x2 + tolerance
            && other.y2 <= y2 + tolerance
    }

    /// Grown by `fraction` of its size on every side.
    public func expanded(by fraction: Double) -> Box {
        Box(
            x1: x1 - width * fraction, y1: y1 - height * fraction, x2: x2 + width * fraction, y2: y2 + height * fraction
        )
    }

    public func offset(dx: Double, dy: Double) -> Box { Box(x1: x1 + dx, y1: y1 + dy, x2: x2 + dx, y2: y2 + dy) }

    public func clamped(width: Int, height: Int) -> Box {
        Box(
            x1: min(max(0, x1), Double(width)), y1: min(max(0, y1), Double(height)),
            x2: min(max(0, x2), Double(width)), y2: min(max(0, y2), Double(height)))
    }
}

/// Something a detector found: what it is, where, and how sure the detector is.
public struct Detection: Hashable, Sendable, Codable {
    public var kind: RedactionClass
    public var box: Box
    public var score: Double
    /// Found by a fallback that covers what the networks may have missed (the motion detector's moving regions), not
    /// by a network that recognised the object: enough to cover, not to count.
    public var isFallback: Bool

    public init(kind: RedactionClass, box: Box, score: Double, isFallback: Bool = false) {
        self.kind = kind
        self.box = box
        self.score = score
        self.isFallback = isFallback
    }

    /// The score a network gave it; 0 for a fallback's.
    public var networkScore: Double { isFallback ? 0 : score }
}

/// A detector of one or more redaction classes. Implementations own their native resources.
public protocol ObjectDetector: AnyObject, Sendable {
    /// The classes this detector finds.
    var classes: Set<RedactionClass> { get }
    func detect(in image: any YUVImage) throws -> [Detection]
}
