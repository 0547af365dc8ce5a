public import Crypto
public import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
public import Logging
import Metrics
import NIOCore
import NIOSSL
public import ServiceLifecycle
public import VeilCore

/// Where and how the partner API listens.
public struct FederationServerConfiguration: Sendable {
    /// The TLS listener (partners connect here).
    public var host: String
    public var port: Int
    public var certificatePath: String
    public var keyPath: String
    /// The plain-HTTP health check; always bound to 127.0.0.1, nil for none.
    public var healthPort: Int?
    /// Per-partner rate limit: sustained requests per second and burst.
    public var requestsPerSecond: Double = 20
    public var burst: Double = 40
    /// A connection that sends nothing (headers or body) for this long is closed (slowloris).
    public var idleTimeout: Duration = .seconds(30)
    /// Failed handshakes wait a random time in this range before the failure is sent.
    public var authenticationFailureDelay: ClosedRange<Double> = 0.1...0.3
    /// Connections open at once, over all partners: beyond it, new connections wait to be accepted.
    public var maximumConnections = 512
    /// Connections one partner (or one unknown certificate) may hold, requests per connection, and a connection's
    /// lifetime: beyond them a new connection is answered 429 and closed, an old one is closed after its answer.
    public var connectionLimits = PeerVerifier.ConnectionLimits()
    /// Alert streams (SSE) one partner may hold open: each costs a subscription and an audit write per alert.
    public var maximumStreamsPerPartner = 4
    /// The metrics exposition served at `/metrics` beside `/health` (Prometheus text format), nil for none.
    public var metrics: (@Sendable () -> [UInt8])?

    public init(
        host: String = "0.0.0.0", port: Int = 8443, certificatePath: String, keyPath: String, healthPort: Int? = nil
    ) {
        self.host = host
        self.port = port
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.healthPort = healthPort
    }
}

/// The partner API over mutual TLS, as a `Service` with graceful shutdown.
///
/// Only clients whose certificate passes ``PeerVerifier`` complete the handshake; every request is then
/// decided by the policy (``SharingAuthority``) and audited (``AccessAuditTrail``).
public final class FederationServer: Service, Sendable {
    public let configuration: FederationServerConfiguration
    public let verifier: PeerVerifier
    let api: PartnerAPI
    let logger: Logger
    let onListening: @Sendable (_ tlsPort: Int) async -> Void

    /// - Parameter justifications: how justifications are audited (a keyed digest;
    ///   ``JustificationDigest/load(creatingAt:)``
    ///   keeps the secret in the state folder). The default, a fresh secret, suits tests: nobody can look a case up
    /// later.
    /// - Parameter authority: the policy in force, asked afresh for each decision (the gateway's `PolicyInForce`).
    /// - Parameter snapshots: where this site's alert snapshots are kept (nil: alerts go without them).
    public init(
        configuration: FederationServerConfiguration, verifier: PeerVerifier,
        authority: @escaping @Sendable () -> any SharingAuthority, archive: (any FootageArchive)?,
        audit: any AccessAuditTrail, alerts: any AlertSource, snapshots: (any AlertSnapshotStore)? = nil,
        live: LiveFeeds? = nil, watchlists: (any PartnerWatchlists)? = nil,
        justifications: JustificationDigest = JustificationDigest(key: SymmetricKey(size: .bits256)), logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() },
        onListening: @escaping @Sendable (_ tlsPort: Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.verifier = verifier
        self.api = PartnerAPI(
            currentAuthority: authority, archive: archive, audit: audit, alerts: alerts, snapshots: snapshots,
            live: live,
            watchlists: watchlists, justifications: justifications,
            streams: StreamQuota(perPartner: configuration.maximumStreamsPerPartner), clock: clock)
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let tls = try makeTLSConfiguration()
        let router = Router(context: PartnerRequestContext.self)
        router.add(
            middleware: PartnerIdentification(
                verifier: verifier,
                limiter: RateLimiter(perSecond: configuration.requestsPerSecond, burst: configuration.burst),
                limits: configuration.connectionLimits))
        api.register(on: router)

        let verifier = self.verifier, logger = self.logger, delay = configuration.authenticationFailureDelay
        // Made once (the metrics backend looks each one up by name and dimensions), counted on every handshake.
        let (trusted, refused) = (
            Counter(label: "veilgate_client_certificates_total", dimensions: [("outcome", "trusted")]),
            Counter(label: "veilgate_client_certificates_total", dimensions: [("outcome", "refused")])
        )
        let channelConfiguration = TLSChannelConfiguration(
            tlsConfiguration: tls,
            customVerificationCallback: verifier.verificationCallback { outcome in
                switch outcome {
                case .trusted:
                    trusted.increment()
                    return .certificateVerified
                case .refused(let reason):
                    refused.increment()
                    logger.notice("TLS client refused", metadata: ["reason": "\(reason)"])
                    // A random pause so timing tells a prober nothing about why.
                    try? await Task.sleep(for: .milliseconds(Int(Double.random(in: delay) * 1000)))
                    return .failed
                }
            })
        let idle = TimeAmount.nanoseconds(Int64(configuration.idleTimeout.components.seconds) * 1_000_000_000)
        // `onListening` runs once every listener is bound: `serve --user` drops root there, so nothing may bind after
        // it.
        let listeners = ListeningBarrier(expected: configuration.healthPort == nil ? 1 : 2, onListening: onListening)
        let partnerApp = Application(
            router: router,
            server: try .tls(.http1(configuration: .init(idleTimeout: idle)), configuration: channelConfiguration),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil,
                availableConnectionsDelegate: .maximum(configuration.maximumConnections, logger: logger)),
            onServerRunning: { channel in await listeners.bound(tlsPort: channel.localAddress?.port) },
            logger: logger)

        var services: [any Service] = [partnerApp]
        if let healthPort = configuration.healthPort {
            services.append(
                HealthCheck.application(
                    port: healthPort, api: api, logger: logger, metrics: configuration.metrics,
                    onListening: { await listeners.bound(tlsPort: nil) }))
        }
        let alerts = api.alerts
        // Open alert streams would hold a graceful shutdown until their next keep-alive; end them first.
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                for service in services {
                    group.addTask { try await service.run() }
                }
            }
        } onGracefulShutdown: {
            alerts.finishSubscriptions()
        }
        alerts.finishSubscriptions()
    }

    func makeTLSConfiguration() throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            try SecureFile.requirePrivate(configuration.keyPath)
            chain = try NIOSSLCertificate.fromPEMFile(configuration.certificatePath)
            key = try NIOSSLPrivateKey(file: configuration.keyPath, format: .pem)
        } catch let error as FederationError {
            throw error
        } catch {
            throw FederationError(
                .invalidConfiguration, "cannot load the server certificate \(configuration.certificatePath) or its key")
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        // Requests and requires a client certificate; the chain itself is checked by PeerVerifier.
        tls.certificateVerification = .noHostnameVerification
        let roots = verifier.current.siteRoots.compactMap { try? NIOSSLCertificate(bytes: $0.derBytes, format: .der) }
        tls.trustRoots = .certificates(roots)
        return tls
    }
}

/// `GET /health` on 127.0.0.1 over plain HTTP, for the host's own monitoring. Nothing else is served
/// without TLS, and nothing here names a partner, a camera or a count.
enum HealthCheck {
    static func application(
        port: Int, api: PartnerAPI, logger: Logger, metrics: (@Sendable () -> [UInt8])?,
        onListening: @escaping @Sendable () async -> Void = {}
    ) -> some Service {
        let router = Router()
        if let metrics {
            // Prometheus text format: counts by outcome, kind and camera; never a partner's certificate, a person or a
            // plate.
            router.get("metrics") { _, _ -> Response in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(bytes: metrics())))
            }
        }
        router.get("health") { _, _ -> Response in
            let body =
                #"{"status":"ok","policy":"\#(api.authority.policyVersion)","subscribers":\#(api.alerts.subscriberCount)}"#
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil),
            onServerRunning: { _ in await onListening() }, logger: logger)
    }
}

/// Calls `onListening` with the partner port once the expected number of listeners have bound.
actor ListeningBarrier {
    private var remaining: Int
    private var tlsPort = 0
    private let onListening: @Sendable (_ tlsPort: Int) async -> Void

    init(expected: Int, onListening: @escaping @Sendable (_ tlsPort: Int) async -> Void) {
        remaining = expected
        self.onListening = onListening
    }

    /// One listener is bound; the partner listener passes its port.
    func bound(tlsPort port: Int?) async {
        if let port { tlsPort = port }
        remaining -= 1
        if remaining == 0 { await onListening(tlsPort) }
    }
}
