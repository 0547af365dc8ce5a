import Foundation
public import VeilCore

/// The policy as the federation server sees it (see ``SharingAuthority`` in VeilCore).
extension CompiledPolicy: SharingAuthority {
    /// A partner's own CA file, resolved against the policy file's folder when relative.
    public var partnerAuthorities: [PartnerID: String] {
        let folder = (document.file as NSString).deletingLastPathComponent
        var result: [PartnerID: String] = [:]
        for partner in document.partners {
            guard let path = partner.identity.trustedCA, !path.isEmpty else { continue }
            result[partner.id] =
                path.hasPrefix("/") || folder.isEmpty ? path : (folder as NSString).appendingPathComponent(path)
        }
        return result
    }

    public func cameras(sharedWith partner: PartnerID) -> [CameraID: Set<SharingActionKind>] {
        guard let partnerNumber = partnerIndex[partner] else { return [:] }
        var result: [CameraID: Set<SharingActionKind>] = [:]
        for (camera, cameraNumber) in cameraIndex {
            for kind in SharingActionKind.allCases {
                let slot = (partnerNumber * Self.actionCount + kind.index) * cameraIndex.count + cameraNumber
                guard grantTable[slot] != nil else { continue }
                // A deny rule without time windows closes the slot for good; one with windows only at times.
                let alwaysDenied = denyTable[slot]?.contains { denies[Int($0)].windows.isEmpty } ?? false
                if !alwaysDenied { result[camera, default: []].insert(kind) }
            }
        }
        return result
    }

    public func verdict(for request: AccessRequest) -> SharingVerdict {
        let decision = decide(request)
        return SharingVerdict(
            isAllowed: decision.isAllowed, rules: decision.decidingRules,
            reasons: decision.reasons.map { Decision.code(of: $0).code }, redaction: decision.redaction,
            alertFields: decision.isAllowed ? decision.alertFields : [], reshareAllowed: decision.reshareAllowed,
            maxAge: decision.maxAge)
    }

    /// Listing cameras: any partner the policy names (its list may be empty). Subscribing to alerts: a partner with an
    /// alert grant, the grants named as the deciding rules (each alert is then decided on its own when it is sent).
    public func verdict(for request: PartnerWideRequest) -> SharingVerdict {
        guard partnerIndex[request.partner] != nil else {
            return SharingVerdict(
                isAllowed: false, rules: [], reasons: ["unknown-partner", "default-deny"], redaction: nil)
        }
        switch request.action {
        case .listCameras:
            return SharingVerdict(isAllowed: true, rules: [], reasons: ["partner"], redaction: nil)
        case .subscribeAlerts:
            let alertGrants = grants.filter { $0.partner == request.partner && $0.action == .alert }.map(\.id)
            let shared = cameras(sharedWith: request.partner).values.contains { $0.contains(.alert) }
            guard shared, !alertGrants.isEmpty else {
                return SharingVerdict(isAllowed: false, rules: [], reasons: ["default-deny"], redaction: nil)
            }
            return SharingVerdict(isAllowed: true, rules: alertGrants, reasons: ["alert-grant"], redaction: nil)
        }
    }
}
