import Foundation
public import Logging
import NIOSSL
public import ServiceLifecycle
import VeilAlerts
import VeilAnalytics
import VeilConsole
import VeilCore
public import VeilFederation
import VeilMedia
public import VeilPolicy
public import VeilVault
import VeilVision
import X509

/// The gateway's long-running parts, wired together: the partner API, the policy in force and what follows it, the
/// retention sweeper, the camera pipelines under their supervisor, alert push and peer subscriptions. `veilgate serve`
/// parses its options into a ``Configuration``, assembles a gateway, and runs ``services`` in one `ServiceGroup`.
///
/// This is the one library that imports the feature targets; each of them knows only `VeilCore`.
public struct Gateway: Sendable {
    public struct Configuration: Sendable {
        /// The policy file or folder, reloaded on SIGHUP.
        public var policyPath: String
        /// The DPO's public key: only bundles signed with it are loaded.
        public var policyPublicKeyPath: String?
        /// The signed bundle the policy at start-up came from (verified by the caller), when bundles are signed.
        public var verifiedBundle: PolicyBundle.Verified?
        /// The state folder: alert journal, outbox, accepted policy version, justification key.
        public var state: String
        public var certs: SiteAuthority
        public var server: FederationServerConfiguration
        public var validationTimeout: Duration = .seconds(2)
        public var sweepInterval: Duration = .seconds(3600)
        public var federation = FederationConfiguration()
        /// Nil: no camera is ingested.
        public var cameras: Cameras? = Cameras()
        /// The operator console's listener; nil for none.
        public var console: Console?

        public init(policyPath: String, state: String, certs: SiteAuthority, server: FederationServerConfiguration) {
            self.policyPath = policyPath
            self.state = state
            self.certs = certs
            self.server = server
        }
    }

    /// Where the operator console listens (`veilgate serve --console-port`). It uses the partner API's server
    /// certificate and the site CA; operators present certificates from `veilgate certs issue --operator`.
    public struct Console: Sendable {
        public var host: String
        public var port: Int
        /// Called once the console's listener is bound, with its port.
        public var onListening: @Sendable (Int) -> Void

        public init(host: String, port: Int, onListening: @escaping @Sendable (Int) -> Void = { _ in }) {
            self.host = host
            self.port = port
            self.onListening = onListening
        }
    }

    /// Which cameras run and how.
    public struct Cameras: Sendable {
        /// `CAMERA=ADDRESS`: a camera's feed from elsewhere than its policy source.
        public var sourceOverrides: [String] = []
        /// Record what the policy keeps into the vault.
        public var record = true
        /// Run the analytics the policy declares.
        public var analyse = true
        public var pipeline = CameraPipeline.Settings()

        public init() {}
    }

    public let policy: PolicyInForce
    public let server: FederationServer
    /// Every service, the partner API's server first (it binds the listeners).
    public let services: [any Service]
    /// One line per camera ingested at start-up: where from, what is recorded and analysed (no credentials).
    public let cameraSummaries: [String]

    /// Assembles the gateway over an open vault and the policy it was opened under. Throws ``GatewayError`` for a
    /// configuration that cannot work, `FederationError` for PKI files that cannot be read.
    /// - Parameters:
    ///   - warn: what is wrong with the cameras at start-up (one the gateway cannot ingest, say); later reloads log it.
    ///   - onListening: called once the partner API's listener is bound, with its port.
    public init(
        _ configuration: Configuration, vault: Vault, policy initial: CompiledPolicy, logger: Logger,
        warn: (String) -> Void = { _ in }, onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) async throws {
        let certs = configuration.certs
        let siteRoots = [try certs.caCertificate()]
        let policy = PolicyInForce(
            .init(
                policy: initial, revokedSerials: try certs.revocationList().serials,
                partnerRoots: try GatewayTrust.partnerRoots(of: initial, verified: configuration.verifiedBundle),
                signer: configuration.verifiedBundle?.signer))
        self.policy = policy
        let verifier = PeerVerifier(
            GatewayTrust.peerTrust(policy.current, siteRoots: siteRoots),
            validationTimeout: configuration.validationTimeout)
        let journal = try AlertJournal(path: configuration.state + "/alerts.sqlite")
        let broker = AlertBroker(journal: journal)
        let live = LiveFeeds(cameras: [])
        let justifications = try JustificationDigest.load(
            creatingAt: (configuration.state as NSString).appendingPathComponent(JustificationDigest.fileName))
        let audit = VaultAuditTrail(log: vault.audit)
        let authority: @Sendable () -> any SharingAuthority = { policy.policy }
        // Alert snapshots: made by the camera analytics, read by the alert stream and push delivery.
        let snapshots = VaultAlertSnapshots(vault: vault, policyVersion: { policy.policy.version })
        // Partners' plate watchlists (keyed hashes): uploaded by their owners, read by cameras that run
        // watchlist-match.
        let watchlists = try Watchlists(state: configuration.state)
        server = FederationServer(
            configuration: configuration.server, verifier: verifier, authority: authority,
            archive: VaultFootageArchive(vault: vault),
            audit: audit, alerts: broker,
            snapshots: snapshots, live: live, watchlists: VaultPartnerWatchlists(watchlists: watchlists),
            justifications: justifications, logger: logger,
            onListening: onListening)
        let reloader = PolicyReloader(
            policyPath: configuration.policyPath, publicKeyPath: configuration.policyPublicKeyPath,
            state: configuration.state,
            certs: certs, policy: policy, audit: vault.audit, logger: logger)
        var services: [any Service] = [
            server,
            // The alert journal's delivery loop: to SSE streams, push delivery and the console alike.
            broker,
            PolicyFollowers(policy: policy, verifier: verifier, siteRoots: siteRoots, vault: vault, logger: logger),
            RetentionSweeper(
                vault: vault, journal: journal, policy: policy, interval: configuration.sweepInterval, logger: logger),
            reloader,
        ]
        var summaries: [String] = []
        let cameraStatus = CameraStatusBoard()
        if let cameras = configuration.cameras {
            let recorder = VaultRecordingSink(vault: vault, policyVersion: { policy.policy.version }, logger: logger)
            let pipelines: @Sendable (CompiledPolicy, Bool, (String) -> Void) throws -> [CameraPipeline] = {
                policy, lenient, warn in
                let made = try Self.pipelines(
                    for: policy, cameras: cameras, peers: configuration.federation.peers, lenient: lenient, live: live,
                    recorder: recorder, snapshots: snapshots, broker: broker, watchlists: watchlists,
                    status: cameraStatus, logger: logger, warn: warn)
                // Each camera is a thread of its own: with two or more, OpenCV's networks run on the calling thread
                // rather than each call fanning out over every core against the other cameras' (as `make bench`
                // measures them). One camera keeps OpenCV's threads.
                VisionRuntime.setThreads(made.count > 1 ? 1 : 0)
                return made
            }
            let initialPipelines = try pipelines(initial, false, warn)
            summaries = initialPipelines.map(Self.summary)
            services.append(
                CameraSupervisor(
                    pipelines: { try pipelines($0, true, $1) }, initial: initialPipelines, policy: policy,
                    feeds: live, logger: logger))
        }
        cameraSummaries = summaries
        if !configuration.federation.push.isEmpty {
            let outbox = try AlertOutbox(path: configuration.state + "/outbox.sqlite")
            for endpoint in configuration.federation.push {
                services.append(
                    PushDelivery(
                        endpoint: endpoint, outbox: outbox, alerts: broker, authority: authority, audit: audit,
                        snapshots: snapshots,
                        logger: logger))
            }
        }
        for peer in configuration.federation.peers {
            services.append(PeerSubscription(peer: peer, alerts: broker, logger: logger))
        }
        if let console = configuration.console {
            services.append(
                try Self.console(
                    console, configuration: configuration, siteRoots: siteRoots, verifier: verifier, policy: policy,
                    live: live, status: cameraStatus, snapshots: snapshots, alerts: broker, journal: journal,
                    vault: vault, reloader: reloader, logger: logger))
        }
        self.services = services
    }

    /// The operator console over the policy in force, the live feeds, the alert journal and the vault.
    static func console(
        _ console: Console, configuration: Configuration, siteRoots: [Certificate], verifier: PeerVerifier,
        policy: PolicyInForce, live: LiveFeeds, status: CameraStatusBoard, snapshots: any AlertSnapshotStore,
        alerts: any AlertSource, journal: AlertJournal, vault: Vault, reloader: PolicyReloader, logger: Logger
    ) throws -> ConsoleServer {
        let roots = try siteRoots.map { try NIOSSLCertificate(bytes: $0.derBytes, format: .der) }
        let settings = ConsoleServerConfiguration(
            host: console.host, port: console.port, certificatePath: configuration.server.certificatePath,
            keyPath: configuration.server.keyPath, clientCARoots: roots,
            verifyClient: verifier.verificationCallback { outcome in
                if case .trusted = outcome { return .certificateVerified }
                logger.notice("console: TLS client refused")
                return .failed
            })
        let onListening = console.onListening
        // Bundles are written there only while a download sends them; one left by a crash goes now.
        let exports = configuration.state + "/console-exports"
        try? FileManager.default.removeItem(atPath: exports)
        return ConsoleServer(
            configuration: settings, directory: PolicyOperatorDirectory(policy: policy, verifier: verifier),
            cameras: GatewayConsoleCameras(policy: policy, live: live, status: status, snapshots: snapshots),
            alerts: alerts,
            policy: PolicyFileDesk(
                policyPath: configuration.policyPath, policy: policy, reloader: reloader,
                upload: PolicyUpload(
                    policyPath: configuration.policyPath, state: configuration.state, reloader: reloader)),
            audit: VaultConsoleAudit(vault: vault),
            evidence: VaultEvidenceDesk(vault: vault, policy: policy, exportsFolder: exports),
            partners: GatewayConsolePartners(policy: policy, certs: configuration.certs, vault: vault),
            acknowledgements: JournalAlertDesk(journal: journal, vault: vault),
            logger: logger, onListening: { onListening($0) })
    }

    /// The pipelines `policy` calls for: each camera some partner may watch live, whose video the policy keeps, or that
    /// it analyses.
    static func pipelines(
        for policy: CompiledPolicy, cameras: Cameras, peers: [PeerSite], lenient: Bool, live: LiveFeeds,
        recorder: VaultRecordingSink, snapshots: any AlertSnapshotStore, broker: any AlertSink,
        watchlists: Watchlists? = nil, status: CameraStatusBoard? = nil, logger: Logger, warn: (String) -> Void
    ) throws -> [CameraPipeline] {
        try CameraFeed.resolve(
            policy: policy, overrides: cameras.sourceOverrides, recording: cameras.record, analysing: cameras.analyse,
            peers: peers, lenient: lenient, warn: warn
        )
        .map { feed in
            // Video is recorded from a rendition: original footage unredacted, the other with the default profile.
            var categories: [DataCategory: RedactionSpec] = [:]
            if feed.stores.contains(.rawVideo) { categories[.rawVideo] = .unredacted }
            if feed.stores.contains(.redactedVideo) { categories[.redactedVideo] = policy.defaultRedaction }
            // An unmask layer is sealed to the policy's two approvers, beside the redacted video.
            var approvers: [UnmaskApprover] = []
            if feed.stores.contains(.unmaskLayer) {
                approvers = policy.unmaskApprovers.compactMap { approver in
                    RecipientPublicKey(hex: approver.key).map { UnmaskApprover(role: approver.role, key: $0) }
                }
                if approvers.count != 2 || categories[.redactedVideo] == nil {
                    warn(
                        "camera \(feed.camera.rawValue): produces unmask-layer, but the policy names no two approvers (retention.unmasking) or the camera keeps no redacted-video; no layer is kept"
                    )
                    approvers = []
                }
            }
            let recording =
                feed.stores.isEmpty
                ? nil
                : CameraPipeline.Recording(
                    categories: categories, keepsAudio: feed.stores.contains(.audio), sink: recorder,
                    unmaskApprovers: approvers)
            // The camera's analytics raise alerts into the journal, which the broker fans out like any other.
            let tracks = feed.analytics.map { setup in
                CameraAnalyticsSink(
                    setup: setup,
                    // A snapshot only where some grant sends one, redacted for the least revealing of them.
                    snapshots: policy.snapshotRedaction(camera: feed.camera).map {
                        AlertSnapshotting(redaction: $0, store: snapshots)
                    },
                    plates: setup.analytics.contains(.watchlistMatch)
                        ? Self.plateWatch(camera: feed.camera, watchlists: watchlists, warn: warn) : nil,
                    vehicles: setup.analytics.contains(.vehicleDwell)
                        ? Self.vehicleWatch(camera: feed.camera, warn: warn) : nil,
                    raise: { alert in
                        do { try broker.publish(alert) } catch {
                            logger.error(
                                "alert not journaled",
                                metadata: ["camera": "\(alert.camera.rawValue)", "error": "\(error)"])
                        }
                    },
                    record: { counts in
                        do { try broker.record(counts) } catch {
                            logger.error(
                                "counts not journaled",
                                metadata: ["camera": "\(setup.camera.rawValue)", "error": "\(error)"])
                        }
                    }, logger: logger)
            }
            var pipeline = CameraPipeline(
                camera: feed.camera, address: feed.address, peer: feed.peer, paced: feed.isFile, live: live,
                settings: cameras.pipeline, recording: recording, tracks: tracks, masks: feed.masks, logger: logger)
            pipeline.status = status
            return pipeline
        }
    }

    /// A camera's watchlist matching, or nil with a warning when the plate text recogniser is missing.
    static func plateWatch(camera: CameraID, watchlists: Watchlists?, warn: (String) -> Void) -> PlateWatch? {
        guard let watchlists else { return nil }
        do {
            return PlateWatch(camera: camera, reader: try VisionModels().plateReader(), watchlists: watchlists)
        } catch {
            warn("camera \(camera.rawValue): watchlist-match reads no plates: \(error)")
            return nil
        }
    }

    /// A camera's vehicle watch, or nil with a warning when the vehicle model is missing.
    static func vehicleWatch(camera: CameraID, warn: (String) -> Void) -> VehicleWatch? {
        do {
            return VehicleWatch(detector: try VisionModels().vehicles())
        } catch {
            warn("camera \(camera.rawValue): vehicle-dwell sees no vehicles: \(error)")
            return nil
        }
    }

    /// `camera C: feed rtsp://host/path, live on demand, recording …, analysing …` (the address without credentials).
    static func summary(_ pipeline: CameraPipeline) -> String {
        let stored =
            ((pipeline.recording?.categories.keys.map(\.rawValue) ?? []).sorted()
            + (pipeline.recording?.keepsAudio == true ? ["audio"] : [])).joined(separator: " and ")
        let origin =
            pipeline.peer != nil
            ? pipeline.address : "\(pipeline.paced ? "file" : "feed") \(redactedAddress(pipeline.address))"
        let analysed =
            (pipeline.tracks as? CameraAnalyticsSink).map {
                ", analysing \($0.setup.analytics.map(\.rawValue).sorted().joined(separator: ", "))"
            } ?? ""
        return "camera \(pipeline.camera.rawValue): \(origin), live on demand"
            + (stored.isEmpty ? "" : ", recording \(stored)") + analysed
    }
}
