import VeilAnalytics
import VeilCore
import VeilPolicy
import VeilVision

extension CameraAnalytics.Setup {
    /// A camera's analytics as its policy entry declares them (only those this build runs), or nil when it lists none
    /// of them.
    init?(_ camera: PolicyDocument.Camera, thresholds: CameraAnalytics.Thresholds = CameraAnalytics.Thresholds()) {
        self.init(camera: camera.id, analytics: Set(camera.analytics),
                  zones: camera.zones.map { Zone(id: $0.id, polygon: $0.polygon.map { Point(x: $0.x, y: $0.y) }) },
                  lines: camera.lines.map { CountingLine(id: $0.id, from: Point(x: $0.from.x, y: $0.from.y), to: Point(x: $0.to.x, y: $0.to.y)) },
                  thresholds: thresholds)
        guard !analytics.isEmpty else { return nil }
    }
}

extension TrackedObject {
    /// The people a redaction tracker follows in a `width` × `height` frame, normalised, for the analytics. Tracks seen
    /// lately only: a lost track's grown cover is redaction's business, not a person's place.
    static func people(in tracked: [RedactionTracker.Covered], width: Int, height: Int) -> [TrackedObject] {
        let width = Double(width), height = Double(height)
        return tracked.filter { $0.kind == .persons && $0.unseenFor <= 0.5 }.map {
            TrackedObject(track: $0.track, x: $0.box.x1 / width, y: $0.box.y1 / height, width: $0.box.width / width,
                          height: $0.box.height / height)
        }
    }
}

extension PrivacyMasks.Polygon {
    /// A camera's privacy masks as its policy entry declares them.
    static func of(_ camera: PolicyDocument.Camera) -> [PrivacyMasks.Polygon] {
        camera.masks.map { PrivacyMasks.Polygon(points: $0.polygon.map { SIMD2($0.x, $0.y) }) }
    }
}
