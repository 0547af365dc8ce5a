import Foundation
import VeilCore
internal import Yams

// The partners, their grants and time windows, and the deny rules (the other sections are in PolicyParser.swift).
extension DocumentBuilder {
    func partner(_ node: Node) -> PolicyDocument.Partner? {
        guard let map = reader.mapping(node, "a partner", keys: Self.partnerKeys),
            let id = reader.required(map, "id", "a partner").flatMap({
                reader.identifier($0, "partner id", as: PartnerID.self)
            })
        else { return nil }
        var partner = PolicyDocument.Partner(id: id, location: map.location)
        partner.organisation =
            reader.required(map, "organisation", "partner '\(id)'").flatMap {
                reader.string($0, "organisation")
            } ?? ""
        partner.role =
            reader.required(map, "role", "partner '\(id)'").flatMap {
                reader.enumeration($0, "role", as: PartnerRole.self)
            } ?? .agency
        if let node = reader.required(map, "identity", "partner '\(id)'"),
            let identity = reader.mapping(node, "identity", keys: Self.identityKeys)
        {
            partner.identity.uri = identity["uri"].flatMap { reader.string($0, "identity uri") }
            if let uri = partner.identity.uri, let uriNode = identity["uri"], !Self.isCertificateURI(uri) {
                reader.error(
                    .invalidValue, "identity uri must be an absolute URI such as spiffe://city.example/partner/x",
                    at: uriNode)
            }
            if let node = identity["fingerprint"], let text = reader.string(node, "fingerprint") {
                if let normalised = Self.normalisedFingerprint(text) {
                    partner.identity.fingerprint = normalised
                } else {
                    reader.error(
                        .invalidValue, "fingerprint must be a SHA-256 digest: 64 hex digits (colons allowed)",
                        at: node)
                }
            }
            partner.identity.trustedCA = identity["trusted-ca"].flatMap { reader.string($0, "trusted-ca") }
            if partner.identity.uri == nil, partner.identity.fingerprint == nil {
                reader.error(
                    .missingKey, "identity of partner '\(id)' needs 'uri' or 'fingerprint'",
                    at: identity.location)
            }
        }
        partner.agreement = map["agreement"].flatMap { reader.string($0, "agreement") }
        partner.grants = list(map["grants"], "grants") { grant($0, partner: partner) }
        return partner
    }

    func grant(_ node: Node, partner: PolicyDocument.Partner) -> PolicyDocument.Grant? {
        guard let map = reader.mapping(node, "a grant", keys: Self.grantKeys),
            let id = reader.required(map, "id", "a grant").flatMap({
                reader.identifier($0, "grant id", as: RuleID.self)
            }),
            let action = reader.required(map, "action", "grant '\(id)'").flatMap({
                reader.enumeration($0, "action", as: SharingActionKind.self)
            })
        else { return nil }
        var grant = PolicyDocument.Grant(id: id, action: action, location: map.location)
        for key in Self.grantKeys where map.has(key) { grant.keyLocations[key] = map.keyLocation(key, reader: reader) }
        for (key, actions) in Self.actionSpecificGrantKeys.sorted(by: { $0.key < $1.key })
        where map.has(key) && !actions.contains(action) {
            let names = actions.sorted().map(\.rawValue).joined(separator: " and ")
            reader.error(
                .misplacedKey, "'\(key)' applies only to \(names) grants; grant '\(id)' is for \(action.rawValue)",
                at: map.keyLocation(key, reader: reader))
        }
        grant.purpose = map["purpose"].flatMap { reader.located($0, "purpose", as: PurposeID.self) }
        grant.cameras =
            reader.required(map, "cameras", "grant '\(id)'").map {
                reader.selector($0, "camera", as: CameraID.self)
            } ?? .ids([])
        grant.redaction = map["redaction"].flatMap { reader.located($0, "redaction profile", as: RuleID.self) }
        grant.windows = list(map["windows"], "windows", window)
        grant.expires = reader.required(map, "expires", "grant '\(id)'").flatMap { reader.date($0, "expires") }
        grant.maxAge = map["max-age"].flatMap { reader.duration($0, "max-age") }
        if let node = map["justification"], let text = reader.string(node, "justification") {
            switch text {
            case "required": grant.justificationRequired = true
            case "optional": grant.justificationRequired = false
            default: reader.error(.invalidValue, "justification must be 'required' or 'optional'", at: node)
            }
        }
        if let node = map["kinds"], let items = reader.sequence(node, "kinds") {
            grant.kinds = items.compactMap { reader.string($0, "alert kind").map(AlertKind.init) }
        }
        grant.zones = map["zones"].map { reader.identifiers($0, "zone", as: ZoneID.self).map(\.value) } ?? []
        grant.fields = map["fields"].map { reader.enumerations($0, "alert field", as: AlertField.self) } ?? []
        if let node = map["fields"], grant.fields.isEmpty, reader.sequence(node, "fields")?.isEmpty == true {
            reader.error(
                .impossibleValue, "grant '\(id)' lists no alert fields; leave 'fields' out for the default", at: node)
        }
        grant.legalGround = map["legal-ground"].flatMap { reader.string($0, "legal-ground") }
        if let node = map["reshare"], let reshare = reader.bool(node, "reshare") {
            grant.reshare = reshare
            if reshare, partner.role != .peerSite {
                reader.error(
                    .misplacedKey, "'reshare' applies only to grants for peer-site partners",
                    at: map.keyLocation("reshare", reader: reader))
            }
        }
        if action == .clip, grant.maxAge == nil {
            reader.error(
                .missingKey, "clip grant '\(id)' needs 'max-age': the oldest footage the partner may fetch",
                at: map.location)
        }
        if action == .alert, grant.kinds.isEmpty {
            reader.error(.missingKey, "alert grant '\(id)' needs 'kinds': the alert kinds shared", at: map.location)
        }
        return grant
    }

    func window(_ node: Node) -> TimeWindow? {
        guard let map = reader.mapping(node, "a time window", keys: Self.windowKeys) else { return nil }
        var days = Set(TimeWindow.Weekday.allCases)
        if let daysNode = map["days"] {
            guard let items = reader.sequence(daysNode, "days") else { return nil }
            days = []
            for item in items {
                guard let name = reader.string(item, "day") else { continue }
                switch name {
                case "weekdays": days.formUnion([.mon, .tue, .wed, .thu, .fri])
                case "weekends": days.formUnion([.sat, .sun])
                default:
                    if let day = TimeWindow.Weekday.allCases.first(where: { $0.name == name }) {
                        days.insert(day)
                    } else {
                        reader.error(
                            .invalidValue,
                            "day '\(name.prefix(16))' is not one of mon, tue, wed, thu, fri, sat, sun, weekdays, weekends",
                            at: item)
                    }
                }
            }
        }
        guard let fromNode = reader.required(map, "from", "a time window"),
            let toNode = reader.required(map, "to", "a time window"),
            let fromText = reader.string(fromNode, "from"), let toText = reader.string(toNode, "to")
        else { return nil }
        guard let from = TimeWindow.minutes(parsing: fromText), from < 24 * 60 else {
            reader.error(
                .invalidValue, "from '\(fromText.prefix(16))' is not a time HH:MM (quote it: \"08:00\")", at: fromNode)
            return nil
        }
        guard let to = TimeWindow.minutes(parsing: toText) else {
            reader.error(
                .invalidValue, "to '\(toText.prefix(16))' is not a time HH:MM (quote it: \"18:00\")", at: toNode)
            return nil
        }
        guard from != to % (24 * 60) || (from == 0 && to == 24 * 60) else {
            reader.error(.impossibleValue, "a time window from \(fromText) to \(toText) is empty", at: map.location)
            return nil
        }
        guard !days.isEmpty else {
            reader.error(.impossibleValue, "a time window needs at least one day", at: map.location)
            return nil
        }
        return TimeWindow(days: days, fromMinute: from, toMinute: to)
    }

    func deny(_ node: Node) -> PolicyDocument.DenyRule? {
        guard let map = reader.mapping(node, "a deny rule", keys: Self.denyKeys),
            let id = reader.required(map, "id", "a deny rule").flatMap({
                reader.identifier($0, "rule id", as: RuleID.self)
            })
        else { return nil }
        var rule = PolicyDocument.DenyRule(id: id, location: map.location)
        rule.partners = map["partners"].map { reader.selector($0, "partner", as: PartnerID.self) } ?? .all
        if let node = map["actions"] {
            if case .scalar(let scalar) = node, scalar.string == "*" {
                rule.actions = SharingActionKind.allCases
            } else {
                rule.actions = reader.enumerations(node, "action", as: SharingActionKind.self)
            }
        }
        rule.cameras = map["cameras"].map { reader.selector($0, "camera", as: CameraID.self) } ?? .all
        rule.windows = list(map["windows"], "windows", window)
        rule.reason = reader.required(map, "reason", "deny rule '\(id)'").flatMap { reader.string($0, "reason") } ?? ""
        for (key, selector) in [("partners", rule.partners.isEmpty), ("cameras", rule.cameras.isEmpty)] where selector {
            reader.error(
                .impossibleValue, "deny rule '\(id)' lists no \(key); use \"*\" for all or name them",
                at: map.keyLocation(key, reader: reader))
        }
        return rule
    }
}
