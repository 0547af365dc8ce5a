import Foundation
public import VeilCore

/// What each partner gains or loses between two versions of a policy: the question a DPO must answer
/// before approving a change.
public struct PolicyDiff: Sendable {
    /// One thing a partner may do with one camera, and under which conditions.
    public struct Capability: Hashable, Sendable, Comparable {
        public var camera: CameraID
        /// `live`, `clip`, `counts` or `alert:KIND`.
        public var action: String

        /// `live on market-square`, or the partner attribute's name (`identity`, `agreement`).
        public var label: String { camera == "*" ? action : "\(action) on \(camera)" }

        public static func < (lhs: Capability, rhs: Capability) -> Bool {
            (lhs.camera.rawValue, lhs.action) < (rhs.camera.rawValue, rhs.action)
        }
    }

    public enum Change: Hashable, Sendable {
        case gained(Capability, conditions: String)
        case lost(Capability, conditions: String)
        case changed(Capability, from: String, to: String)
    }

    /// Changes per partner, partners in id order; partners without changes are left out.
    public let changes: [(partner: PartnerID, changes: [Change])]
    /// Changes per camera — what it records, analyses and masks, and where its zones and lines lie — in id order: what
    /// changes for the people in front of it, whoever it is shared with.
    public let cameraChanges: [(camera: CameraID, changes: [Change])]

    /// Changes to the site as a whole — who operates the console with which roles, and the legal-hold rules.
    public let siteChanges: [Change]

    public var isEmpty: Bool { changes.isEmpty && cameraChanges.isEmpty && siteChanges.isEmpty }

    public init(old: CompiledPolicy, new: CompiledPolicy) {
        let before = Self.capabilities(of: old)
        let after = Self.capabilities(of: new)
        var result: [(PartnerID, [Change])] = []
        for partner in Set(before.keys).union(after.keys).sorted() {
            let was = before[partner] ?? [:], now = after[partner] ?? [:]
            var changes: [Change] = []
            for capability in Set(was.keys).union(now.keys).sorted() {
                switch (was[capability], now[capability]) {
                case (nil, let conditions?): changes.append(.gained(capability, conditions: conditions))
                case (let conditions?, nil): changes.append(.lost(capability, conditions: conditions))
                case (let from?, let to?) where from != to: changes.append(.changed(capability, from: from, to: to))
                default: break
                }
            }
            if !changes.isEmpty { result.append((partner, changes)) }
        }
        changes = result
        let (was, now) = (Self.attributes(of: old), Self.attributes(of: new))
        let (siteBefore, siteAfter) = (Self.siteAttributes(of: old), Self.siteAttributes(of: new))
        siteChanges = Set(siteBefore.keys).union(siteAfter.keys).sorted().compactMap { capability -> Change? in
            switch (siteBefore[capability], siteAfter[capability]) {
            case (nil, let value?): .gained(capability, conditions: value)
            case (let value?, nil): .lost(capability, conditions: value)
            case (let from?, let to?) where from != to: .changed(capability, from: from, to: to)
            default: nil
            }
        }
        cameraChanges = Set(was.keys).union(now.keys).sorted().compactMap { camera in
            let (before, after) = (was[camera] ?? [:], now[camera] ?? [:])
            let changes = Set(before.keys).union(after.keys).sorted().compactMap { capability -> Change? in
                switch (before[capability], after[capability]) {
                case (nil, let value?): .gained(capability, conditions: value)
                case (let value?, nil): .lost(capability, conditions: value)
                case (let from?, let to?) where from != to: .changed(capability, from: from, to: to)
                default: nil
                }
            }
            return changes.isEmpty ? nil : (camera, changes)
        }
    }

    /// The site's operators and legal-hold rules, in words.
    static func siteAttributes(of policy: CompiledPolicy) -> [Capability: String] {
        var result: [Capability: String] = [:]
        for entry in policy.document.operators {
            result[Capability(camera: "*", action: "operator \(entry.id)")] =
                entry.roles.map(\.rawValue).sorted().joined(separator: ", ")
        }
        let hold = policy.document.retention.legalHold
        result[Capability(camera: "*", action: "legal holds")] =
            "approved by \(hold.approvers.joined(separator: ", "))"
            + (hold.requiresCaseReference ? ", case reference required" : "")
            + (hold.maxDuration.map { ", at most \($0) unless renewed" } ?? "")
        return result
    }

    /// What each camera records, analyses and masks, in words (a camera's absence is its attributes' absence).
    static func attributes(of policy: CompiledPolicy) -> [CameraID: [Capability: String]] {
        func points(_ polygon: [NormalisedPoint]) -> String {
            polygon.map { "[\($0.x), \($0.y)]" }.joined(separator: " ")
        }
        func thresholds(_ value: PolicyDocument.AnalyticThresholds) -> String? {
            let parts = [
                value.restrictedAfter.map { "restricted-zone after \($0)" },
                value.restrictedRearm.map { "restricted-zone rearm \($0)" },
                value.loiteringAfter.map { "loitering after \($0)" },
                value.crowdPeople.map { "crowd-count people \($0)" },
                value.crowdHold.map { "crowd-count hold \($0)" }, value.runningSpeed.map { "running speed \($0)" },
                value.runningHold.map { "running hold \($0)" },
                value.unattendedAfter.map { "unattended-object after \($0)" },
                value.vehicleDwellAfter.map { "vehicle-dwell after \($0)" },
            ].compactMap { $0 }
            return parts.isEmpty ? nil : parts.joined(separator: ", ")
        }
        var result: [CameraID: [Capability: String]] = [:]
        for camera in policy.document.cameras {
            var own: [Capability: String] = [:]
            func set(_ name: String, _ value: String?) {
                if let value, !value.isEmpty { own[Capability(camera: camera.id, action: name)] = value }
            }
            set("produces", camera.produces.map(\.rawValue).sorted().joined(separator: ", "))
            set("analytics", camera.analytics.map(\.rawValue).sorted().joined(separator: ", "))
            set("audio", camera.audio ? "taken" : nil)
            // How long each kind of data it produces is kept, and under which rule.
            for category in camera.produces.sorted(by: { $0.rawValue < $1.rawValue }) {
                let period: RetentionPeriod? = policy.retention(camera: camera.id, category: category, eventKind: nil)
                set("retention \(category.rawValue)", period.map { "\($0.duration) (\($0.rule))" } ?? "not kept")
            }
            set("thresholds", thresholds(camera.thresholds))
            for zone in camera.zones {
                set("zone \(zone.id)", points(zone.polygon) + (thresholds(zone.thresholds).map { "; \($0)" } ?? ""))
            }
            for line in camera.lines { set("line \(line.id)", points([line.from, line.to])) }
            for mask in camera.masks { set("privacy mask \(mask.id)", points(mask.polygon)) }
            result[camera.id] = own
        }
        return result
    }

    /// Every capability of every partner, with its conditions in words. Time-independent: windows and
    /// expiry dates are part of the conditions; a deny rule without windows removes the capability.
    static func capabilities(of policy: CompiledPolicy) -> [PartnerID: [Capability: String]] {
        var result: [PartnerID: [Capability: String]] = [:]
        let cameras = policy.document.cameras.map(\.id)
        for (partnerNumber, partner) in policy.document.partners.enumerated() {
            var own: [Capability: String] = [:]
            for action in SharingActionKind.allCases {
                for (cameraNumber, camera) in cameras.enumerated() {
                    let slot =
                        (partnerNumber * CompiledPolicy.actionCount + action.index) * cameras.count + cameraNumber
                    let denies = (policy.denyTable[slot] ?? []).map { policy.denies[Int($0)] }
                    if denies.contains(where: \.windows.isEmpty) { continue }
                    let grants = (policy.grantTable[slot] ?? []).map { policy.grants[Int($0)] }
                    let keys: [(String, [CompiledGrant])] =
                        action == .alert
                        ? Set(grants.flatMap(\.kinds)).sorted().map { kind in
                            ("alert:\(kind)", grants.filter { $0.kinds.contains(kind) })
                        }
                        : [(action.rawValue, grants)]
                    for (name, matching) in keys where !matching.isEmpty {
                        var conditions = matching.map { describe($0, action) }.sorted().joined(separator: " | ")
                        if !denies.isEmpty {
                            conditions +=
                                " except "
                                + denies.map {
                                    "\($0.id) during \($0.windows.map(\.description).joined(separator: "; "))"
                                }
                                .joined(separator: ", ")
                        }
                        own[Capability(camera: camera, action: name)] = conditions
                    }
                }
            }
            // Who the partner is counts as much as what it may do: a changed certificate identity hands every
            // grant to someone else.
            let identity = [
                partner.identity.uri.map { "uri \($0)" }, partner.identity.fingerprint.map { "fingerprint \($0)" },
                partner.identity.trustedCA.map { "trusted CA \($0)" },
            ].compactMap { $0 }.joined(separator: ", ")
            own[Capability(camera: "*", action: "identity")] = identity
            own[Capability(camera: "*", action: "organisation")] = "\(partner.organisation) (\(partner.role.rawValue))"
            own[Capability(camera: "*", action: "agreement")] = partner.agreement ?? "none"
            result[partner.id] = own
        }
        return result
    }

    static func describe(_ grant: CompiledGrant, _ action: SharingActionKind) -> String {
        var parts: [String] = ["purpose \(grant.purpose?.rawValue ?? "none")"]
        if action == .live || action == .clip { parts.append("redaction \(grant.redaction)") }
        if let maxAge = grant.maxAge { parts.append("max-age \(maxAge)") }
        if grant.justificationRequired { parts.append("justification required") }
        if action == .alert { parts.append("fields \(grant.fields.map(\.rawValue).joined(separator: ","))") }
        if !grant.zones.isEmpty { parts.append("zones \(grant.zones.map(\.rawValue).sorted().joined(separator: ","))") }
        if !grant.windows.isEmpty { parts.append("during \(grant.windows.map(\.description).joined(separator: "; "))") }
        if let expiry = grant.expiryDate { parts.append("until \(expiry)") }
        if grant.reshare { parts.append("may re-share") }
        if let legalGround = grant.legalGround { parts.append("legal ground: \(legalGround)") }
        return parts.joined(separator: ", ")
    }

    /// The diff as text lines: `+` gained, `-` lost, `~` changed.
    public func render() -> String {
        var lines: [String] = changes.isEmpty ? ["No partner gains or loses anything."] : []
        let sections =
            changes.map { ("partner \($0.partner):", $0.changes, true) }
            + cameraChanges.map { ("camera \($0.camera):", $0.changes, false) }
            + (siteChanges.isEmpty ? [] : [("site:", siteChanges, false)])
        for (heading, changes, isPartner) in sections {
            lines.append(heading)
            for change in changes {
                switch change {
                case .gained(let capability, let conditions):
                    lines.append("  + \(isPartner ? capability.label : capability.action) (\(conditions))")
                case .lost(let capability, let conditions):
                    lines.append("  - \(isPartner ? capability.label : capability.action) (was: \(conditions))")
                case .changed(let capability, let from, let to):
                    lines.append("  ~ \(isPartner ? capability.label : capability.action)")
                    lines.append("      was: \(from)")
                    lines.append("      now: \(to)")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
