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
