import Foundation
public import VeilCore

/// Rewrites one camera's `zones:` and `lines:` in a policy's text — what the console's zone editor proposes — leaving
/// every other line as the DPO wrote it. The result is a draft: it is linted, compared with the policy in force and
/// signed like any other change; nothing here deploys it.
public enum GeometryEdit {
    public struct Zone: Sendable, Equatable {
        public var id: String
        public var polygon: [NormalisedPoint]
        public init(id: String, polygon: [NormalisedPoint]) {
            self.id = id
            self.polygon = polygon
        }
    }

    public struct Line: Sendable, Equatable {
        public var id: String
        public var from: NormalisedPoint
        public var to: NormalisedPoint
        public init(id: String, from: NormalisedPoint, to: NormalisedPoint) {
            self.id = id
            self.from = from
            self.to = to
        }
    }

    /// The policy text with `camera`'s zones and lines replaced. A zone that keeps its id keeps its thresholds. Throws
    /// ``PolicyError`` when the text does not parse or has no such camera.
    public static func replacing(
        in text: String, camera id: CameraID, zones: [Zone], lines: [Line], file: String = "policy.yaml"
    ) throws -> String {
        let (parsed, diagnostics) = PolicyParser.parse(Data(text.utf8), file: file)
        guard let document = parsed else {
            throw PolicyError(.invalidPolicy, "\(file) does not parse", diagnostics: diagnostics)
        }
        guard let camera = document.cameras.first(where: { $0.id == id }) else {
            throw PolicyError(.invalidPolicy, "\(file) has no camera '\(id)'", diagnostics: [])
        }
        var source = text.components(separatedBy: "\n")
        // The camera's keys sit at the column of its `id` key (1-based columns, 0-based indentation).
        let indent = max(0, (camera.keyLocations["id"] ?? camera.location).column - 1)
        let pad = String(repeating: " ", count: indent)
        let previous = Dictionary(camera.zones.map { ($0.id.rawValue, $0) }, uniquingKeysWith: { first, _ in first })
        var zoneBlock: [String] = []
        if !zones.isEmpty {
            zoneBlock.append(pad + "zones:")
            for zone in zones {
                zoneBlock.append(pad + "  - id: \(zone.id)")
                zoneBlock.append(pad + "    polygon: [\(zone.polygon.map(point).joined(separator: ", "))]")
                if let thresholds = previous[zone.id].flatMap({ flow($0.thresholds) }) {
                    zoneBlock.append(pad + "    thresholds: \(thresholds)")
                }
            }
        }
        var lineBlock: [String] = []
        if !lines.isEmpty {
            lineBlock.append(pad + "lines:")
            for line in lines {
                lineBlock.append(pad + "  - id: \(line.id)")
                lineBlock.append(pad + "    from: \(point(line.from))")
                lineBlock.append(pad + "    to: \(point(line.to))")
            }
        }
        // Replace from the bottom up, so the earlier block's line numbers still hold.
        var edits: [(key: String, block: [String])] = [("zones", zoneBlock), ("lines", lineBlock)]
        edits.sort { (camera.keyLocations[$0.key]?.line ?? 0) > (camera.keyLocations[$1.key]?.line ?? 0) }
        for (key, block) in edits {
            if let location = camera.keyLocations[key] {
                let start = location.line - 1
                let end = blockEnd(from: start, indent: indent, in: source)
                source.replaceSubrange(start..<end, with: block)
            } else if !block.isEmpty {
                // A new key: after the camera's last line.
                let start = (camera.keyLocations["id"] ?? camera.location).line - 1
                let end = cameraEnd(from: start, indent: indent, in: source)
                source.insert(contentsOf: block, at: end)
            }
        }
        return source.joined(separator: "\n")
    }

    static func point(_ point: NormalisedPoint) -> String {
        "[\(number(point.x)), \(number(point.y))]"
    }

    /// Three decimals: a thousandth of the picture is finer than anyone draws.
    static func number(_ value: Double) -> String {
        let rounded = (min(1, max(0, value)) * 1000).rounded() / 1000
        return rounded == rounded.rounded() ? String(format: "%.1f", rounded) : String(format: "%g", rounded)
    }

    /// The line after a key's block: the first later line that is neither blank, a comment, nor indented deeper (a
    /// list item at the key's own indentation, YAML's compact style, still belongs to it).
    static func blockEnd(from start: Int, indent: Int, in source: [String]) -> Int {
        var index = start + 1
        while index < source.count {
            let line = source[index]
            let trimmed = line.drop { $0 == " " }
            let depth = line.count - trimmed.count
            if trimmed.isEmpty || trimmed.hasPrefix("#") || depth > indent
                || (depth == indent && trimmed.hasPrefix("- "))
            {
                index += 1
                continue
            }
            break
        }
        // Trailing blank lines and comments belong to what follows.
        while index - 1 > start, source[index - 1].trimmingCharacters(in: .whitespaces).isEmpty { index -= 1 }
        return index
    }

    /// The line after the camera's mapping: the first later line indented less than its keys.
    static func cameraEnd(from start: Int, indent: Int, in source: [String]) -> Int {
        var index = start + 1
        while index < source.count {
            let line = source[index]
            let trimmed = line.drop { $0 == " " }
            if !trimmed.isEmpty, !trimmed.hasPrefix("#"), line.count - trimmed.count < indent { break }
            index += 1
        }
        while index - 1 > start, source[index - 1].trimmingCharacters(in: .whitespaces).isEmpty { index -= 1 }
        return index
    }

    /// A zone's thresholds in flow style, as the policy language writes them; nil for none.
    static func flow(_ value: PolicyDocument.AnalyticThresholds) -> String? {
        func entry(_ kind: String, _ fields: [(String, String?)]) -> String? {
            let set = fields.compactMap { name, value in value.map { "\(name): \($0)" } }
            return set.isEmpty ? nil : "\(kind): {\(set.joined(separator: ", "))}"
        }
        let parts = [
            entry(
                "restricted-zone",
                [("after", value.restrictedAfter?.description), ("rearm", value.restrictedRearm?.description)]),
            entry("loitering", [("after", value.loiteringAfter?.description)]),
            entry(
                "crowd-count", [("people", value.crowdPeople.map(String.init)), ("hold", value.crowdHold?.description)]),
            entry(
                "running", [("speed", value.runningSpeed.map { "\($0)" }), ("hold", value.runningHold?.description)]),
            entry("unattended-object", [("after", value.unattendedAfter?.description)]),
            entry("vehicle-dwell", [("after", value.vehicleDwellAfter?.description)]),
        ].compactMap { $0 }
        return parts.isEmpty ? nil : "{\(parts.joined(separator: ", "))}"
    }
}
