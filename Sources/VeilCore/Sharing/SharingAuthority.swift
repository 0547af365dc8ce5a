public import Foundation

/// Who a client certificate belongs to: what the TLS verifier keeps of the policy (with the roots and revocations).
public protocol PartnerIdentities: Sendable {
    /// The partner whose client certificate carries this SAN URI.
    func partner(forCertificateURI uri: String) -> PartnerID?
    /// The partner pinned to this certificate fingerprint (SHA-256 of the DER, lower-case hex).
    func partner(forFingerprint fingerprint: String) -> PartnerID?
}

/// What the federation server needs from the policy: who a certificate belongs to, what a partner may
/// see, and a decision for every request.
///
/// The policy target implements it and the gateway core hands it to the server, so neither feature target
/// imports the other (the same arrangement as ``RetentionSchedule``).
public protocol SharingAuthority: PartnerIdentities {
    /// The version of the policy the decisions come from, recorded with every audited request.
    var policyVersion: String { get }
    /// Partners that bring their own CA: the PEM file of the CA trusted for that partner only.
    var partnerAuthorities: [PartnerID: String] { get }
    /// The cameras a partner has any grant on and the kinds of sharing granted (time windows and
    /// expiry are decided per request, not here). Empty for an unknown partner.
    func cameras(sharedWith partner: PartnerID) -> [CameraID: Set<SharingActionKind>]
    /// Decides one request about a camera. Default deny: an unknown partner or camera is denied like anything else.
    func verdict(for request: AccessRequest) -> SharingVerdict
    /// Decides a request that concerns every camera shared with a partner: listing them, or opening the alert stream.
    func verdict(for request: PartnerWideRequest) -> SharingVerdict
}

/// A partner's request about everything shared with it rather than one camera.
public struct PartnerWideRequest: Hashable, Sendable {
    public enum Action: String, Hashable, Sendable {
        /// `GET /v1/cameras`: allowed to any partner the policy names (the list may be empty).
        case listCameras = "list-cameras"
        /// `GET /v1/alerts`: allowed to a partner with an alert grant on some camera.
        case subscribeAlerts = "subscribe-alerts"
    }

    public var partner: PartnerID
    public var action: Action
    public var at: Date

    public init(partner: PartnerID, action: Action, at: Date) {
        self.partner = partner
        self.action = action
        self.at = at
    }
}

extension SharingAuthority {
    /// The decision from what ``cameras(sharedWith:)`` says: a partner with nothing shared is unknown to the policy for
    /// listing, and one with no alert grant may not subscribe. The policy engine gives the grants as rules.
    public func verdict(for request: PartnerWideRequest) -> SharingVerdict {
        let shared = cameras(sharedWith: request.partner)
        switch request.action {
        case .listCameras:
            return shared.isEmpty
                ? SharingVerdict(
                    isAllowed: false, rules: [], reasons: ["unknown-partner", "default-deny"], redaction: nil)
                : SharingVerdict(isAllowed: true, rules: [], reasons: ["partner"], redaction: nil)
        case .subscribeAlerts:
            return shared.values.contains { $0.contains(.alert) }
                ? SharingVerdict(isAllowed: true, rules: [], reasons: ["alert-grant"], redaction: nil)
                : SharingVerdict(isAllowed: false, rules: [], reasons: ["default-deny"], redaction: nil)
        }
    }
}

/// A decision reduced to what the server acts on and what the audit log records.
public struct SharingVerdict: Hashable, Sendable {
    public var isAllowed: Bool
    /// The rules that decided (grants on allow, deny rules on an explicit deny).
    public var rules: [RuleID]
    /// Stable reason codes (`granted`, `default-deny`, `footage-too-old`, …) for the audit log. Never sent to
    /// a denied partner: a 403 says nothing about what exists.
    public var reasons: [String]
    /// The redaction to apply; nil when denied.
    public var redaction: RedactionSpec?
    /// For alerts: the fields the partner may receive.
    public var alertFields: [AlertField]
    /// For peer sites: whether they may pass the data on.
    public var reshareAllowed: Bool
    /// For clips: the oldest footage allowed.
    public var maxAge: PolicyDuration?

    public init(
        isAllowed: Bool, rules: [RuleID], reasons: [String], redaction: RedactionSpec?,
        alertFields: [AlertField] = [], reshareAllowed: Bool = false, maxAge: PolicyDuration? = nil
    ) {
        self.isAllowed = isAllowed
        self.rules = rules
        self.reasons = reasons
        self.redaction = redaction
        self.alertFields = alertFields
        self.reshareAllowed = reshareAllowed
        self.maxAge = maxAge
    }

    /// The verdict for a request nobody may make.
    public static let denied = SharingVerdict(isAllowed: false, rules: [], reasons: ["default-deny"], redaction: nil)
}
