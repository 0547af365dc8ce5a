public import Foundation
public import VeilCore

/// The semantic checks on a parsed policy: references, cycles, and the GDPR rules of `docs/policy-language.md`.
///
/// Pure: `now` is an input, so a lint at a given date gives the same findings everywhere.
public struct PolicyLinter: Sendable {
    /// Identifiable data kept longer than this needs a written justification (EDPB Guidelines 3/2019).
    public static let justificationThreshold = PolicyDuration.hours(72)

    public var now: Date

    public init(now: Date) { self.now = now }

    public func lint(_ document: PolicyDocument) -> [PolicyDiagnostic] {
        var run = LintRun(document: document, now: now)
        run.checkUniqueness()
        run.checkPurposes()
        run.checkCameras()
        run.checkRetention()
        run.checkRedaction()
        run.checkPartners()
        run.checkDenies()
        return run.diagnostics
    }
}

/// One lint pass: the document's id tables, built once, and the findings so far.
/// One lint pass over a document; its checks are grouped by section here and in `PolicyLinter+Grants.swift`.
struct LintRun {
    let document: PolicyDocument
    let now: Date
    var diagnostics: [PolicyDiagnostic] = []
    let purposes: [PurposeID: PolicyDocument.Purpose]
    let cameras: [CameraID: PolicyDocument.Camera]
    let profiles: [RuleID: PolicyDocument.RedactionProfile]
    let partners: Set<PartnerID>

    init(document: PolicyDocument, now: Date) {
        self.document = document
        self.now = now
        purposes = Dictionary(document.purposes.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        cameras = Dictionary(document.cameras.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        profiles = Dictionary(document.redaction.profiles.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        partners = Set(document.partners.map(\.id))
    }

    mutating func error(_ rule: LintRule, _ message: String, at location: SourceLocation) {
        diagnostics.append(PolicyDiagnostic(.error, rule, message, at: location))
    }

    mutating func warning(_ rule: LintRule, _ message: String, at location: SourceLocation) {
        diagnostics.append(PolicyDiagnostic(.warning, rule, message, at: location))
    }

    // MARK: Ids

    mutating func checkUniqueness() {
        func duplicates<ID: Hashable & CustomStringConvertible>(
            _ items: [(ID, SourceLocation)], _ kind: String,
            into run: inout LintRun
        ) {
            var seen: [ID: SourceLocation] = [:]
            for (id, location) in items {
                if let first = seen[id] {
                    run.error(.duplicateID, "\(kind) id '\(id)' is already defined at line \(first.line)", at: location)
                } else {
                    seen[id] = location
                }
            }
        }
        duplicates(document.purposes.map { ($0.id, $0.location) }, "purpose", into: &self)
        duplicates(document.cameras.map { ($0.id, $0.location) }, "camera", into: &self)
        duplicates(document.partners.map { ($0.id, $0.location) }, "partner", into: &self)
        duplicates(document.operators.map { ($0.id, $0.location) }, "operator", into: &self)
        // Grants, deny rules, retention rules and profiles share one namespace: decisions and the audit log
        // cite them by id alone.
        let rules =
            document.retention.rules.map { ($0.id, $0.location) }
            + document.redaction.profiles.map { ($0.id, $0.location) }
            + document.partners.flatMap { $0.grants.map { ($0.id, $0.location) } }
            + document.denies.map { ($0.id, $0.location) }
        duplicates(rules, "rule", into: &self)
        for camera in document.cameras {
            duplicates(
                camera.zones.map { ($0.id, $0.location) } + camera.lines.map { ($0.id, $0.location) }
                    + camera.masks.map { ($0.id, $0.location) },
                "zone or line of camera '\(camera.id)'", into: &self)
        }
        for entry in document.operators where entry.roles.isEmpty {
            error(
                .missingKey, "operator '\(entry.id)' has no role: name at least one of \(roleNames)", at: entry.location
            )
        }
        var identities: [String: PartnerID] = [:]
        for partner in document.partners {
            if let uri = partner.identity.uri, uri.hasPrefix(OperatorID.uriPrefix) {
                error(
                    .invalidValue,
                    "partner '\(partner.id)': identity '\(OperatorID.uriPrefix)…' is reserved for console operators",
                    at: partner.location)
            }
            for identity in [partner.identity.uri, partner.identity.fingerprint].compactMap({ $0 }) {
                if let other = identities[identity], other != partner.id {
                    error(
                        .duplicateID, "partner '\(partner.id)' has the same certificate identity as '\(other)'",
                        at: partner.location)
                }
                identities[identity] = partner.id
            }
        }
    }

    private var roleNames: String { OperatorRole.allCases.map(\.rawValue).joined(separator: ", ") }

    /// Whether a camera source names a user or secret: `user:pw@host`, `?password=`, `;pwd=`, `&token=`, ….
    static func sourceCarriesCredentials(_ source: String) -> Bool {
        let lower = source.lowercased()
        let authority = lower.components(separatedBy: "://").dropFirst().first ?? lower
        let host = authority.split(separator: "/", maxSplits: 1).first.map(String.init) ?? authority
        if host.contains("@") { return true }
        let secretWords = [
            "password", "passwd", "pwd", "pass", "user", "username", "token", "secret", "apikey",
            "api_key", "auth", "key", "sig", "signature", "credentials",
        ]
        for separator in ["?", "&", ";"] {
            for part in lower.components(separatedBy: separator).dropFirst() {
                let name = part.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
                if part.contains("="), secretWords.contains(name) { return true }
            }
        }
        return false
    }

    func dangling<ID: CustomStringConvertible>(_ reference: Located<ID>, _ kind: String) -> PolicyDiagnostic {
        PolicyDiagnostic(
            .error, .danglingReference, "\(kind) '\(reference.value)' is not defined", at: reference.location)
    }

    // MARK: Purposes

    mutating func checkPurposes() {
        let vaguePhrases = ["for your safety", "for your security", "security", "safety", "crime", "surveillance"]
        for purpose in document.purposes {
            let description = purpose.description.lowercased().trimmingCharacters(in: .punctuationCharacters)
            let words = description.split(whereSeparator: { $0 == " " }).count
            if !purpose.description.isEmpty, vaguePhrases.contains(description) || words < 5 {
                warning(
                    .vaguePurpose,
                    "purpose '\(purpose.id)' is described too vaguely; say what is monitored, where, and why",
                    at: purpose.location)
            }
            if purpose.basis == .legitimateInterests, purpose.assessment == nil {
                warning(
                    .legitimateInterestWithoutAssessment,
                    "purpose '\(purpose.id)' relies on legitimate interests without an 'assessment' (balancing test)",
                    at: purpose.location)
            }
            if purpose.basis == .consent {
                warning(
                    .consentForSurveillance,
                    "purpose '\(purpose.id)' relies on consent, which passers-by cannot give to a camera",
                    at: purpose.location)
            }
        }
    }

    // MARK: Cameras

    mutating func checkCameras() {
        for camera in document.cameras {
            if camera.purposes.isEmpty {
                error(
                    .cameraWithoutPurpose, "camera '\(camera.id)' has no purpose; name at least one under 'purposes'",
                    at: camera.keyLocations["purposes"] ?? camera.location)
            }
            for reference in camera.purposes where purposes[reference.value] == nil {
                diagnostics.append(dangling(reference, "purpose"))
            }
            if Self.sourceCarriesCredentials(camera.source) {
                error(
                    .credentialsInSource,
                    "camera '\(camera.id)' has credentials in its source; move them to 'credentials: {file: …}' or '{env: …}'",
                    at: camera.keyLocations["source"] ?? camera.location)
            }
            let at = camera.keyLocations["analytics"] ?? camera.location
            for analytic in camera.analytics {
                if analytic.needsZones, camera.zones.isEmpty {
                    error(
                        .analyticWithoutGeometry, "camera '\(camera.id)' runs \(analytic.rawValue) but has no zones",
                        at: at)
                }
                if analytic.needsLines, camera.lines.isEmpty {
                    error(.analyticWithoutGeometry, "camera '\(camera.id)' runs line-crossing but has no lines", at: at)
                }
                if analytic == .loudSound, !camera.audio {
                    error(
                        .analyticWithoutGeometry, "camera '\(camera.id)' runs loud-sound but 'audio' is false", at: at)
                }
            }
            // Thresholds for an analytic the camera does not run would be read as a promise that it runs.
            let thresholds =
                camera.thresholds.locations.map { ($0.key, $0.value, "camera '\(camera.id)'") }
                + camera.zones.flatMap { zone in
                    zone.thresholds.locations.map { ($0.key, $0.value, "zone '\(zone.id)' of camera '\(camera.id)'") }
                }
            for (analytic, location, owner) in thresholds.sorted(by: { $0.1.line < $1.1.line })
            where !camera.analytics.contains(analytic) {
                error(
                    .misplacedKey,
                    "\(owner) sets thresholds for \(analytic.rawValue), which the camera does not run (add it to 'analytics')",
                    at: location)
            }
            if camera.audio, !camera.produces.contains(.audio), !camera.analytics.contains(.loudSound) {
                warning(
                    .dataNotProduced, "camera '\(camera.id)' takes audio but neither records nor analyses it", at: at)
            }
            if camera.analytics.contains(.plateRecognition), !camera.produces.contains(.plateText) {
                error(
                    .dataNotProduced,
                    "camera '\(camera.id)' runs plate-recognition; list 'plate-text' under 'produces'",
                    at: camera.keyLocations["produces"] ?? camera.location)
            }
            let biometric = camera.analytics.contains(.faceRecognition) || camera.produces.contains(.biometricTemplates)
            if biometric {
                let excepted = camera.purposes.contains { purposes[$0.value]?.specialCategory != nil }
                if !excepted {
                    error(
                        .biometricWithoutException,
                        "camera '\(camera.id)' processes biometric data but none of its purposes states an Art. 9(2) exception ('special-category')",
                        at: camera.location)
                }
                if document.metadata.dpia == nil {
                    error(
                        .biometricWithoutException,
                        "camera '\(camera.id)' processes biometric data but the policy has no DPIA reference ('metadata.dpia')",
                        at: camera.location)
                }
            }
            if camera.produces.contains(.unmaskLayer) {
                let approvers = document.retention.unmasking?.approvers ?? []
                if approvers.count != 2 {
                    error(
                        .missingKey,
                        "camera '\(camera.id)' produces unmask-layer: 'retention.unmasking.approvers' must name two approvers (role and key), both needed to open it",
                        at: document.retention.unmasking?.location ?? camera.keyLocations["produces"] ?? camera.location
                    )
                }
                if camera.produces.contains(.rawVideo) {
                    warning(
                        .dataNotProduced,
                        "camera '\(camera.id)' keeps raw-video as well as unmask-layer: the original footage is readable without the two approvals",
                        at: camera.keyLocations["produces"] ?? camera.location)
                }
            }
            var covered = Set<DataCategory>()
            for rule in document.retention.rules where rule.cameras.contains(camera.id) {
                covered.insert(rule.category)
            }
            for category in camera.produces where !covered.contains(category) {
                error(
                    .missingRetention,
                    "camera '\(camera.id)' produces \(category.rawValue) but no retention rule covers it",
                    at: camera.keyLocations["produces"] ?? camera.location)
            }
        }
    }

    // MARK: Retention

    mutating func checkRetention() {
        if let unmasking = document.retention.unmasking {
            let approvers = unmasking.approvers
            if approvers.count == 2, approvers[0].role == approvers[1].role {
                error(
                    .impossibleValue,
                    "the two unmasking approvers have the same role '\(approvers[0].role)': the two-person rule needs two roles",
                    at: approvers[1].location)
            }
            if approvers.count == 2, approvers[0].key == approvers[1].key {
                error(
                    .impossibleValue,
                    "the two unmasking approvers have the same key: one person could approve twice",
                    at: approvers[1].location)
            }
            if approvers.count > 2 {
                error(
                    .impossibleValue,
                    "unmasking takes exactly two approvers (both needed); \(approvers.count) are named",
                    at: unmasking.location)
            }
        }
        for rule in document.retention.rules {
            if case .ids(let ids) = rule.cameras {
                for reference in ids where cameras[reference.value] == nil {
                    diagnostics.append(dangling(reference, "camera"))
                }
            }
            if rule.category.isPersonalData, rule.duration > PolicyLinter.justificationThreshold,
                rule.justification == nil
            {
                error(
                    .longRetentionWithoutJustification,
                    "retention rule '\(rule.id)' keeps \(rule.category.rawValue) for \(rule.duration.spelledOut); beyond 72 hours a 'justification' is required",
                    at: rule.keyLocations["duration"] ?? rule.location)
            }
        }
    }

    // MARK: Redaction

    mutating func checkRedaction() {
        let section = document.redaction
        if let reference = section.defaultProfile, profiles[reference.value] == nil {
            diagnostics.append(dangling(reference, "redaction profile"))
        }
        if section.defaultProfile == nil, !document.cameras.isEmpty {
            error(
                .missingKey,
                "the policy needs 'redaction: default:' — the profile applied to everything stored or shared",
                at: document.metadata.location)
        }
        for profile in section.profiles {
            guard let parent = profile.extends else { continue }
            if profiles[parent.value] == nil {
                diagnostics.append(dangling(parent, "redaction profile"))
                continue
            }
            // Follow the chain; a cycle comes back to this profile.
            var chain: [RuleID] = [profile.id]
            var next = profiles[parent.value]
            while let current = next {
                if chain.contains(current.id) {
                    if current.id == profile.id {
                        let cycle = (chain + [profile.id]).map(\.rawValue).joined(separator: " → ")
                        error(
                            .referenceCycle, "redaction profiles extend each other in a cycle: \(cycle)",
                            at: parent.location)
                    }
                    break
                }
                chain.append(current.id)
                next = current.extends.flatMap { profiles[$0.value] }
            }
        }
        if let reference = section.defaultProfile, let spec = resolvedProfile(reference.value), spec.isUnredacted {
            error(
                .unredactedWithoutLegalGround,
                "the default redaction profile '\(reference.value)' leaves faces or plates visible; the default must cover both",
                at: reference.location)
        }
    }

    /// The default profile, resolved; nil when missing or broken (reported elsewhere).
    var defaultRedaction: RedactionSpec? {
        document.redaction.defaultProfile.flatMap { resolvedProfile($0.value) }
    }

    /// The spec a profile resolves to, or nil if it (or an ancestor) is undefined or cyclic.
    func resolvedProfile(_ id: RuleID) -> RedactionSpec? {
        ProfileResolver(profiles: profiles).resolve(id)
    }
}

/// Resolves `extends` chains of redaction profiles into concrete specs.
struct ProfileResolver {
    let profiles: [RuleID: PolicyDocument.RedactionProfile]

    /// The spec of a profile: its own settings over its parent's, with blur/ellipse/10 % as the base.
    func resolve(_ id: RuleID) -> RedactionSpec? {
        var chain: [PolicyDocument.RedactionProfile] = []
        var seen: Set<RuleID> = []
        var next: RuleID? = id
        while let current = next {
            guard let profile = profiles[current], seen.insert(current).inserted else { return nil }
            chain.append(profile)
            next = profile.extends?.value
        }
        var spec = RedactionSpec(classes: [], mode: .blur, shape: .ellipse, margin: 0.1)
        for profile in chain.reversed() {
            if let classes = profile.classes { spec.classes = Set(classes) }
            if let mode = profile.mode { spec.mode = mode }
            if let shape = profile.shape { spec.shape = shape }
            if let margin = profile.margin { spec.margin = margin }
        }
        if spec.classes.isEmpty { spec.margin = 0 }
        return spec
    }
}
