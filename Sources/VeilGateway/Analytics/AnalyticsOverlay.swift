public import VeilAnalytics
public import VeilMedia
public import VeilPolicy
public import VeilVision

/// What `veilgate analyse --overlay` draws on a camera's redacted video: what its analytics see, for the operator
/// tuning zones and lines. Never on anything shared.
public enum AnalyticsOverlay {
    /// Zones, lines and mask outlines from the camera's policy entry (normalised to the picture), and the people (and,
    /// with vehicle-dwell, the vehicles) tracked — red while an alert names them.
    public static func draw(
        on frame: VideoFrame, camera entry: PolicyDocument.Camera, masks: PrivacyMasks?, people: [TrackedObject],
        alerted: Set<Int>
    ) {
        let painter = OverlayPainter(thickness: max(2, frame.height / 240))
        let (width, height) = (Double(frame.width), Double(frame.height))
        func pixels(_ x: Double, _ y: Double) -> SIMD2<Double> { SIMD2(x * width, y * height) }
        for polygon in masks?.polygons ?? [] {
            painter.polygon(polygon.points.map { pixels($0.x, $0.y) }, colour: .mask, on: frame)
        }
        for zone in entry.zones {
            painter.polygon(zone.polygon.map { pixels($0.x, $0.y) }, colour: .zone, on: frame)
        }
        for line in entry.lines {
            painter.line(
                from: pixels(line.from.x, line.from.y), to: pixels(line.to.x, line.to.y), colour: .line, on: frame)
        }
        for person in people {
            painter.box(
                Box(
                    x1: person.x * width, y1: person.y * height, x2: (person.x + person.width) * width,
                    y2: (person.y + person.height) * height),
                colour: alerted.contains(person.track) ? .alert : .person, on: frame)
        }
    }
}
