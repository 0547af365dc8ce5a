import Foundation
import VeilCore

// The partner, grant and deny-rule checks of a lint pass (the other sections are in PolicyLinter.swift).
extension LintRun {
    // MARK: Partners and grants

    mutating func checkPartners() {
        for partner in document.partners {
            if !partner.grants.isEmpty, partner.agreement == nil {
                error(
                    .grantWithoutAgreement,
                    "partner '\(partner.id)' has grants but no 'agreement' (the data-sharing agreement reference)",
                    at: partner.location)
            }
            for grant in partner.grants { check(grant, of: partner) }
        }
    }

    mutating func check(_ grant: PolicyDocument.Grant, of partner: PolicyDocument.Partner) {
        var purpose: PolicyDocument.Purpose?
        if let reference = grant.purpose {
            purpose = purposes[reference.value]
            if purpose == nil { diagnostics.append(dangling(reference, "purpose")) }
        } else {
            error(.grantWithoutAgreement, "grant '\(grant.id)' has no 'purpose'", at: grant.location)
        }
        let grantedCameras: [PolicyDocument.Camera]
        switch grant.cameras {
        case .all:
            grantedCameras = document.cameras
        case .ids(let ids):
            if ids.isEmpty { error(.impossibleValue, "grant '\(grant.id)' names no camera", at: grant.location) }
            for reference in ids where cameras[reference.value] == nil {
                diagnostics.append(dangling(reference, "camera"))
            }
            grantedCameras = ids.compactMap { cameras[$0.value] }
        }
        for camera in grantedCameras {
            if let purpose, !camera.purposes.contains(where: { $0.value == purpose.id }) {
                error(
                    .purposeMismatch,
                    "grant '\(grant.id)' shares camera '\(camera.id)' for purpose '\(purpose.id)', which is not one of that camera's purposes",
                    at: grant.keyLocations["purpose"] ?? grant.location)
            }
            checkProduces(grant, camera)
        }
        if grant.action == .alert {
            let zoneIDs = Set(grantedCameras.flatMap { $0.zones.map(\.id) + $0.lines.map(\.id) })
            for zone in grant.zones where !zoneIDs.contains(zone) {
                error(
                    .danglingReference, "grant '\(grant.id)' names zone '\(zone)', which none of its cameras defines",
                    at: grant.keyLocations["zones"] ?? grant.location)
            }
        }
        var spec: RedactionSpec?
        if let reference = grant.redaction {
            if profiles[reference.value] == nil {
                diagnostics.append(dangling(reference, "redaction profile"))
            } else {
                spec = resolvedProfile(reference.value)
            }
        }
        // Images leave the site through live views, clips and alert snapshots.
        let sharesImages =
            grant.action == .live || grant.action == .clip
            || (grant.action == .alert && grant.fields.contains(.snapshot))
        let at = grant.keyLocations["redaction"] ?? grant.location
        if sharesImages, let spec {
            if spec.isUnredacted {
                if grant.legalGround == nil {
                    error(
                        .unredactedWithoutLegalGround,
                        "grant '\(grant.id)' shares images with faces or plates visible but states no 'legal-ground'",
                        at: at)
                }
                if partner.role == .police, grant.action != .alert, !grant.justificationRequired {
                    error(
                        .unredactedWithoutLegalGround,
                        "grant '\(grant.id)' gives the police unredacted \(grant.action.rawValue) without 'justification: required' (a case or warrant reference per request)",
                        at: at)
                }
                if partner.role != .police {
                    warning(
                        .unredactedWithoutLegalGround,
                        "grant '\(grant.id)' gives a \(partner.role.rawValue) unredacted \(grant.action.rawValue)",
                        at: at)
                }
            } else if let defaultSpec = defaultRedaction, !spec.isAtLeastAsProtective(as: defaultSpec),
                grant.legalGround == nil
            {
                error(
                    .unredactedWithoutLegalGround,
                    "grant '\(grant.id)' uses a profile that hides less than the default profile; state why in 'legal-ground'",
                    at: at)
            }
            if grant.action == .clip, spec.isUnredacted {
                for camera in grantedCameras where !camera.produces.contains(.rawVideo) {
                    error(
                        .dataNotProduced,
                        "grant '\(grant.id)' promises unredacted clips of camera '\(camera.id)', which keeps no raw-video",
                        at: at)
                }
            }
        }
        if let expires = grant.expires {
            if expires.endOfDay(in: document.metadata.timeZone) <= now {
                warning(
                    .expiredGrant, "grant '\(grant.id)' expired on \(expires)",
                    at: grant.keyLocations["expires"] ?? grant.location)
            }
            if let effective = document.metadata.effective, expires < effective {
                error(
                    .impossibleValue,
                    "grant '\(grant.id)' expires (\(expires)) before the policy takes effect (\(effective))",
                    at: grant.keyLocations["expires"] ?? grant.location)
            }
        }
        if grant.reshare, partner.role == .peerSite, grant.legalGround == nil {
            warning(
                .peerReshare,
                "grant '\(grant.id)' lets peer '\(partner.id)' re-share; state the basis in 'legal-ground'",
                at: grant.keyLocations["reshare"] ?? grant.location)
        }
    }

    mutating func checkProduces(_ grant: PolicyDocument.Grant, _ camera: PolicyDocument.Camera) {
        let at = grant.keyLocations["cameras"] ?? grant.location
        switch grant.action {
        case .live:
            break
        case .clip:
            if !camera.produces.contains(.redactedVideo), !camera.produces.contains(.rawVideo) {
                error(
                    .dataNotProduced,
                    "grant '\(grant.id)' shares clips of camera '\(camera.id)', which records no video",
                    at: at)
            }
        case .alert:
            let kinds = Set(camera.analytics.compactMap(\.alertKind))
            for kind in grant.kinds where !kinds.contains(kind) {
                error(
                    .dataNotProduced,
                    "grant '\(grant.id)' shares \(kind) alerts of camera '\(camera.id)', which does not run that analytic",
                    at: at)
            }
        case .counts:
            if !camera.produces.contains(.counts) {
                error(
                    .dataNotProduced, "grant '\(grant.id)' shares counts of camera '\(camera.id)', which produces none",
                    at: at)
            }
        }
    }

    // MARK: Deny rules

    mutating func checkDenies() {
        for rule in document.denies {
            if case .ids(let ids) = rule.partners {
                for reference in ids where !partners.contains(reference.value) {
                    diagnostics.append(dangling(reference, "partner"))
                }
            }
            if case .ids(let ids) = rule.cameras {
                for reference in ids where cameras[reference.value] == nil {
                    diagnostics.append(dangling(reference, "camera"))
                }
            }
            if rule.actions.isEmpty {
                error(.impossibleValue, "deny rule '\(rule.id)' names no action", at: rule.location)
            }
        }
    }
}
