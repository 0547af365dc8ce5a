import VeilAnalytics
import VeilCore
import VeilPolicy

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
