public import Foundation
public import NIOCore
public import NIOSSL
import SwiftASN1
import Synchronization
public import VeilCore
@_spi(FixedExpiryValidationTime) public import X509

/// Who may complete a TLS handshake with the gateway, as one immutable snapshot that a reload swaps: roots,
/// revocations and the mapping from certificates to partners — nothing else of the policy (requests are decided by the
/// ``SharingAuthority`` in force, which the server asks directly).
public struct PeerTrust: Sendable {
    /// The site CA (and any CA the site configuration trusts for every partner).
    public var siteRoots: [Certificate]
    /// A partner's own CA, trusted for certificates that carry that partner's identity only.
    public var partnerRoots: [PartnerID: [Certificate]]
    /// Serials refused at the handshake (lower-case hex).
    public var revokedSerials: Set<String>
    /// Maps a certificate's identity to a policy partner.
    public var identities: any PartnerIdentities

    public init(
        siteRoots: [Certificate], partnerRoots: [PartnerID: [Certificate]] = [:], revokedSerials: Set<String> = [],
        identities: any PartnerIdentities
    ) {
        self.siteRoots = siteRoots
        self.partnerRoots = partnerRoots
        self.revokedSerials = revokedSerials
        self.identities = identities
    }

    /// The partner a verified certificate belongs to: by its SAN URI, else by its pinned fingerprint.
    public func partner(for certificate: Certificate) -> PartnerID? {
        if let uri = certificate.partnerURI, let partner = identities.partner(forCertificateURI: uri) { return partner }
        return identities.partner(forFingerprint: certificate.fingerprint)
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
    /// The most certificates a client may present (its own and the intermediates above it). Path building tries
    /// orderings of the intermediates, so their number is what bounds a handshake's cost: a client that sent a dozen
    /// look-alike CA certificates kept a core busy for minutes. Partners present their certificate and at most a
    /// couple of CAs.
    public static let defaultMaximumChainLength = 4

    private let trust: Mutex<PeerTrust>
    public let maximumChainLength: Int
    private let connections = Mutex<[ObjectIdentifier: OpenConnection]>([:])

    /// A connection that has made a request, with the certificate it was admitted on.
    private struct OpenConnection {
        let channel: any Channel
        let certificate: Certificate
        /// The certificate's serial (lower-case hex), as revocation lists name it.
        let serial: String
        let partner: PartnerID?
        /// Whom the per-partner limits count it for: the partner, or the certificate for one the policy does not know.
        let caller: String
        /// How the audit log names the caller: `partner:ID`, or `certificate:` and the fingerprint's first 16 digits.
        let actor: String
        let opened: ContinuousClock.Instant
        var requests = 0
    }

    /// How long one handshake's certificate validation may take before the client is refused. The chain limit already
    /// bounds it (milliseconds); this is the backstop should a parser or path builder ever take a pathological turn.
    public let validationTimeout: Duration
    /// The thread verifications run on: a handshake never waits for the cooperative pool, which long work (or a test
    /// suite's blocking tests) may keep busy for longer than a client waits.
    private let executor = DedicatedThreadExecutor(name: "veilgate-tls-verify")

    public init(
        _ trust: PeerTrust, maximumChainLength: Int = PeerVerifier.defaultMaximumChainLength,
        validationTimeout: Duration = .seconds(2)
    ) {
        self.trust = Mutex(trust)
        self.maximumChainLength = max(1, maximumChainLength)
        self.validationTimeout = validationTimeout
    }

    /// Swaps in a new trust snapshot (policy or revocation list reloaded) and closes every open connection the new
    /// snapshot would not admit (a revoked certificate, an identity that maps elsewhere or nowhere, a CA no longer
    /// trusted), keep-alive connections and alert streams included: a revocation takes effect at once, not at the
    /// partner's next handshake. A connection is re-verified on its certificate alone (the request path sees only the
    /// leaf): a partner whose chain needs an intermediate reconnects after a reload, and its handshake is checked in
    /// full.
    /// - Returns: how many connections were closed.
    @discardableResult
    public func update(_ trust: PeerTrust) async -> Int {
        self.trust.withLock { $0 = trust }
        let open = connections.withLock { Array($0.values) }
        var closed = 0
        for connection in open {
            let stillAdmitted: Bool
            if case .trusted(let partner, _) = await verify([connection.certificate]) {
                stillAdmitted = partner == connection.partner
            } else {
                stillAdmitted = false
            }
            guard !stillAdmitted else { continue }
            connections.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(connection.channel)) }
            connection.channel.close(mode: .all, promise: nil)
            closed += 1
        }
        return closed
    }

    public var current: PeerTrust { trust.withLock { $0 } }

    /// Connections currently known to the verifier (they have made at least one request).
    public var openConnections: Int { connections.withLock { $0.count } }

    /// What may happen to one request on an open connection.
    public enum Admission: Sendable, Equatable {
        /// Served, for `partner` (nil: a certificate the policy does not know), named `actor` in the audit log;
        /// `isLast`
        /// when the connection has had its share of requests or time and is closed after this response.
        case admitted(partner: PartnerID?, actor: String, isLast: Bool)
        /// The certificate was revoked since the handshake, or its identity now maps elsewhere: the connection is
        /// closed.
        case refused
        /// The caller already holds as many connections as it may: this one is closed.
        case tooManyConnections
    }

    /// How long and how much a connection may be used, and how many one caller may hold.
    public struct ConnectionLimits: Sendable {
        public var perCaller: Int
        public var requestsPerConnection: Int
        public var lifetime: Duration

        public init(perCaller: Int = 16, requestsPerConnection: Int = 1000, lifetime: Duration = .seconds(3600)) {
            self.perCaller = max(1, perCaller)
            self.requestsPerConnection = max(1, requestsPerConnection)
            self.lifetime = lifetime
        }
    }

    /// Admits one request on a connection. The caller's identity is established at the connection's first request, from
    /// the certificate its handshake verified (`certificate` is asked for then only), and kept: ``update(_:)`` closes
    /// every connection a new snapshot would not admit as the same partner (revoked since, or its identity now mapping
    /// elsewhere), so a connection still open is still who it was. Refuses a new connection of a caller that holds
    /// `limits.perCaller` already, and marks the last request of a connection that has had its share of requests or
    /// time.
    public func admit(
        on channel: any Channel, limits: ConnectionLimits = ConnectionLimits(),
        certificate: () async -> Certificate?
    ) async -> Admission {
        let key = ObjectIdentifier(channel)
        let now = ContinuousClock.now
        let revoked = current.revokedSerials
        let known = connections.withLock { connections -> Admission? in
            guard var known = connections[key] else { return nil }
            // A revocation reaches the next request at once, even while ``update(_:)`` is still closing connections.
            guard !revoked.contains(known.serial) else { return .refused }
            known.requests += 1
            connections[key] = known
            let isLast =
                known.requests >= limits.requestsPerConnection || known.opened.duration(to: now) >= limits.lifetime
            return .admitted(partner: known.partner, actor: known.actor, isLast: isLast)
        }
        if let known { return known }
        guard let certificate = await certificate() else { return .refused }
        // A console operator's certificate (same site CA) is for the console only, never a partner's.
        guard certificate.partnerURI?.hasPrefix(OperatorID.uriPrefix) != true else { return .refused }
        let trust = current
        // Checked here too: the connection may have been made just before a revocation was loaded.
        guard !trust.revokedSerials.contains(certificate.serialNumber.hex) else { return .refused }
        let partner = trust.partner(for: certificate)
        let caller = partner.map { "partner:\($0.rawValue)" } ?? "certificate:\(certificate.fingerprint)"
        let actor = partner.map { "partner:\($0.rawValue)" } ?? "certificate:\(certificate.fingerprint.prefix(16))"
        let admission = connections.withLock { connections -> Admission in
            guard connections.values.count(where: { $0.caller == caller }) < limits.perCaller else {
                return .tooManyConnections
            }
            connections[key] = OpenConnection(
                channel: channel, certificate: certificate, serial: certificate.serialNumber.hex,
                partner: partner, caller: caller, actor: actor, opened: now, requests: 1)
            return .admitted(partner: partner, actor: actor, isLast: limits.requestsPerConnection <= 1)
        }
        if case .admitted = admission {
            channel.closeFuture.whenComplete { [weak self] _ in
                self?.connections.withLock { _ = $0.removeValue(forKey: key) }
            }
        }
        return admission
    }

    /// The outcome of one verification, with a reason for the server's log (no certificate contents).
    public enum Outcome: Sendable, Equatable {
        case trusted(partner: PartnerID?, fingerprint: String)
        case refused(String)
    }

    public func verify(_ chain: [NIOSSLCertificate], now: Date = Date()) async -> Outcome {
        // Counted before anything is parsed.
        guard chain.count <= maximumChainLength else {
            return .refused("chain of \(chain.count) certificates is too long")
        }
        let certificates: [Certificate]
        do {
            certificates = try chain.map { try Certificate(derEncoded: $0.toDERBytes()) }
        } catch {
            return .refused("unparseable certificate")
        }
        let outcome = await withDeadline(validationTimeout, executor: executor) { [self] in
            await self.verify(certificates, now: now)
        }
        return outcome ?? .refused("certificate validation took longer than \(validationTimeout)")
    }

    public func verify(_ chain: [Certificate], now: Date = Date()) async -> Outcome {
        guard let leaf = chain.first else { return .refused("no certificate") }
        guard chain.count <= maximumChainLength else {
            return .refused("chain of \(chain.count) certificates is too long")
        }
        let trust = current
        // Only CA certificates can issue, and a repeated one adds nothing but orderings to try.
        var seen = Set<[UInt8]>()
        let issuers = chain.dropFirst().filter { certificate in
            guard Self.isAuthority(certificate) else { return false }
            return seen.insert(certificate.derBytes).inserted
        }
        let intermediates = CertificateStore(issuers)
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

    private static func isAuthority(_ certificate: Certificate) -> Bool {
        if case .isCertificateAuthority = try? certificate.extensions.basicConstraints { return true }
        return false
    }

    private static func validate(
        _ leaf: Certificate, intermediates: CertificateStore, roots: [Certificate], now: Date
    ) async -> Bool {
        var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy(fixedExpiryValidationTime: now)
            ClientAuthenticationPolicy()
        }
        if case .validCertificate = await verifier.validate(leaf: leaf, intermediates: intermediates) { return true }
        return false
    }

    deinit { executor.shutdown() }

    /// NIOSSL's verification hook (Hummingbird's `TLSChannelConfiguration(customVerificationCallback:)`), verifying on
    /// the verifier's own thread; `decide` turns the outcome into the handshake's result (and may count, log or wait).
    public func verificationCallback(
        _ decide: @escaping @Sendable (Outcome) async -> NIOSSLVerificationResult
    ) -> @Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResult>) -> Void {
        { [self, executor] chain, promise in
            Task(executorPreference: executor) {
                promise.succeed(await decide(await self.verify(chain)))
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
