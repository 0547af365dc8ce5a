import Foundation
public import VeilCore
public import VeilFederation
public import VeilPolicy
public import X509

/// Who may connect: the site CA, each partner's own CA that the policy names, the revocation list.
public enum GatewayTrust {
    /// Each partner's own CA the policy names.
    /// - Parameter verified: the signed bundle the policy came from, when the gateway requires one: a partner CA is
    /// then read only if it is byte for byte the file that was signed.
    public static func partnerRoots(
        of policy: CompiledPolicy, verified: PolicyBundle.Verified?
    ) throws -> [PartnerID: [Certificate]] {
        var roots: [PartnerID: [Certificate]] = [:]
        for (partner, path) in policy.partnerAuthorities {
            if let verified {
                roots[partner] = try SiteAuthority.certificates(pem: verified.contents(of: path), named: path)
            } else {
                roots[partner] = try SiteAuthority.certificates(at: path)
            }
        }
        return roots
    }

    /// What the TLS verifier admits under `snapshot`, with the site's own CA.
    public static func peerTrust(_ snapshot: PolicyInForce.Snapshot, siteRoots: [Certificate]) -> PeerTrust {
        PeerTrust(
            siteRoots: siteRoots, partnerRoots: snapshot.partnerRoots, revokedSerials: snapshot.revokedSerials,
            identities: snapshot.policy)
    }
}
