import Foundation
public import VeilCore

/// The outcome of one request: allow or deny, what applies, and the ids of the rules that decided.
///
/// A decision stores facts (rule ids and typed reasons), not prose: `explain`, the audit log and the API
/// render the same facts their own way, and the prose is only built when someone reads it.
public struct Decision: Hashable, Sendable {
    public enum Effect: String, Sendable, Codable, CaseIterable {
        case allow, deny
    }

    /// Why a rule did or did not decide.
    public enum Reason: Hashable, Sendable {
        /// A grant matched and allows the request.
        case granted(RuleID)
        /// An explicit deny rule matched; it overrides any grant.
        case deniedByRule(RuleID)
        /// The partner is not in the policy.
        case unknownPartner
        /// The camera is not in the policy.
        case unknownCamera
        /// A grant would have applied but had expired.
        case grantExpired(RuleID, CalendarDate)
        /// A grant would have applied but its time windows were closed.
        case outsideTimeWindow(RuleID)
        /// A grant requires a justification and the request carried none.
        case justificationMissing(RuleID)
        /// The footage asked for is older than the grant's `max-age`.
        case footageTooOld(RuleID, PolicyDuration)
        /// A clip request named no footage start, so the grant's `max-age` cannot be checked.
        case footageStartMissing(RuleID)
        /// The alert's zone is not among the grant's zones.
        case zoneNotGranted(RuleID)
        /// Nothing allows the request: the default.
        case defaultDeny
    }

    public var effect: Effect
    public var request: AccessRequest
    /// The redaction to apply; nil when denied.
    public var redaction: RedactionSpec?
    /// The grants that allow the request (all of them; their restrictions combine, least revealing first).
    public var grants: [RuleID]
    /// Every reason, deciding ones first.
    public var reasons: [Reason]
    /// For clips: the oldest footage allowed.
    public var maxAge: PolicyDuration?
    /// The request's justification must be recorded in the audit log.
    public var justificationRecorded: Bool
    /// For alerts: the fields the partner may receive.
    public var alertFields: [AlertField]
    /// For peer sites: whether they may pass the data on.
    public var reshareAllowed: Bool
    /// How long the data concerned is kept at this site.
    public var retention: RetentionOutcome?

    public var isAllowed: Bool { effect == .allow }

    /// The ids of the rules that decided: the matching grants on allow, the deny rules on an explicit deny.
    public var decidingRules: [RuleID] {
        reasons.compactMap {
            switch $0 {
            case .granted(let id), .deniedByRule(let id): id
            default: nil
            }
        }
    }

    static func deny(_ request: AccessRequest, _ reasons: [Reason]) -> Decision {
        Decision(
            effect: .deny, request: request, redaction: nil, grants: [], reasons: reasons, maxAge: nil,
            justificationRecorded: false, alertFields: [], reshareAllowed: false, retention: nil)
    }
}

/// The retention rule that governs the data a decision concerns.
public struct RetentionOutcome: Hashable, Sendable {
    public var rule: RuleID
    public var category: DataCategory
    public var duration: PolicyDuration
}
