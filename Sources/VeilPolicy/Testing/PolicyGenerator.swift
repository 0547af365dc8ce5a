/// Writes large synthetic policies for the benchmark and the scale tests: `cameras` cameras and `partners`
/// partners, each partner holding live, clip, alert and counts grants over a slice of the cameras, plus
/// deny rules and time windows so that every evaluation path is exercised.
public enum PolicyGenerator {
    public static func policy(cameras: Int, partners: Int) -> String {
        var lines = [
            "veilgate: policy/v1",
            "metadata:",
            "  controller: Benchmark City",
            "  dpo: {name: Benchmark DPO, email: dpo@bench.example}",
            "  dpia: DPIA-BENCH",
            "  version: bench",
            "  effective: 2026-01-01",
            "  site: bench",
            "  timezone: Europe/Berlin",
            "purposes:",
            "  - id: safety",
            "    description: Detect incidents endangering people in the benchmark city's public spaces",
            "    basis: public-task",
            "cameras:",
        ]
        for camera in 0..<cameras {
            lines += [
                "  - id: camera-\(camera)",
                "    source: rtsp://10.\(camera / 250).\(camera % 250).1/stream",
                "    purposes: [safety]",
                "    produces: [redacted-video, events, counts]",
                "    analytics: [loitering, crowd-count]",
                "    zones: [{id: zone-\(camera), polygon: [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]}]",
            ]
        }
        lines += [
            "retention:",
            "  rules:",
            "    - {id: redacted-7d, cameras: \"*\", category: redacted-video, duration: 7d}",
            "    - {id: events-30d, cameras: \"*\", category: events, duration: 30d}",
            "    - {id: counts-1y, cameras: \"*\", category: counts, duration: 365d}",
            "redaction:",
            "  default: standard",
            "  profiles:",
            "    - {id: standard, classes: [faces, plates]}",
            "    - {id: strict, classes: [faces, plates, persons], mode: solid}",
            "partners:",
        ]
        let slice = max(1, cameras / 5)
        for partner in 0..<partners {
            let own = (0..<slice).map { "camera-\((partner * 7 + $0) % cameras)" }.joined(separator: ", ")
            lines += [
                "  - id: partner-\(partner)",
                "    organisation: Partner \(partner)",
                "    role: agency",
                "    identity: {uri: \"spiffe://bench.example/partner/\(partner)\"}",
                "    agreement: DSA-\(partner)",
                "    grants:",
                "      - {id: p\(partner)-live, action: live, purpose: safety, cameras: [\(own)], expires: 2030-12-31}",
                "      - {id: p\(partner)-live-night, action: live, purpose: safety, cameras: [\(own)], redaction: strict, windows: [{days: [fri, sat], from: \"22:00\", to: \"04:00\"}], expires: 2030-12-31}",
                "      - {id: p\(partner)-clips, action: clip, purpose: safety, cameras: [\(own)], max-age: 72h, expires: 2030-12-31}",
                "      - {id: p\(partner)-alerts, action: alert, purpose: safety, cameras: [\(own)], kinds: [loitering, crowd-count], expires: 2030-12-31}",
                "      - {id: p\(partner)-counts, action: counts, purpose: safety, cameras: \"*\", expires: 2030-12-31}",
            ]
        }
        lines += [
            "deny:",
            "  - {id: deny-maintenance, partners: \"*\", actions: [live], cameras: [camera-0, camera-1], windows: [{days: [sun], from: \"02:00\", to: \"03:00\"}], reason: maintenance}",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
