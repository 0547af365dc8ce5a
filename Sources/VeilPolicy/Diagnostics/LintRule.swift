/// The catalogue of everything the parser and linter check. Each rule has a stable code so a DPO can look
/// it up in `docs/policy-language.md` (a test keeps that page and this list in sync).
public struct LintRule: Hashable, Sendable, Codable, CustomStringConvertible {
    public let code: String
    public let name: String
    /// What the rule protects, in one sentence, for `docs/` and `--explain-rules`.
    public let summary: String

    public var description: String { "\(code) \(name)" }

    init(_ code: String, _ name: String, _ summary: String) {
        self.code = code
        self.name = name
        self.summary = summary
    }

    public init(from decoder: any Decoder) throws {
        let code = try decoder.singleValueContainer().decode(String.self)
        guard let rule = LintRule.all.first(where: { $0.code == code }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown rule"))
        }
        self = rule
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(code)
    }

    public static func == (lhs: LintRule, rhs: LintRule) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}

extension LintRule {
    // MARK: Document structure
    public static let yamlSyntax = LintRule("VG100", "yaml-syntax", "The file must be well-formed YAML.")
    public static let unknownKey = LintRule(
        "VG101", "unknown-key", "Every key must be one the language defines: a typo must never silently drop a rule.")
    public static let wrongType = LintRule(
        "VG102", "wrong-type", "A value must have the type its key expects (text, list, mapping, number, boolean).")
    public static let missingKey = LintRule("VG103", "missing-key", "Required keys must be present.")
    public static let invalidValue = LintRule(
        "VG104", "invalid-value", "Enumerations, identifiers, durations, dates and times must be spelled as documented."
    )
    public static let duplicateID = LintRule(
        "VG105", "duplicate-id", "Ids must be unique within their kind (purposes, cameras, partners, rules).")
    public static let danglingReference = LintRule(
        "VG106", "dangling-reference", "Every id a rule refers to must be defined in the policy.")
    public static let impossibleValue = LintRule(
        "VG107", "impossible-value",
        "Values must be possible: positive durations, margins 0–1, normalised coordinates, polygons of three or more points."
    )
    public static let referenceCycle = LintRule(
        "VG108", "reference-cycle", "Redaction profiles must not extend each other in a cycle.")
    public static let documentTooLarge = LintRule(
        "VG109", "document-too-large", "A policy file is at most 4 MiB and nested at most 64 levels deep.")
    public static let unsupportedVersion = LintRule(
        "VG110", "unsupported-version", "The file must start with `veilgate: policy/v1` (or `policy-tests/v1`).")
    public static let misplacedKey = LintRule(
        "VG111", "misplaced-key", "A grant key must fit the grant's action (for example `max-age` only on clip grants)."
    )
    public static let anchorsNotAllowed = LintRule(
        "VG112", "anchors-not-allowed",
        "YAML anchors and aliases are refused: each rule must be written out where it applies.")

    // MARK: GDPR
    public static let purposeWithoutBasis = LintRule(
        "VG201", "purpose-without-basis", "Each purpose needs an Art. 6(1) lawful basis.")
    public static let cameraWithoutPurpose = LintRule(
        "VG202", "camera-without-purpose", "Each camera must name at least one purpose (Art. 5(1)(b)).")
    public static let vaguePurpose = LintRule(
        "VG203", "vague-purpose",
        "A purpose description must be specific; \"for your safety\" is not (EDPB Guidelines 3/2019).")
    public static let longRetentionWithoutJustification = LintRule(
        "VG204", "long-retention-without-justification",
        "Identifiable data kept longer than 72 hours needs a written justification (EDPB Guidelines 3/2019).")
    public static let biometricWithoutException = LintRule(
        "VG205", "biometric-without-exception",
        "Biometric identification needs an Art. 9(2) exception on the camera's purpose and a DPIA reference.")
    public static let grantWithoutAgreement = LintRule(
        "VG206", "grant-without-agreement",
        "Sharing with a partner needs an agreement reference (Art. 26/28) and each grant a purpose.")
    public static let unredactedWithoutLegalGround = LintRule(
        "VG207", "unredacted-without-legal-ground",
        "Sharing identifiable footage needs a stated legal ground; police disclosures also need a case reference per request."
    )
    public static let expiredGrant = LintRule(
        "VG208", "expired-grant", "Grants past their expiry date should be removed.")
    public static let purposeMismatch = LintRule(
        "VG209", "purpose-mismatch", "A grant's purpose must be one of the camera's purposes (purpose limitation).")
    public static let missingRetention = LintRule(
        "VG210", "missing-retention", "Every category a camera produces needs a retention rule (storage limitation).")
    public static let legitimateInterestWithoutAssessment = LintRule(
        "VG211", "legitimate-interest-without-assessment",
        "A purpose based on legitimate interests should record its balancing test (`assessment`).")
    public static let credentialsInSource = LintRule(
        "VG212", "credentials-in-source",
        "Camera URLs must not contain user names or passwords; use `credentials: {file|env}`.")
    public static let analyticWithoutGeometry = LintRule(
        "VG213", "analytic-without-geometry",
        "Zone analytics need zones, line crossing needs lines, loud-sound detection needs audio.")
    public static let peerReshare = LintRule(
        "VG214", "peer-reshare", "Allowing a peer site to re-share is a transitive disclosure: state why.")
    public static let dataNotProduced = LintRule(
        "VG215", "data-not-produced", "A grant must be for data the camera actually produces or analyses.")
    public static let consentForSurveillance = LintRule(
        "VG216", "consent-for-surveillance",
        "Consent is rarely a valid basis for video surveillance of public space (EDPB Guidelines 3/2019).")

    /// Every rule, in code order.
    public static let all: [LintRule] = [
        yamlSyntax, unknownKey, wrongType, missingKey, invalidValue, duplicateID, danglingReference,
        impossibleValue, referenceCycle, documentTooLarge, unsupportedVersion, misplacedKey, anchorsNotAllowed,
        purposeWithoutBasis, cameraWithoutPurpose, vaguePurpose, longRetentionWithoutJustification,
        biometricWithoutException, grantWithoutAgreement, unredactedWithoutLegalGround, expiredGrant,
        purposeMismatch, missingRetention, legitimateInterestWithoutAssessment, credentialsInSource,
        analyticWithoutGeometry, peerReshare, dataNotProduced, consentForSurveillance,
    ]
}
