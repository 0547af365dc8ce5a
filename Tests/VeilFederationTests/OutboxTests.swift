import Foundation
import Hummingbird
import HummingbirdTLS
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

/// A partner's alert endpoint over mutual TLS: it trusts the city's CA for clients and records what arrives.
final class PartnerReceiver: Sendable {
    let received = Mutex<[(key: String, body: String)]>([])
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.group = group
        self.task = task
    }

    /// Starts on `port` (0: any) with northtown's server certificate, accepting clients of the city CA.
    static func start(pki: TestPKI, port: Int, into received: PartnerReceiver? = nil) async throws -> PartnerReceiver {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(pki.northtownCA.serverCertificatePath).map {
                .certificate($0)
            },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: pki.northtownCA.serverKeyPath, format: .pem)))
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki.site.caCertificatePath))
        tls.certificateVerification = .noHostnameVerification
        let box = Box()
        let router = Router()
        router.post("alerts") { request, context -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 16)
            box.receiver?.received.withLock {
                $0.append((request.headers[.init("Idempotency-Key")!] ?? "", String(buffer: body)))
            }
            return .ok
        }
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "receiver")
        logger.logLevel = .critical
        let app = Application(
            router: router, server: try .tls(tlsConfiguration: tls),
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { portContinuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let bound = await iterator.next() ?? 0
        let receiver = PartnerReceiver(port: bound, group: group, task: task)
        if let received { receiver.received.withLock { $0 = received.received.withLock { $0 } } }
        box.receiver = receiver
        return receiver
    }

    final class Box: @unchecked Sendable {
        // Set once, right after start, before any request can arrive.
        var receiver: PartnerReceiver?
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

@Suite("Push outbox", .serialized)
struct OutboxTests {
    static func delivery(
        _ server: RunningServer, _ pki: TestPKI, port: Int, outbox: AlertOutbox, identity: IssuedCertificate,
        snapshots: (any AlertSnapshotStore)? = nil
    )
        -> (ServiceGroup, Task<Void, any Error>)
    {
        let endpoint = PushEndpoint(
            partner: "police",
            remote: RemoteEndpoint(
                url: "https://127.0.0.1:\(port)/alerts", caPath: pki.northtownCA.caCertificatePath,
                certificatePath: identity.certificatePath, keyPath: identity.keyPath))
        var logger = Logger(label: "push")
        logger.logLevel = .critical
        let push = PushDelivery(
            endpoint: endpoint, outbox: outbox, alerts: server.broker, authority: { server.policy.current },
            audit: server.audit, snapshots: snapshots,
            logger: logger, baseDelay: .milliseconds(50), maxDelay: .milliseconds(400), tick: .milliseconds(50))
        let group = ServiceGroup(configuration: .init(services: [push], logger: logger))
        return (group, Task { try await group.run() })
    }

    @Test(
        "A partner offline receives everything once it returns, exactly what its grant allows, across a gateway restart"
    )
    func offlinePartner() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let server = try await RunningServer.start(pki: pki)
        let identity = try pki.site.issuePartnerCertificate(
            partner: "city-gateway", uri: "spiffe://city.example/gateway")
        // Learn a free port, then take the partner offline.
        let probe = try await PartnerReceiver.start(pki: pki, port: 0)
        let port = probe.port
        await probe.stop()

        let path = pki.root + "/outbox.sqlite"
        var outbox = try AlertOutbox(path: path)
        var (group, task) = Self.delivery(server, pki, port: port, outbox: outbox, identity: identity)
        // A partner new to the outbox starts at the journal's end: set its cursor now, not whenever the
        // delivery service first runs (on a loaded machine that could be after the alerts below).
        try outbox.fill(partner: "police", from: server.broker, authority: TestAuthority(), now: Date())
        try server.broker.publish(
            Alert(
                kind: .restrictedZone, camera: "station-forecourt", zone: "tracks", time: Date(), track: 4,
                snapshot: "c25hcA=="))
        // not the police's
        try server.broker.publish(Alert(kind: .crowdCount, camera: "mall-entrance", time: Date(), count: 12))
        try server.broker.publish(Alert(kind: .loitering, camera: "market-square", time: Date()))
        var pending = 0
        // Waits are bounded generously (CI loads both cores); nothing here asserts a duration.
        let queueing = ContinuousClock.now
        while pending < 2, ContinuousClock.now - queueing < .seconds(60) {
            try await Task.sleep(for: .milliseconds(20))
            pending = try outbox.pendingCount(partner: "police")
        }
        #expect(pending == 2, "two alerts are for the police; the partner is offline")
        try await Task.sleep(for: .milliseconds(300))  // a few failed attempts

        // The gateway restarts: a new outbox on the same file, a new delivery service.
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        outbox = try AlertOutbox(path: path)
        #expect(try outbox.pendingCount(partner: "police") == 2)
        (group, task) = Self.delivery(server, pki, port: port, outbox: outbox, identity: identity)

        let receiver = try await PartnerReceiver.start(pki: pki, port: port)
        var received: [(key: String, body: String)] = []
        let delivering = ContinuousClock.now
        while received.count < 2, ContinuousClock.now - delivering < .seconds(60) {
            try await Task.sleep(for: .milliseconds(25))
            received = receiver.received.withLock { $0 }
        }
        try await Task.sleep(for: .milliseconds(200))
        received = receiver.received.withLock { $0 }
        #expect(received.count == 2)
        #expect(Set(received.map(\.key)).count == received.count, "one idempotency key per alert")
        #expect(received.allSatisfy { $0.key.hasPrefix(outbox.instance + "-") })
        #expect(received.first?.body.contains("station-forecourt") == true)
        #expect(received.contains { $0.body.contains("snapshot") } == false, "snapshot is not granted to the police")
        #expect(!received.contains { $0.body.contains("mall-entrance") })
        #expect(try outbox.pendingCount(partner: "police") == 0)
        let pushed = await server.audit.entries.filter { $0.details["via"] == "push" }
        #expect(pushed.count == 2)

        await group.triggerGracefulShutdown()
        _ = try? await task.value
        await receiver.stop()
        await server.stop()
    }

    @Test(
        "Pushed alerts carry the site's snapshot where the grant sends snapshots and it is redacted enough; the outbox itself keeps no image"
    )
    func pushedSnapshots() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        var authority = TestAuthority()
        authority.policeSnapshots = true
        let redacted = RedactionSpec(classes: [.faces, .plates], mode: .blur)
        let store = AlertStreamTests.MemorySnapshots(kept: [
            "snap-ref-7": ("station-forecourt", redacted, Data([0xFF, 0xD8, 7, 7])),
            "faces-only": ("market-square", RedactionSpec(classes: [.faces]), Data([0xFF, 0xD8, 8])),
        ])
        let server = try await RunningServer.start(pki: pki, authority: authority)
        let identity = try pki.site.issuePartnerCertificate(
            partner: "city-gateway", uri: "spiffe://city.example/gateway")
        let receiver = try await PartnerReceiver.start(pki: pki, port: 0)
        let path = pki.root + "/outbox.sqlite"
        let outbox = try AlertOutbox(path: path)
        try outbox.fill(partner: "police", from: server.broker, authority: authority, now: Date())
        let (group, task) = Self.delivery(
            server, pki, port: receiver.port, outbox: outbox, identity: identity, snapshots: store)
        try server.broker.publish(
            Alert(
                kind: .restrictedZone, camera: "station-forecourt", zone: "tracks", time: Date(),
                snapshotID: "snap-ref-7"))
        // Made with less than the police grant demands: pushed without it.
        try server.broker.publish(
            Alert(kind: .loitering, camera: "market-square", time: Date(), snapshotID: "faces-only"))
        var received: [(key: String, body: String)] = []
        let delivering = ContinuousClock.now
        while received.count < 2, ContinuousClock.now - delivering < .seconds(60) {
            try await Task.sleep(for: .milliseconds(25))
            received = receiver.received.withLock { $0 }
        }
        #expect(received.count == 2)
        let forecourt = received.first { $0.body.contains("station-forecourt") }?.body ?? ""
        #expect(forecourt.contains(Data([0xFF, 0xD8, 7, 7]).base64EncodedString()), "\(forecourt)")
        #expect(received.first { $0.body.contains("market-square") }?.body.contains("snapshot") == false)
        #expect(!received.contains { $0.body.contains("snapshotID") }, "the reference never leaves")
        // The outbox holds the reference and the redaction demanded, never the picture.
        // (SQLite in WAL mode: the database file and its write-ahead log both.)
        let picture = Data(Data([0xFF, 0xD8, 7, 7]).base64EncodedString().utf8)
        for file in [path, path + "-wal"] where FileManager.default.fileExists(atPath: file) {
            #expect(try Data(contentsOf: URL(fileURLWithPath: file)).range(of: picture) == nil, "\(file)")
        }
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: path + "-wal")).range(of: Data("snap-ref-7".utf8)) != nil
                || Data(contentsOf: URL(fileURLWithPath: path)).range(of: Data("snap-ref-7".utf8)) != nil,
            "the reference is there (the check above can fail)")
        let sent = await server.audit.entries.filter { $0.details["via"] == "push" && $0.details["snapshot"] == "sent" }
        #expect(sent.count == 1)
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        await receiver.stop()
        await server.stop()
    }

    @Test("Back-off doubles per attempt, capped, with bounded jitter")
    func backoff() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let push = PushDelivery(
            endpoint: PushEndpoint(
                partner: "police",
                remote: RemoteEndpoint(url: "https://127.0.0.1:1/alerts", caPath: "", certificatePath: "", keyPath: "")),
            outbox: try AlertOutbox(path: pki.root + "/o.sqlite"),
            alerts: AlertBroker(journal: try AlertJournal(path: pki.root + "/j.sqlite")),
            authority: { TestAuthority() }, audit: MemoryAudit(),
            logger: Logger(label: "t"), baseDelay: .seconds(1), maxDelay: .seconds(300))
        for (attempt, expected) in [(1, 1.0), (2, 2.0), (5, 16.0), (12, 300.0), (40, 300.0)] {
            let delay = push.retryDelay(after: attempt)
            #expect(delay >= expected * 0.8 && delay <= expected * 1.2, "attempt \(attempt): \(delay)")
        }
    }
}
