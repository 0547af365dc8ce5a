import Foundation
public import VeilAnalytics
public import VeilCore
public import VeilPolicy
public import VeilVision

extension CameraAnalytics.Setup {
    /// A camera's analytics as its policy entry declares them (only those this build runs), with its thresholds and its
    /// zones' own, or nil when it lists none of them. `overriding` is applied last, to the camera's and every zone's.
    public init?(_ camera: PolicyDocument.Camera, overriding: (inout CameraAnalytics.Thresholds) -> Void = { _ in }) {
        var base = CameraAnalytics.Thresholds(camera.thresholds)
        overriding(&base)
        var zoneThresholds: [ZoneID: CameraAnalytics.Thresholds] = [:]
        for zone in camera.zones where zone.thresholds != PolicyDocument.AnalyticThresholds() {
            var own = CameraAnalytics.Thresholds(zone.thresholds.over(camera.thresholds))
            overriding(&own)
            zoneThresholds[zone.id] = own
        }
        self.init(
            camera: camera.id, analytics: Set(camera.analytics),
            zones: camera.zones.map { Zone(id: $0.id, polygon: $0.polygon.map { Point(x: $0.x, y: $0.y) }) },
            lines: camera.lines.map {
                CountingLine(id: $0.id, from: Point(x: $0.from.x, y: $0.from.y), to: Point(x: $0.to.x, y: $0.to.y))
            },
            thresholds: base, zoneThresholds: zoneThresholds)
        guard !analytics.isEmpty else { return nil }
    }
}

extension CameraAnalytics.Thresholds {
    /// The built-in defaults, with what a policy's `thresholds:` sets.
    public init(_ policy: PolicyDocument.AnalyticThresholds) {
        self.init()
        if let value = policy.restrictedAfter { restrictedDwell = Double(value.seconds) }
        if let value = policy.restrictedRearm { restrictedRearm = Double(value.seconds) }
        if let value = policy.loiteringAfter { loiteringAfter = Double(value.seconds) }
        if let value = policy.crowdPeople { crowdThreshold = value }
        if let value = policy.crowdHold { crowdHold = Double(value.seconds) }
        if let value = policy.runningSpeed { runningSpeed = value }
        if let value = policy.runningHold { runningHold = Double(value.seconds) }
        if let value = policy.unattendedAfter { unattendedAfter = Double(value.seconds) }
        if let value = policy.vehicleDwellAfter { vehicleDwellAfter = Double(value.seconds) }
    }
}

extension CompiledPolicy {
    /// The policy's entry for camera `id`, or an error for `option` that names the cameras the policy has.
    public func camera(_ id: String, for option: String) throws -> PolicyDocument.Camera {
        guard let entry = document.cameras.first(where: { $0.id.rawValue == id }) else {
            throw GatewayError(
                .invalidConfiguration,
                "\(option): '\(id)' is not a camera of the policy (\(document.cameras.map(\.id.rawValue).sorted().joined(separator: ", ")))"
            )
        }
        return entry
    }
}

extension PrivacyMasks {
    /// A policy camera's masks, ready to paint; nil for a camera without any.
    public convenience init?(_ camera: PolicyDocument.Camera) {
        let polygons = Polygon.of(camera)
        guard !polygons.isEmpty else { return nil }
        self.init(polygons: polygons)
    }
}

extension PrivacyMasks.Polygon {
    /// A camera's privacy masks as its policy entry declares them.
    public static func of(_ camera: PolicyDocument.Camera) -> [PrivacyMasks.Polygon] {
        camera.masks.map { PrivacyMasks.Polygon(points: $0.polygon.map { SIMD2($0.x, $0.y) }) }
    }
}

extension CameraAnalytics {
    /// Whether alerts of `kind` come from `camera` on this site, and when, in words (for `veilgate policy explain`): a
    /// grant can allow a kind the camera never raises, and a DPO should see that.
    public static func explain(_ kind: AlertKind, on camera: PolicyDocument.Camera, zone: ZoneID?) -> [String] {
        guard let analytic = Analytic(rawValue: kind.rawValue) else {
            return ["'\(kind)' is no analytic of this gateway: only a peer site's or a hand-raised alert can be of it"]
        }
        guard camera.analytics.contains(analytic) else {
            return [
                "camera \(camera.id) does not list \(kind) in its analytics: this site raises no such alert for it "
                    + "(a peer site's or a hand-raised one may still be shared)"
            ]
        }
        guard Setup.supported.contains(analytic) else {
            return ["camera \(camera.id) lists \(kind), but this build does not run it yet: no such alert is raised"]
        }
        var lines: [String] = []
        let areas = Set(camera.zones.map(\.id.rawValue) + camera.lines.map(\.id.rawValue))
        if let zone, !areas.contains(zone.rawValue) {
            lines.append("'\(zone)' is not a zone or line of camera \(camera.id): no alert of it is raised")
        }
        guard let setup = Setup(camera) else { return lines }
        let thresholds = zone.flatMap { setup.zoneThresholds[$0] } ?? setup.thresholds
        let when: String =
            switch analytic {
            case .restrictedZone:
                "a person inside a zone for \(Self.seconds(thresholds.restrictedDwell)), once until the zone has been "
                    + "empty for \(Self.seconds(thresholds.restrictedRearm))"
            case .loitering:
                "one person in a zone for \(Self.seconds(thresholds.loiteringAfter)) (lost for up to "
                    + "\(Self.seconds(thresholds.occlusionGap)) and found nearby: the same visit)"
            case .crowdCount:
                "\(thresholds.crowdThreshold) people or more in a zone for \(Self.seconds(thresholds.crowdHold)); "
                    + "occupancy counted per minute"
            case .lineCrossing: "each crossing of a line, in or out, counted per minute"
            case .running:
                "someone moving at \(thresholds.runningSpeed) body heights a second or faster for "
                    + "\(Self.seconds(thresholds.runningHold))"
            case .unattendedObject:
                "something that came to rest in a zone and stayed still, with nobody near it, for "
                    + "\(Self.seconds(thresholds.unattendedAfter))"
            case .loudSound:
                "a bang 20 dB over the camera's own baseline (the median of its last 30 s of sound) and louder than "
                    + "−20 dBFS, or shouting 12 dB over it for 1.5 s; the sound is measured in memory, never kept for this"
            case .vehicleDwell:
                "a vehicle (a car, van, lorry, bus or motorbike: boxes only, no make, colour or plate) in a zone for "
                    + "\(Self.seconds(thresholds.vehicleDwellAfter)), once per stay"
            case .watchlistMatch:
                "a plate read on the camera matches a partner's watchlist (kept as keyed hashes only); the alert "
                    + "carries that partner's reference, never the plate, and goes to that partner alone"
            default: "as the analytic decides"
            }
        lines.insert("raised by this site's analytics on camera \(camera.id): \(when)", at: 0)
        return lines
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }
}
