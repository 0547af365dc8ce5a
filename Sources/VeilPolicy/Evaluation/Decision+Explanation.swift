import Foundation
public import VeilCore

/// Renders a decision for people (`policy explain`) and machines (`--format json`, the audit log).
/// Both carry the same facts: effect, rule ids, reasons, redaction, retention.
extension Decision {
    /// One line per reason, in words, with the policy's own texts (purposes, deny reasons) filled in.
    public func explanation(in policy: CompiledPolicy) -> [String] {
        reasons.map { reason in
            switch reason {
            case .granted(let id):
                let grant = policy.grants.first { $0.id == id }
                let purpose = grant?.purpose.flatMap { id in policy.document.purposes.first { $0.id == id } }
                let basis = purpose?.basis.map { " (\($0.title), \($0.article))" } ?? ""
                let agreement =
                    grant.flatMap { grant in policy.document.partners.first { $0.id == grant.partner }?.agreement }
                    .map { ", agreement \($0)" } ?? ""
                return "allowed by grant '\(id)' for purpose '\(purpose?.id.rawValue ?? "?")'\(basis)\(agreement)"
            case .deniedByRule(let id):
                let reason = policy.document.denies.first { $0.id == id }?.reason ?? ""
                return "denied by rule '\(id)': \(reason)"
            case .unknownPartner:
                return "partner '\(request.partner)' is not in the policy"
            case .unknownCamera:
                return "camera '\(request.camera)' is not in the policy"
            case .grantExpired(let id, let date):
                return "grant '\(id)' would apply but expired on \(date)"
            case .outsideTimeWindow(let id):
                let windows =
                    policy.grants.first { $0.id == id }?.windows.map(\.description).joined(separator: "; ") ?? ""
                return "grant '\(id)' would apply but only during \(windows) (\(policy.timeZone.identifier))"
            case .justificationMissing(let id):
                return "grant '\(id)' would apply but requires a justification (case or warrant reference)"
            case .footageTooOld(let id, let maxAge):
                return "grant '\(id)' would apply but only to footage at most \(maxAge.spelledOut) old"
            case .footageStartMissing(let id):
                return
                    "grant '\(id)' would apply but the request names no footage start (its max-age cannot be checked)"
            case .zoneNotGranted(let id):
                return "grant '\(id)' would apply but not to this zone"
            case .defaultDeny:
                return
                    "no grant allows \(request.action) on '\(request.camera)' for '\(request.partner)': denied by default"
            }
        }
    }

    /// The reason as a short stable code, for JSON and the audit log.
    public static func code(of reason: Reason) -> (code: String, rule: RuleID?) {
        switch reason {
        case .granted(let id): ("granted", id)
        case .deniedByRule(let id): ("denied-by-rule", id)
        case .unknownPartner: ("unknown-partner", nil)
        case .unknownCamera: ("unknown-camera", nil)
        case .grantExpired(let id, _): ("grant-expired", id)
        case .outsideTimeWindow(let id): ("outside-time-window", id)
        case .justificationMissing(let id): ("justification-missing", id)
        case .footageTooOld(let id, _): ("footage-too-old", id)
        case .footageStartMissing(let id): ("footage-start-missing", id)
        case .zoneNotGranted(let id): ("zone-not-granted", id)
        case .defaultDeny: ("default-deny", nil)
        }
    }

    /// A JSON-ready summary with stable keys.
    public func report(in policy: CompiledPolicy) -> DecisionReport {
        DecisionReport(
            decision: effect.rawValue,
            partner: request.partner.rawValue,
            camera: request.camera.rawValue,
            action: request.action.description,
            at: ISO8601DateFormatter().string(from: request.at),
            policyVersion: policy.version,
            rules: decidingRules.map(\.rawValue),
            reasons: zip(reasons, explanation(in: policy)).map { reason, text in
                let (code, rule) = Self.code(of: reason)
                return DecisionReport.Reason(code: code, rule: rule?.rawValue, text: text)
            },
            redaction: redaction.map {
                DecisionReport.Redaction(
                    classes: $0.classes.sorted().map(\.rawValue), mode: $0.mode.rawValue,
                    shape: $0.shape.rawValue, margin: $0.margin)
            },
            retention: retention.map {
                DecisionReport.Retention(
                    rule: $0.rule.rawValue, category: $0.category.rawValue,
                    duration: $0.duration.description)
            },
            maxAge: maxAge?.description,
            justificationRecorded: isAllowed ? justificationRecorded : nil,
            alertFields: isAllowed && request.action.kind == .alert ? alertFields.map(\.rawValue) : nil,
            reshare: isAllowed ? reshareAllowed : nil)
    }
}

/// The stable JSON shape of an explained decision.
public struct DecisionReport: Codable, Sendable, Equatable {
    public struct Reason: Codable, Sendable, Equatable {
        public var code: String
        public var rule: String?
        public var text: String
    }

    public struct Redaction: Codable, Sendable, Equatable {
        public var classes: [String]
        public var mode: String
        public var shape: String
        public var margin: Double
    }

    public struct Retention: Codable, Sendable, Equatable {
        public var rule: String
        public var category: String
        public var duration: String
    }

    public var decision: String
    public var partner: String
    public var camera: String
    public var action: String
    public var at: String
    public var policyVersion: String
    public var rules: [String]
    public var reasons: [Reason]
    public var redaction: Redaction?
    public var retention: Retention?
    public var maxAge: String?
    public var justificationRecorded: Bool?
    public var alertFields: [String]?
    public var reshare: Bool?
    /// For alerts: whether this site raises alerts of the kind for the camera at all, and when (filled in by the
    /// gateway, which knows which analytics this build runs).
    public var analytic: [String]?
}
