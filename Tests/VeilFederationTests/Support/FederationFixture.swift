import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import Synchronization
import Testing
import VeilAlerts
import VeilCore

@testable import VeilFederation

/// A site PKI in a temporary folder, with the certificates the tests connect with.
struct TestPKI {
    let root: String
    let site: SiteAuthority
    let police: IssuedCertificate
    let retailer: IssuedCertificate
    /// Valid, from the site CA, but its identity is in no policy.
    let stranger: IssuedCertificate
    let expired: IssuedCertificate
    let revoked: IssuedCertificate
    /// Claims the police identity but comes from a CA nobody trusts.
    let foreign: IssuedCertificate
    /// A partner that brings its own CA, and a certificate from that CA.
    let northtownCA: SiteAuthority
    let northtown: IssuedCertificate
    /// From northtown's CA but claiming to be the police: its CA is trusted for northtown only.
    let northtownImpostor: IssuedCertificate

    static let policeURI = "spiffe://city.example/partner/police"
    static let retailerURI = "spiffe://city.example/partner/bakerstreet-mall"
    static let northtownURI = "spiffe://northtown.example/gateway"

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("veil-pki-\(UUID().uuidString)").path
        site = SiteAuthority(directory: root + "/certs")
        try site.initialise(siteName: "Test City", serverNames: ["localhost"], addresses: ["127.0.0.1"])
        police = try site.issuePartnerCertificate(partner: "police", uri: Self.policeURI)
        retailer = try site.issuePartnerCertificate(partner: "bakerstreet-mall", uri: Self.retailerURI)
        stranger = try site.issuePartnerCertificate(partner: "stranger", uri: "spiffe://elsewhere.example/unknown")
        expired = try site.issuePartnerCertificate(
            partner: "police", uri: Self.policeURI, days: 1, now: Date().addingTimeInterval(-3 * 86400))
        revoked = try site.issuePartnerCertificate(partner: "police", uri: Self.policeURI)
        try site.revoke(serials: [revoked.serial])

        let foreignSite = SiteAuthority(directory: root + "/foreign")
        try foreignSite.initialise(siteName: "Foreign", serverNames: ["localhost"], addresses: ["127.0.0.1"])
        foreign = try foreignSite.issuePartnerCertificate(partner: "police", uri: Self.policeURI)

        northtownCA = SiteAuthority(directory: root + "/northtown")
        try northtownCA.initialise(siteName: "Northtown", serverNames: ["localhost"], addresses: ["127.0.0.1"])
        northtown = try northtownCA.issuePartnerCertificate(partner: "northtown-gateway", uri: Self.northtownURI)
        northtownImpostor = try northtownCA.issuePartnerCertificate(partner: "police", uri: Self.policeURI)
    }

    func trust(authority: any PartnerIdentities) throws -> PeerTrust {
        PeerTrust(
            siteRoots: [try PEMFile.certificate(at: site.caCertificatePath)],
            partnerRoots: ["northtown-gateway": [try PEMFile.certificate(at: northtownCA.caCertificatePath)]],
            revokedSerials: try site.revocationList().serials, identities: authority)
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

/// A small policy for the server tests: the police see two cameras live, as clips (justified) and their
/// alerts; the mall sees counts of its own camera; the northtown gateway gets restricted-zone alerts of one
/// camera, kind and camera fields only. The real policy engine is exercised end to end in VeilgateCLITests.
struct TestAuthority: SharingAuthority {
    var policyVersion = "test-1"
    /// Whether the northtown gateway may pass on the alerts it gets (peer-site grants default to no).
    var northtownMayReshare = false
    /// Whether the police's live grant on the market square is in its time window.
    var policeLiveOpen = true
    /// Whether that grant lets the police pass the stream on (as a peer site's grant may).
    var policeLiveReshare = false
    /// Whether the police's alert grant sends snapshots.
    var policeSnapshots = false
    /// The redaction the police's live grant demands.
    static let policeLive = RedactionSpec(classes: [.faces, .plates], mode: .blur, shape: .ellipse, margin: 0.15)
    var partnerAuthorities: [PartnerID: String] = [:]
    /// Whether the mall gets crowd-count alerts from its entrance (beside its counts).
    var mallCrowdAlerts = false

    func partner(forCertificateURI uri: String) -> PartnerID? {
        switch uri {
        case TestPKI.policeURI: "police"
        case TestPKI.retailerURI: "bakerstreet-mall"
        case TestPKI.northtownURI: "northtown-gateway"
        default: nil
        }
    }

    func partner(forFingerprint fingerprint: String) -> PartnerID? { nil }

    func cameras(sharedWith partner: PartnerID) -> [CameraID: Set<SharingActionKind>] {
        switch partner {
        case "police": ["market-square": [.live, .clip, .alert], "station-forecourt": [.live, .clip, .alert]]
        case "bakerstreet-mall": ["mall-entrance": [.counts]]
        case "northtown-gateway": ["station-forecourt": [.alert]]
        default: [:]
        }
    }

    func verdict(for request: AccessRequest) -> SharingVerdict {
        let spec = RedactionSpec(classes: [.faces, .plates])
        switch (request.partner.rawValue, request.action, request.camera.rawValue) {
        case ("police", .clip, "market-square"), ("police", .clip, "station-forecourt"):
            guard request.hasJustification else {
                return SharingVerdict(
                    isAllowed: false, rules: [], reasons: ["justification-missing", "default-deny"], redaction: nil)
            }
            guard let start = request.footageStart, request.at.timeIntervalSince(start) <= 72 * 3600 else {
                return SharingVerdict(
                    isAllowed: false, rules: [], reasons: ["footage-too-old", "default-deny"], redaction: nil)
            }
            return SharingVerdict(
                isAllowed: true, rules: ["police-evidence-clips"], reasons: ["granted"], redaction: spec)
        case ("police", .live, "market-square") where policeLiveOpen:
            return SharingVerdict(
                isAllowed: true, rules: ["police-live"], reasons: ["granted"], redaction: Self.policeLive,
                reshareAllowed: policeLiveReshare)
        case ("police", .alert, "market-square"), ("police", .alert, "station-forecourt"):
            return SharingVerdict(
                isAllowed: true, rules: ["police-incident-alerts"], reasons: ["granted"], redaction: spec,
                alertFields: [.kind, .camera, .zone, .time, .boxes] + (policeSnapshots ? [.snapshot] : []))
        case ("bakerstreet-mall", .alert(.crowdCount), "mall-entrance") where mallCrowdAlerts:
            return SharingVerdict(
                isAllowed: true, rules: ["mall-crowd-alerts"], reasons: ["granted"], redaction: spec,
                alertFields: [.kind, .camera, .time, .count])
        case ("bakerstreet-mall", .counts, "mall-entrance"):
            return SharingVerdict(isAllowed: true, rules: ["mall-counts"], reasons: ["granted"], redaction: spec)
        case ("northtown-gateway", .alert(.restrictedZone), "station-forecourt"):
            return SharingVerdict(
                isAllowed: true, rules: ["peer-alerts"], reasons: ["granted"], redaction: spec,
                alertFields: [.kind, .camera], reshareAllowed: northtownMayReshare)
        default:
            return .denied
        }
    }
}

/// Footage held in memory: two redacted segments of the market square, one raw, one of unknown redaction.
struct MemoryArchive: FootageArchive {
    var segments: [FootageSegment]
    var contents: [String: [UInt8]]

    init(now: Date) {
        let spec = RedactionSpec(classes: [.faces, .plates])
        segments = [
            FootageSegment(
                id: "seg-a", camera: "market-square", category: .redactedVideo, start: now.addingTimeInterval(-600),
                end: now.addingTimeInterval(-594), size: 5, container: "mp4", redaction: spec),
            FootageSegment(
                id: "seg-b", camera: "market-square", category: .redactedVideo, start: now.addingTimeInterval(-594),
                end: now.addingTimeInterval(-588), size: 5, container: "mp4", redaction: spec),
            FootageSegment(
                id: "seg-raw", camera: "market-square", category: .rawVideo, start: now.addingTimeInterval(-600),
                end: now.addingTimeInterval(-594), size: 3, container: "mp4", redaction: .unredacted),
            FootageSegment(
                id: "seg-old", camera: "market-square", category: .redactedVideo,
                start: now.addingTimeInterval(-5 * 86400),
                end: now.addingTimeInterval(-5 * 86400 + 6), size: 5, container: "mp4", redaction: spec),
        ]
        contents = [
            "seg-a": Array("AAAAA".utf8), "seg-b": Array("BBBBB".utf8), "seg-raw": Array("RAW".utf8),
            "seg-old": Array("OLDOL".utf8),
        ]
    }

    func footage(camera: CameraID, from: Date, to: Date) async throws -> [FootageSegment] {
        segments.filter { $0.camera == camera && $0.end > from && $0.start < to }
    }

    func footage(camera: CameraID, id: String) async throws -> FootageSegment? {
        segments.first { $0.camera == camera && $0.id == id }
    }

    func contents(of segment: FootageSegment) async throws -> [UInt8] { contents[segment.id] ?? [] }
}

/// Audit entries kept in memory, to check what was recorded.
actor MemoryAudit: AccessAuditTrail {
    private(set) var entries: [AccessAuditEntry] = []
    func record(_ entry: AccessAuditEntry) async throws { entries.append(entry) }
}

/// A running federation server on an ephemeral loopback port, and clients for it.
final class RunningServer: Sendable {
    let port: Int
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let pki: TestPKI
    let audit: MemoryAudit
    let broker: AlertBroker
    let verifier: PeerVerifier
    /// The policy in force for the server: a test swaps it as a reload would.
    let policy: PolicyBox

    /// Swaps in `authority` as a policy reload would: for decisions, and for who the verifier says certificates belong
    /// to.
    func reload(_ authority: any SharingAuthority) async throws {
        policy.set(authority)
        await verifier.update(try pki.trust(authority: authority))
    }

    static func start(
        pki: TestPKI, authority: any SharingAuthority = TestAuthority(), journalPath: String? = nil,
        live: LiveFeeds? = nil, snapshots: (any AlertSnapshotStore)? = nil,
        configure: (inout FederationServerConfiguration) -> Void = { _ in },
        clock: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> RunningServer {
        let audit = MemoryAudit()
        let journal = try AlertJournal(path: journalPath ?? pki.root + "/alerts.sqlite")
        let broker = AlertBroker(journal: journal)
        // Generous: CI runs the CPU-bound vision tests alongside on two cores, and a handshake's verification waits for
        // a free thread of the concurrency pool; at the production 2 s deadline handshakes were refused there
        // (remoteConnectionClosed). These tests are about who gets in, not about the deadline (a backstop for
        // pathological chains, tested by HardeningTests.validationDeadline).
        let verifier = PeerVerifier(try pki.trust(authority: authority), validationTimeout: .seconds(60))
        var configuration = FederationServerConfiguration(
            host: "127.0.0.1", port: 0, certificatePath: pki.site.serverCertificatePath,
            keyPath: pki.site.serverKeyPath)
        configuration.authenticationFailureDelay = 0.0...0.01
        configuration.requestsPerSecond = 1000
        configuration.burst = 1000
        configure(&configuration)
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let policy = PolicyBox(authority)
        let server = FederationServer(
            configuration: configuration, verifier: verifier, authority: { policy.current },
            archive: MemoryArchive(now: Date()),
            audit: audit, alerts: broker, snapshots: snapshots, live: live, logger: logger, clock: clock,
            onListening: { port in portContinuation.yield(port) })
        let group = ServiceGroup(configuration: .init(services: [server, broker], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw FederationError(.server, "server did not start") }
        return RunningServer(
            port: port, group: group, task: task, pki: pki, audit: audit, broker: broker, verifier: verifier,
            policy: policy)
    }

    private init(
        port: Int, group: ServiceGroup, task: Task<Void, any Error>, pki: TestPKI, audit: MemoryAudit,
        broker: AlertBroker,
        verifier: PeerVerifier, policy: PolicyBox
    ) {
        self.port = port
        self.group = group
        self.task = task
        self.pki = pki
        self.audit = audit
        self.broker = broker
        self.verifier = verifier
        self.policy = policy
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    func url(_ path: String) -> String { "https://127.0.0.1:\(port)\(path)" }

    /// An HTTPS client presenting `certificate` (nil: none) and trusting the site CA.
    func client(_ certificate: IssuedCertificate?) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki.site.caCertificatePath))
        if let certificate {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate.certificatePath).map {
                .certificate($0)
            }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: certificate.keyPath, format: .pem))
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        // Generous: CI runs the CPU-bound vision tests alongside on two cores, and a handshake's verification
        // waits for a free thread of the concurrency pool.
        configuration.timeout = .init(connect: .seconds(30), read: .seconds(60))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Runs `body` with a client, shutting it down afterwards whatever happens (AHC asserts on a client that
    /// goes away without a shutdown).
    func withClient<T>(_ certificate: IssuedCertificate?, _ body: (HTTPClient) async throws -> T) async throws -> T {
        let client = try client(certificate)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// GET with one client, returning status and body; the client is shut down afterwards.
    func get(
        _ path: String, as certificate: IssuedCertificate?, headers: [(String, String)] = []
    ) async throws -> (status: Int, body: String) {
        let client = try client(certificate)
        do {
            var request = HTTPClientRequest(url: url(path))
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            let response = try await client.execute(request, timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 1 << 20)
            try await client.shutdown()
            return (Int(response.status.code), String(buffer: body))
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

/// The policy in force for a test server (the gateway's is `PolicyInForce`).
final class PolicyBox: Sendable {
    private let authority: Mutex<any SharingAuthority>
    init(_ authority: any SharingAuthority) { self.authority = Mutex(authority) }
    var current: any SharingAuthority { authority.withLock { $0 } }
    func set(_ authority: any SharingAuthority) { self.authority.withLock { $0 = authority } }
}
