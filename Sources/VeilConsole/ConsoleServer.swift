public import Crypto
import Foundation
import Hummingbird
import HummingbirdTLS
public import Logging
public import NIOCore
public import NIOSSL
public import ServiceLifecycle
public import VeilCore

/// Where and how the console listens.
public struct ConsoleServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The gateway's server certificate and key (the same as the partner API's).
    public var certificatePath: String
    public var keyPath: String
    /// The site CA: operators' client certificates must chain to it.
    public var clientCARoots: [NIOSSLCertificate]
    /// Checks a client's chain at the handshake (the gateway's verifier: the site CA, its revocation list, the
    /// clientAuth usage), completing the promise — NIOSSL's hook, which replaces BoringSSL's own check, so it must
    /// validate the whole chain.
    public var verifyClient: @Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResult>) -> Void
    /// libjs-codemirror's folder, nil for none (the editor becomes a plain text area).
    public var codeMirrorDirectory: String?
    /// libjs-leaflet's folder, nil for none (no camera map).
    public var leafletDirectory: String? = ConsoleServerConfiguration.debianLeaflet
    /// Connections the console serves at once; beyond it, new ones wait.
    public var maximumConnections = 64

    public init(
        host: String = "0.0.0.0", port: Int, certificatePath: String, keyPath: String,
        clientCARoots: [NIOSSLCertificate],
        verifyClient: @escaping @Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResult>) -> Void,
        codeMirrorDirectory: String? = ConsoleServerConfiguration.debianCodeMirror
    ) {
        self.host = host
        self.port = port
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.clientCARoots = clientCARoots
        self.verifyClient = verifyClient
        self.codeMirrorDirectory = codeMirrorDirectory
    }

    /// Where Debian's libjs-leaflet installs Leaflet, if it does.
    public static var debianLeaflet: String? {
        let path = "/usr/share/javascript/leaflet"
        return FileManager.default.fileExists(atPath: path + "/leaflet.js") ? path : nil
    }

    /// Where Debian's libjs-codemirror installs CodeMirror 5, if it does.
    public static var debianCodeMirror: String? {
        let path = "/usr/share/javascript/codemirror"
        return FileManager.default.fileExists(atPath: path + "/lib/codemirror.js") ? path : nil
    }
}

/// The operator and DPO console: its pages and the operator API on their own HTTPS port, for operators' client
/// certificates only, as a `Service` with graceful shutdown.
public final class ConsoleServer: Service, Sendable {
    public let configuration: ConsoleServerConfiguration
    let api: OperatorAPI
    let csrfKey: SymmetricKey
    let logger: Logger
    let onListening: @Sendable (_ port: Int) async -> Void

    public init(
        configuration: ConsoleServerConfiguration, directory: any OperatorDirectory, cameras: any ConsoleCameras,
        alerts: any AlertSource, policy: any ConsolePolicyDesk, audit: any ConsoleAuditDesk,
        evidence: any ConsoleEvidenceDesk, partners: any ConsolePartners, acknowledgements: any ConsoleAlertDesk,
        approvals: TwoPersonRule = TwoPersonRule(), grants: EvidenceGrants = EvidenceGrants(),
        csrfKey: SymmetricKey = SymmetricKey(size: .bits256), logger: Logger,
        onListening: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        api = OperatorAPI(
            directory: directory, cameras: cameras, alerts: alerts, policy: policy, audit: audit, evidence: evidence,
            approvals: approvals, partners: partners, acknowledgements: acknowledgements, grants: grants,
            logger: logger)
        self.csrfKey = csrfKey
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let router = Router(context: ConsoleRequestContext.self)
        router.add(middleware: OperatorAuthentication(directory: api.directory, csrfKey: csrfKey))
        api.register(on: router)
        ConsolePage.register(
            on: router, vendorDirectory: configuration.codeMirrorDirectory,
            leafletDirectory: configuration.leafletDirectory)
        let logger = self.logger
        let channel = TLSChannelConfiguration(
            tlsConfiguration: try makeTLSConfiguration(), customVerificationCallback: configuration.verifyClient)
        let onListening = self.onListening
        let app = Application(
            router: router,
            server: try .tls(.http1(configuration: .init(idleTimeout: .seconds(60))), configuration: channel),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil,
                availableConnectionsDelegate: .maximum(configuration.maximumConnections, logger: logger)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        let alerts = api.alerts
        try await withGracefulShutdownHandler {
            try await app.run()
        } onGracefulShutdown: {
            // Open alert streams would hold the shutdown until their next keep-alive.
            alerts.finishSubscriptions()
        }
    }

    func makeTLSConfiguration() throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(configuration.certificatePath)
            key = try NIOSSLPrivateKey(file: configuration.keyPath, format: .pem)
        } catch {
            throw ConsoleError(
                .invalidConfiguration, "cannot load the server certificate \(configuration.certificatePath) or its key")
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .noHostnameVerification
        tls.trustRoots = .certificates(configuration.clientCARoots)
        return tls
    }
}
