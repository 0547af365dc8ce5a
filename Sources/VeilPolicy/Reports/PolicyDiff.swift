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

    public var isEmpty: Bool { changes.isEmpty }

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
                    let slot = (partnerNumber * CompiledPolicy.actionCount + action.index) * cameras.count + cameraNumber
                    let denies = (policy.denyTable[slot] ?? []).map { policy.denies[Int($0)] }
                    if denies.contains(where: \.windows.isEmpty) { continue }
                    let grants = (policy.grantTable[slot] ?? []).map { policy.grants[Int($0)] }
                    let keys: [(String, [CompiledGrant])] = action == .alert
                        ? Set(grants.flatMap(\.kinds)).sorted().map { kind in ("alert:\(kind)", grants.filter { $0.kinds.contains(kind) }) }
                        : [(action.rawValue, grants)]
                    for (name, matching) in keys where !matching.isEmpty {
                        var conditions = matching.map { describe($0, action) }.sorted().joined(separator: " | ")
                        if !denies.isEmpty {
                            conditions += " except " + denies.map { "\($0.id) during \($0.windows.map(\.description).joined(separator: "; "))" }
                                .joined(separator: ", ")
                        }
                        own[Capability(camera: camera, action: name)] = conditions
                    }
                }
            }
            // Who the partner is counts as much as what it may do: a changed certificate identity hands every
            // grant to someone else.
            let identity = [partner.identity.uri.map { "uri \($0)" }, partner.identity.fingerprint.map { "fingerprint \($0)" },
                            partner.identity.trustedCA.map { "trusted CA \($0)" }].compactMap { $0 }.joined(separator: ", ")
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
        guard !isEmpty else { return "No partner gains or loses anything.\n" }
        var lines: [String] = []
        for (partner, changes) in self.changes {
            lines.append("partner \(partner):")
            for change in changes {
                switch change {
                case .gained(let capability, let conditions):
                    lines.append("  + \(capability.label) (\(conditions))")
                case .lost(let capability, let conditions):
                    lines.append("  - \(capability.label) (was: \(conditions))")
                case .changed(let capability, let from, let to):
                    lines.append("  ~ \(capability.label)")
                    lines.append("      was: \(from)")
                    lines.append("      now: \(to)")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
