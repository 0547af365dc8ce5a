/// The categories of data a camera produces (GDPR Art. 30(1)(c)); retention rules are written per category.
public enum DataCategory: String, Sendable, CaseIterable, Codable, Comparable {
    /// Original footage in which people can be identified.
    case rawVideo = "raw-video"
    /// Footage after the redaction profile has covered faces, plates and the rest.
    case redactedVideo = "redacted-video"
    /// Analytics events and their metadata (kind, zone, time, boxes; no identity).
    case events
    /// Aggregated counts of people or vehicles.
    case counts
    /// Recognised licence-plate text: personal data.
    case plateText = "plate-text"
    /// Face templates for recognition: special-category data (GDPR Art. 9).
    case biometricTemplates = "biometric-templates"
    /// Recorded sound.
    case audio
    /// The original pixels of what the redacted recording covers (faces, plates), kept instead of raw video and
    /// encrypted so that only two approvers of different roles together can open them.
    case unmaskLayer = "unmask-layer"

    /// Whether the category identifies people directly.
    public var isPersonalData: Bool {
        switch self {
        case .rawVideo, .plateText, .biometricTemplates, .audio, .unmaskLayer: true
        case .redactedVideo, .events, .counts: false
        }
    }

    /// A reader's name for reports.
    public var title: String {
        switch self {
        case .rawVideo: "Original video (identifiable)"
        case .redactedVideo: "Redacted video"
        case .events: "Analytics events and metadata"
        case .counts: "Aggregated counts"
        case .plateText: "Licence-plate text"
        case .biometricTemplates: "Biometric templates (Art. 9)"
        case .audio: "Audio"
        case .unmaskLayer: "Unmask layer (original pixels of redacted regions, two-person access)"
        }
    }

    public static func < (lhs: DataCategory, rhs: DataCategory) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// The lawful bases of GDPR Art. 6(1).
public enum LawfulBasis: String, Sendable, CaseIterable, Codable {
    case consent
    case contract
    case legalObligation = "legal-obligation"
    case vitalInterests = "vital-interests"
    case publicTask = "public-task"
    case legitimateInterests = "legitimate-interests"

    /// The article reference, e.g. `Art. 6(1)(e)`.
    public var article: String {
        let letter =
            switch self {
            case .consent: "a"
            case .contract: "b"
            case .legalObligation: "c"
            case .vitalInterests: "d"
            case .publicTask: "e"
            case .legitimateInterests: "f"
            }
        return "Art. 6(1)(\(letter))"
    }

    public var title: String {
        switch self {
        case .consent: "Consent"
        case .contract: "Performance of a contract"
        case .legalObligation: "Legal obligation"
        case .vitalInterests: "Vital interests"
        case .publicTask: "Public task"
        case .legitimateInterests: "Legitimate interests"
        }
    }
}

/// The exceptions of GDPR Art. 9(2) under which special-category data (biometric identification) may be
/// processed. Without one, such processing is forbidden.
public enum SpecialCategoryException: String, Sendable, CaseIterable, Codable {
    case explicitConsent = "explicit-consent"
    case employmentLaw = "employment-law"
    case vitalInterests = "vital-interests"
    case notForProfitBody = "not-for-profit-body"
    case madePublic = "made-public"
    case legalClaims = "legal-claims"
    case substantialPublicInterest = "substantial-public-interest"
    case healthCare = "health-care"
    case publicHealth = "public-health"
    case archiving

    public var article: String {
        let letter =
            switch self {
            case .explicitConsent: "a"
            case .employmentLaw: "b"
            case .vitalInterests: "c"
            case .notForProfitBody: "d"
            case .madePublic: "e"
            case .legalClaims: "f"
            case .substantialPublicInterest: "g"
            case .healthCare: "h"
            case .publicHealth: "i"
            case .archiving: "j"
            }
        return "Art. 9(2)(\(letter))"
    }
}
