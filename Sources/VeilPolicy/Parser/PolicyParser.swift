public import Foundation
import VeilCore
internal import Yams

/// Turns a policy file into a ``PolicyDocument`` and the structural diagnostics found on the way.
///
/// The parser is total: whatever the bytes, it returns (possibly partial) document and diagnostics,
/// never traps. The fuzz test in `VeilPolicyTests` holds it to that.
public enum PolicyParser {
    /// The header every policy file starts with.
    public static let header = "policy/v1"

    public static func parse(_ data: Data, file: String) -> (PolicyDocument?, [PolicyDiagnostic]) {
        let reader = YAMLReader(file: file)
        guard let root = reader.compose(data) else { return (nil, reader.diagnostics) }
        let document = DocumentBuilder(reader: reader).build(root)
        return (document, reader.diagnostics)
    }
}

/// Reads each section of the policy language; the key lists here are the language's grammar and are
/// mirrored in `docs/policy-language.md`.
struct DocumentBuilder {
    let reader: YAMLReader

    static let topKeys = [
        "veilgate", "metadata", "purposes", "cameras", "retention", "redaction", "partners", "deny",
        "operators",
    ]
    static let metadataKeys = [
        "controller", "dpo", "dpia", "version", "effective", "site", "timezone", "security", "transfers", "map",
    ]
    static let mapKeys = ["tiles", "attribution"]
    static let positionKeys = ["lat", "lon", "heading"]
    static let dpoKeys = ["name", "email"]
    static let purposeKeys = ["id", "description", "basis", "assessment", "special-category"]
    static let cameraKeys = [
        "id", "site", "description", "source", "credentials", "purposes", "produces", "analytics", "audio",
        "zones", "lines", "masks", "thresholds", "position",
    ]
    static let credentialKeys = ["file", "env"]
    static let zoneKeys = ["id", "polygon", "thresholds"]
    /// What each analytic's thresholds are, and the ranges they must lie in.
    static let thresholdKeys: [Analytic: [String]] = [
        .restrictedZone: ["after", "rearm"], .loitering: ["after"], .crowdCount: ["people", "hold"],
        .running: ["speed", "hold"], .unattendedObject: ["after"], .vehicleDwell: ["after"],
    ]
    static let maskKeys = ["id", "polygon"]
    static let lineKeys = ["id", "from", "to"]
    static let retentionKeys = ["rules", "legal-hold", "unmasking"]
    static let unmaskingKeys = ["approvers"]
    static let unmaskApproverKeys = ["role", "key"]
    static let retentionRuleKeys = ["id", "cameras", "category", "event-kinds", "duration", "justification"]
    static let legalHoldKeys = ["requires-case-reference", "max-duration", "approvers"]
    static let redactionKeys = ["default", "profiles"]
    static let profileKeys = ["id", "extends", "classes", "mode", "shape", "margin"]
    static let partnerKeys = ["id", "organisation", "role", "identity", "agreement", "grants"]
    static let identityKeys = ["uri", "fingerprint", "trusted-ca"]
    static let grantKeys = [
        "id", "action", "purpose", "cameras", "redaction", "windows", "expires", "max-age", "justification",
        "kinds", "zones", "fields", "legal-ground", "reshare",
    ]
    static let windowKeys = ["days", "from", "to"]
    static let denyKeys = ["id", "partners", "actions", "cameras", "windows", "reason"]
    static let operatorKeys = ["name", "roles"]

    /// Grant keys that only make sense for one action.
    static let actionSpecificGrantKeys: [String: Set<SharingActionKind>] = [
        "max-age": [.clip], "justification": [.live, .clip], "kinds": [.alert], "zones": [.alert], "fields": [.alert],
        "redaction": [.live, .clip, .alert], "legal-ground": [.live, .clip, .alert],
    ]

    func build(_ root: Node) -> PolicyDocument? {
        guard let top = reader.mapping(root, "the policy", keys: Self.topKeys) else { return nil }
        guard let versionNode = reader.required(top, "veilgate", "a policy file") else { return nil }
        guard let version = reader.string(versionNode, "veilgate"), version == PolicyParser.header else {
            reader.error(
                .unsupportedVersion,
                "expected 'veilgate: \(PolicyParser.header)'; this Veilgate reads version 1 policies",
                at: versionNode)
            return nil
        }
        var document = PolicyDocument(file: reader.file, metadata: .init(location: top.location))
        if let node = reader.required(top, "metadata", "a policy") { document.metadata = metadata(node) }
        document.purposes = list(top["purposes"], "purposes", purpose)
        document.cameras = list(top["cameras"], "cameras", camera)
        if let node = top["retention"] { document.retention = retention(node) }
        if let node = top["redaction"] { document.redaction = redaction(node) }
        document.partners = list(top["partners"], "partners", partner)
        document.denies = list(top["deny"], "deny", deny)
        document.operators = list(top["operators"], "operators", consoleOperator)
        return document
    }

    func list<T>(_ node: Node?, _ what: String, _ element: (Node) -> T?) -> [T] {
        guard let node, let items = reader.sequence(node, what) else { return [] }
        return items.compactMap(element)
    }

    // MARK: Sections

    private func metadata(_ node: Node) -> PolicyDocument.Metadata {
        var metadata = PolicyDocument.Metadata(location: reader.location(node))
        guard let map = reader.mapping(node, "metadata", keys: Self.metadataKeys) else { return metadata }
        metadata.controller =
            reader.required(map, "controller", "metadata").flatMap { reader.string($0, "controller") } ?? ""
        if let dpoNode = reader.required(map, "dpo", "metadata"),
            let dpo = reader.mapping(dpoNode, "dpo", keys: Self.dpoKeys)
        {
            metadata.dpoName = reader.required(dpo, "name", "dpo").flatMap { reader.string($0, "dpo name") } ?? ""
            metadata.dpoEmail = reader.required(dpo, "email", "dpo").flatMap { reader.string($0, "dpo email") } ?? ""
        }
        metadata.dpia = map["dpia"].flatMap { reader.string($0, "dpia") }
        metadata.version = reader.required(map, "version", "metadata").flatMap { reader.string($0, "version") } ?? ""
        metadata.effective = reader.required(map, "effective", "metadata").flatMap { reader.date($0, "effective") }
        metadata.site = reader.required(map, "site", "metadata").flatMap { reader.string($0, "site") } ?? ""
        if let zoneNode = map["timezone"], let name = reader.string(zoneNode, "timezone") {
            if let zone = TimeZone(identifier: name) {
                metadata.timeZone = zone
            } else {
                reader.error(
                    .invalidValue, "timezone '\(name.prefix(64))' is not an IANA time zone such as Europe/Berlin",
                    at: zoneNode)
            }
        }
        if let node = map["security"], let items = reader.sequence(node, "security") {
            metadata.securityMeasures = items.compactMap { reader.string($0, "security measure") }
        }
        if let node = map["transfers"], let items = reader.sequence(node, "transfers") {
            metadata.transfers = items.compactMap { reader.string($0, "transfer") }
        }
        if let node = map["map"] { metadata.map = siteMap(node) }
        return metadata
    }

    private func siteMap(_ node: Node) -> PolicyDocument.SiteMap? {
        guard let map = reader.mapping(node, "map", keys: Self.mapKeys),
            let tilesNode = reader.required(map, "tiles", "map"), let tiles = reader.string(tilesNode, "tiles")
        else { return nil }
        guard PolicyDocument.SiteMap.isTileTemplate(tiles) else {
            reader.error(
                .invalidValue,
                "map tiles must be an https:// URL template with {z}, {x} and {y}, e.g. https://tiles.city.example/{z}/{x}/{y}.png (no user name or password)",
                at: tilesNode)
            return nil
        }
        let attribution = map["attribution"].flatMap { reader.string($0, "attribution") } ?? ""
        return PolicyDocument.SiteMap(tiles: tiles, attribution: attribution)
    }

    private func position(_ node: Node) -> PolicyDocument.MapPosition? {
        guard let map = reader.mapping(node, "position", keys: Self.positionKeys) else { return nil }
        func coordinate(_ key: String, _ what: String, within limit: Double) -> Double? {
            guard let valueNode = reader.required(map, key, "position"),
                let value = reader.number(valueNode, what)
            else { return nil }
            guard abs(value) <= limit else {
                reader.error(.invalidValue, "\(what) must be between -\(Int(limit)) and \(Int(limit))", at: valueNode)
                return nil
            }
            return value
        }
        let latitude = coordinate("lat", "latitude", within: 90)
        let longitude = coordinate("lon", "longitude", within: 180)
        var heading: Double?
        if let headingNode = map["heading"], let value = reader.number(headingNode, "heading") {
            if value >= 0 && value < 360 {
                heading = value
            } else {
                reader.error(.invalidValue, "heading is degrees clockwise from north, 0 up to 360", at: headingNode)
            }
        }
        guard let latitude, let longitude else { return nil }
        return PolicyDocument.MapPosition(latitude: latitude, longitude: longitude, heading: heading)
    }

    private func purpose(_ node: Node) -> PolicyDocument.Purpose? {
        guard let map = reader.mapping(node, "a purpose", keys: Self.purposeKeys),
            let id = reader.required(map, "id", "a purpose").flatMap({
                reader.identifier($0, "purpose id", as: PurposeID.self)
            })
        else { return nil }
        var purpose = PolicyDocument.Purpose(id: id, location: map.location)
        purpose.description =
            reader.required(map, "description", "purpose '\(id)'").flatMap {
                reader.string($0, "description")
            } ?? ""
        if let basis = map["basis"] {
            purpose.basis = reader.enumeration(basis, "basis", as: LawfulBasis.self)
        } else {
            reader.error(
                .purposeWithoutBasis,
                "purpose '\(id)' has no lawful basis; add 'basis:' (one of \(LawfulBasis.allCases.map(\.rawValue).joined(separator: ", ")))",
                at: map.location)
        }
        purpose.assessment = map["assessment"].flatMap { reader.string($0, "assessment") }
        purpose.specialCategory = map["special-category"].flatMap {
            reader.enumeration($0, "special-category", as: SpecialCategoryException.self)
        }
        return purpose
    }

    private func camera(_ node: Node) -> PolicyDocument.Camera? {
        guard let map = reader.mapping(node, "a camera", keys: Self.cameraKeys),
            let id = reader.required(map, "id", "a camera").flatMap({
                reader.identifier($0, "camera id", as: CameraID.self)
            })
        else { return nil }
        var camera = PolicyDocument.Camera(id: id, location: map.location)
        for key in Self.cameraKeys where map.has(key) {
            camera.keyLocations[key] = map.keyLocation(key, reader: reader)
        }
        camera.site = map["site"].flatMap { reader.string($0, "site") } ?? ""
        camera.description = map["description"].flatMap { reader.string($0, "description") } ?? ""
        camera.source = reader.required(map, "source", "camera '\(id)'").flatMap { reader.string($0, "source") } ?? ""
        if let node = map["credentials"],
            let credentials = reader.mapping(node, "credentials", keys: Self.credentialKeys)
        {
            if let file = credentials["file"].flatMap({ reader.string($0, "credentials file") }) {
                camera.credentials = .file(file)
            } else if let name = credentials["env"].flatMap({ reader.string($0, "credentials env") }) {
                camera.credentials = .environment(name)
            } else {
                reader.error(.missingKey, "credentials need 'file' or 'env'", at: credentials.location)
            }
        }
        camera.purposes = map["purposes"].map { reader.identifiers($0, "purpose", as: PurposeID.self) } ?? []
        camera.produces =
            map["produces"].map { reader.enumerations($0, "data category", as: DataCategory.self) }
            ?? [.redactedVideo]
        camera.analytics = map["analytics"].map { reader.enumerations($0, "analytic", as: Analytic.self) } ?? []
        camera.audio = map["audio"].flatMap { reader.bool($0, "audio") } ?? false
        camera.zones = list(map["zones"], "zones", zone)
        camera.lines = list(map["lines"], "lines", line)
        camera.masks = list(map["masks"], "masks", mask)
        camera.position = map["position"].flatMap(position)
        if let node = map["thresholds"] {
            camera.thresholds = thresholds(
                node, for: "camera '\(camera.id)'",
                allowed: [.restrictedZone, .loitering, .crowdCount, .running, .unattendedObject, .vehicleDwell])
        }
        return camera
    }

    private func zone(_ node: Node) -> PolicyDocument.Zone? {
        guard let area = area(node, noun: "zone") else { return nil }
        var zone = PolicyDocument.Zone(id: area.id, polygon: area.polygon, location: area.location)
        if let thresholds = area.map["thresholds"] {
            // A zone's own: only the analytics judged per zone.
            zone.thresholds = self.thresholds(
                thresholds, for: "zone '\(zone.id)'",
                allowed: [.restrictedZone, .loitering, .crowdCount, .unattendedObject, .vehicleDwell])
        }
        return zone
    }

    /// `thresholds:` — per analytic, a mapping of its thresholds, each within a range that makes sense (a loitering
    /// time of two seconds is a typo, a crowd of one is not a crowd).
    private func thresholds(_ node: Node, for owner: String, allowed: [Analytic]) -> PolicyDocument.AnalyticThresholds {
        var result = PolicyDocument.AnalyticThresholds()
        guard let map = reader.mapping(node, "thresholds of \(owner)", keys: allowed.map(\.rawValue)) else {
            return result
        }
        func duration(_ node: Node?, _ what: String, within range: ClosedRange<Int64>) -> PolicyDuration? {
            guard let node, let value = reader.duration(node, what) else { return nil }
            guard range.contains(value.seconds) else {
                reader.error(
                    .impossibleValue,
                    "\(what) \(value) must be from \(PolicyDuration(seconds: range.lowerBound)) to \(PolicyDuration(seconds: range.upperBound))",
                    at: node)
                return nil
            }
            return value
        }
        func number(_ node: Node?, _ what: String, within range: ClosedRange<Double>) -> Double? {
            guard let node, let value = reader.number(node, what) else { return nil }
            guard range.contains(value) else {
                reader.error(
                    .impossibleValue, "\(what) \(value) must be from \(range.lowerBound) to \(range.upperBound)",
                    at: node)
                return nil
            }
            return value
        }
        for analytic in allowed {
            guard let node = map[analytic.rawValue] else { continue }
            result.locations[analytic] = reader.location(node)
            guard
                let entry = reader.mapping(
                    node, "\(analytic.rawValue) thresholds of \(owner)", keys: Self.thresholdKeys[analytic] ?? [])
            else { continue }
            let name = "\(analytic.rawValue) of \(owner):"
            switch analytic {
            case .restrictedZone:
                result.restrictedAfter = duration(entry["after"], "\(name) after", within: 1...3600)
                result.restrictedRearm = duration(entry["rearm"], "\(name) rearm", within: 1...3600)
            case .loitering:
                result.loiteringAfter = duration(entry["after"], "\(name) after", within: 10...86_400)
            case .crowdCount:
                result.crowdPeople = number(entry["people"], "\(name) people", within: 2...10_000).map { Int($0) }
                result.crowdHold = duration(entry["hold"], "\(name) hold", within: 1...3600)
            case .running:
                result.runningSpeed = number(
                    entry["speed"], "\(name) speed (body heights per second)", within: 0.5...10)
                result.runningHold = duration(entry["hold"], "\(name) hold", within: 1...60)
            case .unattendedObject:
                result.unattendedAfter = duration(entry["after"], "\(name) after", within: 5...3600)
            case .vehicleDwell:
                // From a minute (a drop-off lane) to a week (a long-stay car park).
                result.vehicleDwellAfter = duration(entry["after"], "\(name) after", within: 60...604_800)
            default:
                break
            }
        }
        return result
    }

    private func mask(_ node: Node) -> PolicyDocument.Mask? {
        area(node, noun: "mask").map { PolicyDocument.Mask(id: $0.id, polygon: $0.polygon, location: $0.location) }
    }

    /// A named polygon (a zone, a privacy mask): at least three points inside the picture, and a simple polygon — one
    /// whose edges cross gives an area nobody meant (a bow tie), so it is refused with the edges that cross.
    private func area(
        _ node: Node, noun: String
    ) -> (id: ZoneID, polygon: [NormalisedPoint], location: SourceLocation, map: YAMLReader.Mapping)? {
        guard let map = reader.mapping(node, "a \(noun)", keys: noun == "mask" ? Self.maskKeys : Self.zoneKeys),
            let id = reader.required(map, "id", "a \(noun)").flatMap({
                reader.identifier($0, "\(noun) id", as: ZoneID.self)
            }),
            let polygonNode = reader.required(map, "polygon", "\(noun) '\(id)'"),
            let points = reader.sequence(polygonNode, "polygon")
        else { return nil }
        let polygon = points.compactMap { reader.point($0, "polygon point") }
        guard polygon.count == points.count else { return nil }
        guard polygon.count >= 3 else {
            reader.error(.impossibleValue, "\(noun) '\(id)' needs a polygon of at least 3 points", at: polygonNode)
            return nil
        }
        if let (first, second) = NormalisedPoint.crossingEdges(of: polygon) {
            reader.error(
                .impossibleValue,
                "\(noun) '\(id)': the polygon crosses itself (edge \(first + 1)–\(first + 2) crosses edge \(second + 1)–\((second + 1) % polygon.count + 1)); list its points in order around it",
                at: polygonNode)
            return nil
        }
        return (id, polygon, map.location, map)
    }

    private func line(_ node: Node) -> PolicyDocument.CountingLine? {
        guard let map = reader.mapping(node, "a line", keys: Self.lineKeys),
            let id = reader.required(map, "id", "a line").flatMap({ reader.identifier($0, "line id", as: ZoneID.self) }
            ),
            let from = reader.required(map, "from", "line '\(id)'").flatMap({ reader.point($0, "from") }),
            let to = reader.required(map, "to", "line '\(id)'").flatMap({ reader.point($0, "to") })
        else { return nil }
        guard from != to else {
            reader.error(.impossibleValue, "line '\(id)' starts and ends at the same point", at: map.location)
            return nil
        }
        return PolicyDocument.CountingLine(id: id, from: from, to: to, location: map.location)
    }

    private func consoleOperator(_ node: Node) -> PolicyDocument.Operator? {
        guard let map = reader.mapping(node, "an operator", keys: Self.operatorKeys),
            let id = reader.required(map, "name", "an operator").flatMap({
                reader.identifier($0, "operator name", as: OperatorID.self)
            })
        else { return nil }
        var entry = PolicyDocument.Operator(id: id, location: map.location)
        if let roles = reader.required(map, "roles", "operator '\(id)'") {
            entry.roles = reader.enumerations(roles, "role", as: OperatorRole.self)
        }
        return entry
    }

    private func retention(_ node: Node) -> PolicyDocument.RetentionSection {
        var section = PolicyDocument.RetentionSection()
        guard let map = reader.mapping(node, "retention", keys: Self.retentionKeys) else { return section }
        section.rules = list(map["rules"], "retention rules", retentionRule)
        if let node = map["legal-hold"], let hold = reader.mapping(node, "legal-hold", keys: Self.legalHoldKeys) {
            if let value = hold["requires-case-reference"].flatMap({ reader.bool($0, "requires-case-reference") }) {
                section.legalHold.requiresCaseReference = value
            }
            section.legalHold.maxDuration = hold["max-duration"].flatMap { reader.duration($0, "max-duration") }
            if let node = hold["approvers"], let items = reader.sequence(node, "approvers") {
                section.legalHold.approvers = items.compactMap { reader.string($0, "approver") }
            }
        }
        if let node = map["unmasking"], let unmasking = reader.mapping(node, "unmasking", keys: Self.unmaskingKeys) {
            var rules = PolicyDocument.Unmasking(location: unmasking.location)
            if let node = reader.required(unmasking, "approvers", "unmasking"),
                let items = reader.sequence(node, "approvers")
            {
                rules.approvers = items.compactMap(unmaskApprover)
            }
            section.unmasking = rules
        }
        return section
    }

    private func unmaskApprover(_ node: Node) -> PolicyDocument.Unmasking.Approver? {
        guard let map = reader.mapping(node, "an unmasking approver", keys: Self.unmaskApproverKeys),
            let role = reader.required(map, "role", "an unmasking approver").flatMap({ reader.string($0, "role") }),
            let keyNode = reader.required(map, "key", "approver '\(role)'"), let key = reader.string(keyNode, "key")
        else { return nil }
        let hex = Set("0123456789abcdef")
        guard key.count == 64, key.lowercased().allSatisfy({ hex.contains($0) }) else {
            reader.error(
                .invalidValue,
                "approver '\(role)': 'key' must be the 64 hex digits of the approver's public key (made by `veilgate vault approver-key`)",
                at: keyNode)
            return nil
        }
        return .init(role: role, key: key.lowercased(), location: map.location)
    }

    private func retentionRule(_ node: Node) -> PolicyDocument.RetentionRule? {
        guard let map = reader.mapping(node, "a retention rule", keys: Self.retentionRuleKeys),
            let id = reader.required(map, "id", "a retention rule").flatMap({
                reader.identifier($0, "rule id", as: RuleID.self)
            })
        else { return nil }
        var rule = PolicyDocument.RetentionRule(id: id, location: map.location)
        for key in Self.retentionRuleKeys where map.has(key) {
            rule.keyLocations[key] = map.keyLocation(key, reader: reader)
        }
        rule.cameras = map["cameras"].map { reader.selector($0, "camera", as: CameraID.self) } ?? .all
        guard
            let category = reader.required(map, "category", "retention rule '\(id)'").flatMap({
                reader.enumeration($0, "category", as: DataCategory.self)
            }),
            let duration = reader.required(map, "duration", "retention rule '\(id)'").flatMap({
                reader.duration($0, "duration")
            })
        else { return nil }
        rule.category = category
        rule.duration = duration
        if let node = map["event-kinds"], let items = reader.sequence(node, "event-kinds") {
            rule.eventKinds = items.compactMap { reader.string($0, "event kind").map(AlertKind.init) }
            if category != .events {
                reader.error(
                    .misplacedKey, "event-kinds applies only to rules for the 'events' category",
                    at: map.keyLocation("event-kinds", reader: reader))
            }
        }
        rule.justification = map["justification"].flatMap { reader.string($0, "justification") }
        return rule
    }

    private func redaction(_ node: Node) -> PolicyDocument.RedactionSection {
        var section = PolicyDocument.RedactionSection()
        guard let map = reader.mapping(node, "redaction", keys: Self.redactionKeys) else { return section }
        section.defaultProfile = reader.required(map, "default", "redaction").flatMap {
            reader.located($0, "default profile", as: RuleID.self)
        }
        section.profiles = list(map["profiles"], "redaction profiles", profile)
        return section
    }

    private func profile(_ node: Node) -> PolicyDocument.RedactionProfile? {
        guard let map = reader.mapping(node, "a redaction profile", keys: Self.profileKeys),
            let id = reader.required(map, "id", "a redaction profile").flatMap({
                reader.identifier($0, "profile id", as: RuleID.self)
            })
        else { return nil }
        var profile = PolicyDocument.RedactionProfile(id: id, location: map.location)
        profile.extends = map["extends"].flatMap { reader.located($0, "extends", as: RuleID.self) }
        profile.classes = map["classes"].map { reader.enumerations($0, "redaction class", as: RedactionClass.self) }
        profile.mode = map["mode"].flatMap { reader.enumeration($0, "mode", as: RedactionMode.self) }
        profile.shape = map["shape"].flatMap { reader.enumeration($0, "shape", as: RedactionShape.self) }
        if let marginNode = map["margin"], let margin = reader.number(marginNode, "margin") {
            if (0...1).contains(margin) {
                profile.margin = margin
            } else {
                reader.error(
                    .impossibleValue, "margin \(margin) must be between 0 and 1 (a fraction of the box)",
                    at: marginNode)
            }
        }
        if profile.extends == nil, profile.classes == nil {
            reader.error(.missingKey, "redaction profile '\(id)' needs 'classes' (or 'extends')", at: map.location)
        }
        return profile
    }

    // MARK: Identity helpers

    static func isCertificateURI(_ text: String) -> Bool {
        guard let components = URLComponents(string: text), let scheme = components.scheme, !scheme.isEmpty,
            components.host?.isEmpty == false
        else { return false }
        return components.user == nil && components.password == nil
    }

    /// Lower-case hex without separators, or nil when the text is not a SHA-256 digest.
    static func normalisedFingerprint(_ text: String) -> String? {
        var hex = text.lowercased()
        if hex.hasPrefix("sha256:") { hex.removeFirst("sha256:".count) }
        hex.removeAll { $0 == ":" }
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit }) else { return nil }
        return hex
    }
}
