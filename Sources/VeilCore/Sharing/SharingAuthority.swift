/// What the federation server needs from the policy: who a certificate belongs to, what a partner may
/// see, and a decision for every request.
///
/// The policy target implements it and the executable hands it to the server, so neither feature target
/// imports the other (the same arrangement as ``RetentionSchedule``).
public protocol SharingAuthority: Sendable {
    /// The version of the policy the decisions come from, recorded with every audited request.
    var policyVersion: String { get }
    /// The partner whose client certificate carries this SAN URI.
    func partner(forCertificateURI uri: String) -> PartnerID?
    /// The partner pinned to this certificate fingerprint (SHA-256 of the DER, lower-case hex).
    func partner(forFingerprint fingerprint: String) -> PartnerID?
    /// Partners that bring their own CA: the PEM file of the CA trusted for that partner only.
    var partnerAuthorities: [PartnerID: String] { get }
    /// The cameras a partner has any grant on and the kinds of sharing granted (time windows and
    /// expiry are decided per request, not here). Empty for an unknown partner.
    func cameras(sharedWith partner: PartnerID) -> [CameraID: Set<SharingActionKind>]
    /// Decides one request. Default deny: an unknown partner or camera is denied like anything else.
    func verdict(for request: AccessRequest) -> SharingVerdict
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

    public init(isAllowed: Bool, rules: [RuleID], reasons: [String], redaction: RedactionSpec?,
                alertFields: [AlertField] = [], reshareAllowed: Bool = false, maxAge: PolicyDuration? = nil)
    {
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
