/// A typed identifier: the id a policy author wrote for a camera, partner, purpose or rule.
///
/// Identifiers are distinct types so a camera id can never be passed where a partner id is meant.
/// They are not personal data (the policy language forbids using them for people), so they may
/// appear in logs, audit entries and metric labels.
public protocol PolicyIdentifier: Hashable, Sendable, Comparable, CustomStringConvertible,
    ExpressibleByStringLiteral, Codable
{
    var rawValue: String { get }
    init(_ rawValue: String)
}

extension PolicyIdentifier {
    public init(stringLiteral value: String) { self.init(value) }
    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// Whether the text is a well-formed identifier: lower-case letters, digits, `-`, `_` and `.`,
    /// starting with a letter or digit, at most 64 characters. Keeping ids this plain keeps them safe to
    /// print in logs and URLs.
    public static func isWellFormed(_ text: String) -> Bool {
        guard let first = text.utf8.first, text.utf8.count <= 64 else { return false }
        func allowed(_ byte: UInt8) -> Bool {
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x5F
                || byte == 0x2E
        }
        return allowed(first) && first != 0x2D && first != 0x2E && first != 0x5F && text.utf8.allSatisfy(allowed)
    }
}

/// Identifies a camera (a feed) of this site.
public struct CameraID: PolicyIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// Identifies a federated partner: an agency, a retailer, the police, or another Veilgate site.
public struct PartnerID: PolicyIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// Identifies a processing purpose (GDPR Art. 5(1)(b) purpose limitation).
public struct PurposeID: PolicyIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// Identifies a rule of a policy: a grant, a deny rule, a retention rule or a redaction profile.
/// Decisions and audit entries carry these ids so that every outcome can be traced to the text that caused it.
public struct RuleID: PolicyIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// Identifies a zone or a counting line drawn on a camera's image.
public struct ZoneID: PolicyIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// Identifies a person who operates the gateway through its console (`operators:` in the policy): a name the site
/// chooses, such as a staff number, bound to roles. Its certificate carries it as ``uriPrefix`` + the id.
public struct OperatorID: PolicyIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// The SAN URI prefix of an operator's client certificate. Partner certificates never carry it: the partner API
    /// refuses a certificate that does, the console any that does not.
    public static let uriPrefix = "urn:veilgate:operator:"

    /// The certificate identity URI of this operator.
    public var certificateURI: String { Self.uriPrefix + rawValue }

    /// The operator a certificate's SAN URI names, if it names one well-formed.
    public init?(certificateURI uri: String) {
        guard uri.hasPrefix(Self.uriPrefix) else { return nil }
        let name = String(uri.dropFirst(Self.uriPrefix.count))
        guard Self.isWellFormed(name) else { return nil }
        self.init(name)
    }
}

/// What an operator may do in the console. Roles are declared per operator in the policy; each page and API route
/// names the roles it is for, and everything else is refused.
public enum OperatorRole: String, Sendable, CaseIterable, Codable, Comparable {
    /// Watches cameras, alerts and counts; acknowledges and annotates alerts.
    case `operator`
    /// The data-protection officer: the policy, its tests and deployment, the record of processing, approvals.
    case dpo
    /// Legal holds and exports.
    case evidenceOfficer = "evidence-officer"
    /// Reads the audit log and the record of processing; changes nothing.
    case auditor
    /// Partners, certificates and revocation.
    case admin

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
