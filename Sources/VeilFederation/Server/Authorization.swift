import Foundation
import Hummingbird
import VeilCore

/// What a partner asks of the API, as the policy decides it.
enum PartnerAction: Sendable {
    /// `GET /v1/cameras`.
    case listCameras
    /// `GET /v1/alerts`: the stream (each alert is then decided on its own as it is sent).
    case subscribeAlerts
    /// Anything about one camera: live, clips, counts (and `footageStart` for clips, checked against max-age).
    case camera(CameraID, SharingAction, footageStart: Date? = nil)
}

/// A request the policy turned down. Handlers throw it (``PartnerAPI/authorize(_:_:_:subject:details:audit:)`` does);
/// the one place it becomes an answer is ``PartnerAPI/register(on:)``: it is audited there, and the partner gets the
/// bare 403 that says nothing about whether what it asked for exists.
struct PartnerDenial: Error {
    var subject: String
    var verdict: SharingVerdict
    /// What else the audit entry records (a justification's keyed digest, an unknown caller).
    var details: [String: String]
}

extension PartnerAPI {
    /// The one authorisation path of the partner API: the caller (established once per connection, see
    /// ``PartnerIdentification``) and its action are put to the policy in force; an allowed verdict is returned, with
    /// its redaction, fields and rules, and recorded in the audit log unless `audit` says it was recorded lately (live
    /// viewing: one entry a minute, not one per playlist poll); a denial is thrown as ``PartnerDenial``.
    ///
    /// A justification (`Veilgate-Justification`) is decided on by its presence only and audited as a keyed digest,
    /// never its text.
    func authorize(
        _ action: PartnerAction, _ request: Request, _ context: PartnerRequestContext, subject: String,
        details extra: [String: String] = [:],
        audit shouldAudit: @Sendable (SharingVerdict) -> Bool = { _ in true }
    ) async throws -> SharingVerdict {
        let justification = request.headers[Self.justificationHeader].map { String($0.prefix(512)) }
        var details = extra
        if let justification, !justification.isEmpty {
            details["justification-hmac"] = justifications.digest(of: justification)
        }
        guard let partner = context.partner else {
            details["reason"] = "unknown-partner"
            _ = shouldAudit(.denied)  // a ledger sees denials too
            throw PartnerDenial(subject: subject, verdict: .denied, details: details)
        }
        let authority = self.authority, now = clock()
        let verdict: SharingVerdict =
            switch action {
            case .listCameras:
                authority.verdict(for: PartnerWideRequest(partner: partner, action: .listCameras, at: now))
            case .subscribeAlerts:
                authority.verdict(for: PartnerWideRequest(partner: partner, action: .subscribeAlerts, at: now))
            case .camera(let camera, let sharing, let footageStart):
                authority.verdict(
                    for: AccessRequest(
                        partner: partner, camera: camera, action: sharing, at: now, footageStart: footageStart,
                        hasJustification: !(justification ?? "").trimmingCharacters(in: .whitespaces).isEmpty))
            }
        let audited = shouldAudit(verdict)  // always asked, so a ledger sees denials too
        guard verdict.isAllowed else { throw PartnerDenial(subject: subject, verdict: verdict, details: details) }
        if audited { try await record(.decision, context, subject: subject, verdict: verdict, extra: details) }
        return verdict
    }
}
