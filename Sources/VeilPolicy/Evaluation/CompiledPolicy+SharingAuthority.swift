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
            result[partner.id] = path.hasPrefix("/") || folder.isEmpty ? path : (folder as NSString).appendingPathComponent(path)
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
}
