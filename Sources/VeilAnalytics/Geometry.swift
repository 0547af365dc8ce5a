public import VeilCore

/// A point in normalised picture coordinates: x from the left edge (0) to the right (1), y from the top (0) to the
/// bottom (1) — as the policy's zones and lines are written.
public struct Point: Hashable, Sendable {
    public var x: Double, y: Double
    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }

    func distance(to other: Point) -> Double {
        ((x - other.x) * (x - other.x) + (y - other.y) * (y - other.y)).squareRoot()
    }
}

/// A zone: a polygon in normalised coordinates.
public struct Zone: Sendable {
    public var id: ZoneID
    public var polygon: [Point]

    public init(id: ZoneID, polygon: [Point]) {
        self.id = id
        self.polygon = polygon
    }

    /// Whether `point` lies inside (even-odd rule; a point on an edge may fall either way, which the analytics'
    /// hysteresis absorbs).
    public func contains(_ point: Point) -> Bool {
        guard polygon.count >= 3 else { return false }
        var inside = false
        var previous = polygon[polygon.count - 1]
        for current in polygon {
            if (current.y > point.y) != (previous.y > point.y) {
                let crossing = (previous.x - current.x) * (point.y - current.y) / (previous.y - current.y) + current.x
                if point.x < crossing { inside.toggle() }
            }
            previous = current
        }
        return inside
    }
}

/// A counting line from `from` to `to`. Crossing it from its left to its right, as seen in the picture when looking
/// from `from` towards `to`, is counted **in**; the other way **out**.
public struct CountingLine: Sendable {
    public var id: ZoneID
    public var from: Point, to: Point

    public init(id: ZoneID, from: Point, to: Point) {
        self.id = id
        self.from = from
        self.to = to
    }

    /// Signed distance of `point` from the line (normalised units): positive on its right (picture coordinates, y
    /// down).
    func side(of point: Point) -> Double {
        let dx = to.x - from.x, dy = to.y - from.y
        let length = (dx * dx + dy * dy).squareRoot()
        guard length > 0 else { return 0 }
        return (dx * (point.y - from.y) - dy * (point.x - from.x)) / length
    }

    /// Whether the movement from `a` to `b` passes between the line's two ends (not beyond them).
    func isCrossedBetweenEnds(from a: Point, to b: Point) -> Bool {
        let sideA = side(of: a), sideB = side(of: b)
        guard sideA != sideB else { return false }
        let t = sideA / (sideA - sideB)
        let crossing = Point(x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t)
        let dx = to.x - from.x, dy = to.y - from.y
        let along = ((crossing.x - from.x) * dx + (crossing.y - from.y) * dy) / (dx * dx + dy * dy)
        return along >= 0 && along <= 1
    }
}
