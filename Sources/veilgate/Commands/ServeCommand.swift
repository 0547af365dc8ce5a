import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals
import VeilCore
import VeilFederation
import VeilGateway
import VeilMedia
import VeilPolicy
import VeilVault

/// `veilgate serve`: the gateway's long-running services in one `ServiceGroup`.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract:
            "Run the gateway: camera feeds, redacted live streams and the partner API over mutual TLS, alert fan-out, and the retention sweeper.",
        discussion: """
            Partners connect with client certificates from `veilgate certs issue`; each request is decided by \
            the policy and recorded in the vault's audit log. Every camera some partner may watch live is \
            ingested from its policy source (or --camera-source); a partner's live stream is redacted as its \
            grant demands, on demand. SIGHUP reloads the policy and the revocation list (an older policy \
            version is refused); SIGTERM or SIGINT shut down gracefully. See docs/federation.md.
            """
    )

    @OptionGroup var location: VaultLocation
    @OptionGroup var certs: CertsFolder

    @Option(
        help: ArgumentHelp(
            "Address to listen on for partners (default: loopback only; give the interface partners reach, or 0.0.0.0 for all).",
            valueName: "host"))
    var host: String = "127.0.0.1"

    @Option(help: "TLS port for partners.")
    var port: Int = 8443

    @Option(
        name: .customLong("console-port"),
        help: ArgumentHelp(
            "TLS port of the operator console, on --host (off unless given; 0: any free port). Operators present certificates from `veilgate certs issue --operator`.",
            valueName: "port"))
    var consolePort: Int?

    @Option(
        name: .customLong("health-port"),
        help: ArgumentHelp("Plain-HTTP /health and Prometheus /metrics on 127.0.0.1 only (0: none).", valueName: "port")
    )
    var healthPort: Int = 0

    @Option(
        name: .customLong("sweep-every"), help: ArgumentHelp("How often retention is applied.", valueName: "duration"))
    var sweepEvery: String = "1h"

    @Option(
        name: .customLong("policy-key"),
        help: ArgumentHelp(
            "The DPO's public key: load only a policy bundle signed with it (veilgate policy sign).", valueName: "file")
    )
    var policyKey: String?

    @Option(help: ArgumentHelp("Push endpoints and peer sites (see docs/federation.md).", valueName: "file"))
    var federation: String?

    @Option(
        name: .customLong("rate"),
        help: ArgumentHelp("Requests per second per partner (burst: twice that).", valueName: "n"))
    var rate: Double = 20

    @Option(
        name: .customLong("max-connections"),
        help: ArgumentHelp("Partner connections open at once, in all.", valueName: "n"))
    var maxConnections: Int = 512

    @Option(
        name: .customLong("max-connections-per-partner"),
        help: ArgumentHelp("Connections one partner may hold open.", valueName: "n"))
    var maxConnectionsPerPartner: Int = 16

    @Option(
        name: .customLong("max-streams-per-partner"),
        help: ArgumentHelp("Alert streams one partner may hold open.", valueName: "n"))
    var maxStreamsPerPartner: Int = 4

    @Option(
        name: .customLong("max-requests-per-connection"),
        help: ArgumentHelp("Requests on one keep-alive connection before it is closed.", valueName: "n"))
    var maxRequestsPerConnection: Int = 1000

    @Option(
        name: .customLong("max-connection-age"),
        help: ArgumentHelp("How long a connection may be used before it is closed.", valueName: "duration"))
    var maxConnectionAge: String = "1h"

    @Option(
        name: .customLong("max-validation-time"),
        help: ArgumentHelp(
            "How long one client certificate's validation may take before the client is refused.", valueName: "duration"
        ))
    var maxValidationTime: String = "2s"

    @Option(
        name: .customLong("log-format"), help: "Logs on standard error as text, or as JSON lines for a log collector.")
    var logFormat: OutputFormat = .text

    @Option(
        help: ArgumentHelp(
            "Started as root: drop to this user once the listeners are bound (to use a port below 1024 without systemd). The state folder must be the user's.",
            valueName: "name"))
    var user: String?

    @Flag(
        name: .customLong("allow-root"),
        help: "Run even as root (not recommended: run as an unprivileged user or with --user; see docs/operations.md).")
    var allowRoot = false

    @Option(
        name: .customLong("camera-source"),
        help: ArgumentHelp(
            "Take a camera's feed from this address instead of the policy's source (repeatable). A file plays in real time and loops.",
            valueName: "camera=address"))
    var cameraSources: [String] = []

    @Flag(name: .customLong("no-cameras"), help: "Ingest no camera feeds (no live streams, no recording).")
    var noCameras = false

    @Flag(
        name: .customLong("no-analytics"),
        help:
            "Run no camera analytics (zones, lines, loitering, crowds): cameras are ingested only to be watched or recorded."
    )
    var noAnalytics = false

    @Flag(
        inversion: .prefixedNo,
        help:
            "Record the cameras into the vault: original footage where the policy keeps it, and redacted with the default profile."
    )
    var record = true

    @Option(
        name: .customLong("detect-every"),
        help: ArgumentHelp("Live redaction: detect on every Nth frame; the tracker covers the rest.", valueName: "n"))
    var detectEvery: Int = 5

    @Option(
        name: .customLong("segment-seconds"),
        help: ArgumentHelp("Length of a live HLS segment (1–10 s).", valueName: "seconds"))
    var segmentSeconds: Double = 2

    func run() async throws {
        guard (1...10).contains(segmentSeconds) else { throw ValidationError("--segment-seconds must be 1 to 10") }
        guard geteuid() != 0 || allowRoot || user != nil else {
            throw ValidationError(
                """
                refusing to run as root: a gateway that parses what partners and cameras send should not hold every \
                privilege of the machine. Run it as an unprivileged user, give --user NAME to drop to one once the ports \
                are bound (see docs/operations.md), or pass --allow-root.
                """)
        }
        let serviceUser = try user.map { name in
            guard geteuid() == 0 else {
                throw ValidationError(
                    "--user \(name): only a gateway started as root drops privileges (this one runs as uid \(geteuid()))"
                )
            }
            let resolved = try ServiceUser.resolve(name)
            try resolved.requireOwnership(of: location.state)
            return resolved
        }
        guard let connectionAge = PolicyDuration(parsing: maxConnectionAge), connectionAge.seconds >= 1 else {
            throw ValidationError("--max-connection-age '\(maxConnectionAge)' must be a duration such as 1h or 10m")
        }
        guard let validationTime = PolicyDuration(parsing: maxValidationTime), validationTime.seconds >= 1 else {
            throw ValidationError("--max-validation-time '\(maxValidationTime)' must be a duration of at least 1s")
        }
        guard maxConnections >= 1, maxConnectionsPerPartner >= 1, maxStreamsPerPartner >= 1,
            maxRequestsPerConnection >= 1
        else {
            throw ValidationError("connection and stream limits must be at least 1")
        }
        guard detectEvery >= 1 else { throw ValidationError("--detect-every must be at least 1") }
        guard let sweep = PolicyDuration(parsing: sweepEvery), sweep.seconds >= 60 else {
            throw ValidationError("--sweep-every '\(sweepEvery)' must be a duration of at least 1m")
        }
        let json = logFormat == .json
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler(label: label) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let logger = Logger(label: "veilgate")
        // Counters and gauges from every part of the gateway, served as /metrics beside /health.
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        var verified: PolicyBundle.Verified?
        if let policyKey {
            do {
                verified = try PolicyBundle.verify(location.policyLocation.policy, publicKeyPath: policyKey)
                print(
                    "policy bundle signed by \(verified?.signer ?? ""): \(verified?.files.count ?? 0) file(s) verified")
            } catch let error as PolicyError { throw reportPolicyError(error) }
        }
        let (vault, policy) = try await location.open(mode: .readWrite)
        if let verified {
            do {
                try AcceptedPolicy.admit(
                    AcceptedPolicy(version: policy.version, bundle: verified), state: location.state)
            } catch let error as PolicyError { throw reportPolicyError(error) }
        }
        var gatewayConfiguration = Gateway.Configuration(
            policyPath: location.policyLocation.policy, state: location.state, certs: certs.authority,
            server: FederationServerConfiguration(
                host: host, port: port, certificatePath: certs.authority.serverCertificatePath,
                keyPath: certs.authority.serverKeyPath, healthPort: healthPort > 0 ? healthPort : nil))
        gatewayConfiguration.policyPublicKeyPath = policyKey
        gatewayConfiguration.verifiedBundle = verified
        gatewayConfiguration.validationTimeout = .seconds(Int64(validationTime.seconds))
        gatewayConfiguration.sweepInterval = .seconds(Int64(sweep.seconds))
        gatewayConfiguration.federation = try gatewayOperation {
            try federation.map {
                try FederationConfiguration.load($0, partners: Set(policy.document.partners.map(\.id)))
            }
                ?? FederationConfiguration()
        }
        gatewayConfiguration.server.metrics = { metrics.emitToBuffer() }
        gatewayConfiguration.server.requestsPerSecond = rate
        gatewayConfiguration.server.burst = rate * 2
        gatewayConfiguration.server.maximumConnections = maxConnections
        gatewayConfiguration.server.maximumStreamsPerPartner = maxStreamsPerPartner
        gatewayConfiguration.server.connectionLimits = PeerVerifier.ConnectionLimits(
            perCaller: maxConnectionsPerPartner, requestsPerConnection: maxRequestsPerConnection,
            lifetime: .seconds(Int64(connectionAge.seconds)))
        if let consolePort {
            gatewayConfiguration.console = Gateway.Console(
                host: host, port: consolePort,
                onListening: { [host] port in
                    print("operator console on https://\(host):\(port)/ (operator certificates)")
                    fflush(nil)
                })
        }
        if noCameras {
            gatewayConfiguration.cameras = nil
        } else {
            var cameras = Gateway.Cameras()
            cameras.sourceOverrides = cameraSources
            cameras.record = record
            cameras.analyse = !noAnalytics
            cameras.pipeline.segmentDuration = segmentSeconds
            cameras.pipeline.detectEvery = detectEvery
            cameras.pipeline.encoder.keyframeInterval = segmentSeconds
            gatewayConfiguration.cameras = cameras
        }
        try vault.audit.append(.policyLoaded, actor: "gateway", subject: "policy:\(policy.version)")
        let host = self.host
        let gate = PrivilegeGate()
        let (state, anchor) = (location.state, await vault.configuration.auditAnchorPath)
        let gateway = try await federationOperation {
            try await gatewayOperation {
                try await Gateway(
                    gatewayConfiguration, vault: vault, policy: policy, logger: logger,
                    warn: { printError("warning: \($0)") },
                    onListening: { port in
                        if let serviceUser {
                            // Fail closed: a gateway that cannot give root up stops rather than serve as root.
                            do {
                                serviceUser.handOver(folder: state, files: anchor.map { [$0] } ?? [])
                                try serviceUser.drop()
                                if let anchor {
                                    let anchorFolder = (anchor as NSString).deletingLastPathComponent
                                    guard
                                        access(anchor, W_OK) == 0
                                            || access(anchorFolder.isEmpty ? "." : anchorFolder, W_OK) == 0
                                    else {
                                        throw ValidationError(
                                            "\(serviceUser.name) cannot write the audit anchor \(anchor): chown it or set VEILGATE_AUDIT_ANCHOR"
                                        )
                                    }
                                }
                            } catch {
                                printError("error: \(error)")
                                Foundation.exit(EX_NOPERM)
                            }
                            print("dropped privileges to \(serviceUser.name) (uid \(serviceUser.uid))")
                        }
                        gate.open()
                        print(
                            "veilgate \(VeilgateVersion.current): partner API on https://\(host):\(port) (mutual TLS), policy \(policy.version)"
                        )
                        fflush(nil)  // flush stdout: a supervisor or test reads this line through a pipe
                    })
            }
        }
        for line in gateway.cameraSummaries { print(line) }
        // The vault and audit commands that need the vault open for writing run here while the gateway holds it.
        let control = ControlSocket(
            state: location.state, vault: vault, policy: { [policy = gateway.policy] in policy.policy }, logger: logger)
        print("vault commands run by this gateway meanwhile, through \(control.path)")
        var services = gateway.services + [control]
        if serviceUser != nil {
            // Everything but the listeners waits until root is given up, so none of its files is made as root.
            services = [services[0]] + services.dropFirst().map { gate.after($0) }
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        // A signed checkpoint at the newest entry, so a later verification covers this run completely.
        try vault.audit.checkpoint()
        print("veilgate stopped")
    }
}
