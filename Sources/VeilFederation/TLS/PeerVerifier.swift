public import Foundation
public import NIOSSL
import SwiftASN1
import Synchronization
public import VeilCore
@_spi(FixedExpiryValidationTime) public import X509

/// Who may complete a TLS handshake with the gateway, as one immutable snapshot that a reload swaps.
public struct PeerTrust: Sendable {
    /// The site CA (and any CA the site configuration trusts for every partner).
    public var siteRoots: [Certificate]
    /// A partner's own CA, trusted for certificates that carry that partner's identity only.
    public var partnerRoots: [PartnerID: [Certificate]]
    /// Serials refused at the handshake (lower-case hex).
    public var revokedSerials: Set<String>
    /// Maps a certificate's identity to a policy partner.
    public var authority: any SharingAuthority

    public init(siteRoots: [Certificate], partnerRoots: [PartnerID: [Certificate]] = [:], revokedSerials: Set<String> = [],
                authority: any SharingAuthority)
    {
        self.siteRoots = siteRoots
        self.partnerRoots = partnerRoots
        self.revokedSerials = revokedSerials
        self.authority = authority
    }

    /// The partner a verified certificate belongs to: by its SAN URI, else by its pinned fingerprint.
    public func partner(for certificate: Certificate) -> PartnerID? {
        if let uri = certificate.partnerURI, let partner = authority.partner(forCertificateURI: uri) { return partner }
        return authority.partner(forFingerprint: certificate.fingerprint)
    }
}

/// Verifies a client's certificate chain for NIOSSL's custom verification callback.
///
/// NIOSSL's callback **replaces** BoringSSL's own chain checks, so this runs the whole RFC 5280 path
/// validation with swift-certificates (signatures, validity at the current time, CA constraints, name
/// constraints, key usage) and requires the clientAuth extended key usage, before it looks at the
/// revocation list. A certificate from a partner's own CA is accepted only when its identity maps to
/// that partner. `VeilFederationTests` proves a foreign-CA certificate is refused with the callback in place.
public final class PeerVerifier: Sendable {
    private let trust: Mutex<PeerTrust>

    public init(_ trust: PeerTrust) {
        self.trust = Mutex(trust)
    }

    /// Swaps in a new trust snapshot (policy or revocation list reloaded). Connections already open keep
    /// going; every request is decided against the current policy anyway.
    public func update(_ trust: PeerTrust) {
        self.trust.withLock { $0 = trust }
    }

    public var current: PeerTrust { trust.withLock { $0 } }

    /// The outcome of one verification, with a reason for the server's log (no certificate contents).
    public enum Outcome: Sendable, Equatable {
        case trusted(partner: PartnerID?, fingerprint: String)
        case refused(String)
    }

    public func verify(_ chain: [NIOSSLCertificate], now: Date = Date()) async -> Outcome {
        let certificates: [Certificate]
        do {
            certificates = try chain.map { try Certificate(derEncoded: $0.toDERBytes()) }
        } catch {
            return .refused("unparseable certificate")
        }
        return await verify(certificates, now: now)
    }

    public func verify(_ chain: [Certificate], now: Date = Date()) async -> Outcome {
        guard let leaf = chain.first else { return .refused("no certificate") }
        let trust = current
        let intermediates = CertificateStore(chain.dropFirst())
        var verified = await Self.validate(leaf, intermediates: intermediates, roots: trust.siteRoots, now: now)
        let partner = trust.partner(for: leaf)
        if !verified, let partner, let roots = trust.partnerRoots[partner], !roots.isEmpty {
            verified = await Self.validate(leaf, intermediates: intermediates, roots: roots, now: now)
        }
        guard verified else { return .refused("chain does not verify to a trusted CA for this identity") }
        // Revocation is checked only after the chain is known good, so the list cannot be used to probe.
        guard !trust.revokedSerials.contains(leaf.serialNumber.hex) else { return .refused("certificate revoked") }
        return .trusted(partner: partner, fingerprint: leaf.fingerprint)
    }

    private static func validate(_ leaf: Certificate, intermediates: CertificateStore, roots: [Certificate], now: Date) async -> Bool {
        var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy(fixedExpiryValidationTime: now)
            ClientAuthenticationPolicy()
        }
        if case .validCertificate = await verifier.validate(leaf: leaf, intermediates: intermediates) { return true }
        return false
    }

    /// The callback to hand to NIOSSL (via Hummingbird's `TLSChannelConfiguration`).
    public var callback: @Sendable ([NIOSSLCertificate]) async throws -> NIOSSLVerificationResult {
        { [self] chain in
            switch await self.verify(chain) {
            case .trusted: .certificateVerified
            case .refused: .failed
            }
        }
    }
}

/// The leaf must be meant for TLS client authentication (extended key usage clientAuth or anyExtendedKeyUsage).
struct ClientAuthenticationPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.extendedKeyUsage]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        guard let usage = try? chain.leaf.extensions.extendedKeyUsage else {
            return .failsToMeetPolicy(reason: "the certificate names no extended key usage")
        }
        if usage.contains(.clientAuth) || usage.contains(.any) { return .meetsPolicy }
        return .failsToMeetPolicy(reason: "the certificate is not for client authentication")
    }
}
