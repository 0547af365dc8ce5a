import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VeilAlerts
import VeilCore
import VeilFederation

/// Issue 5's speed figures: full mutual-TLS handshakes per second against the gateway, with
/// `openssl s_time` as the client and `openssl s_server` on the same certificates as the anchor; and
/// alert fan-out to 100 SSE partners (alerts per second delivered, p50/p99 latency).
enum FederationBenchmark {
    /// Everyone the bench knows is the police, and the police may receive everything.
    struct BenchAuthority: SharingAuthority {
        let policyVersion = "bench"
        let partnerAuthorities: [PartnerID: String] = [:]
        func partner(forCertificateURI uri: String) -> PartnerID? { uri == "spiffe://bench/police" ? "police" : nil }
        func partner(forFingerprint fingerprint: String) -> PartnerID? { nil }
        func cameras(sharedWith partner: PartnerID) -> [CameraID: Set<SharingActionKind>] { ["bench-camera": [.alert]] }
        func verdict(for request: AccessRequest) -> SharingVerdict {
            SharingVerdict(
                isAllowed: request.partner == "police", rules: ["bench"], reasons: ["granted"],
                redaction: RedactionSpec(classes: [.faces, .plates]), alertFields: [.kind, .camera, .count, .time])
        }
    }

    /// Counts audit entries instead of writing them (the vault's audit log has its own benchmark).
    final class CountingAudit: AccessAuditTrail {
        let count = Atomic<Int>(0)
        func record(_ entry: AccessAuditEntry) async throws { count.add(1, ordering: .relaxed) }
    }

    static func run() async throws {
        print("== federation: mutual TLS handshakes and SSE alert fan-out ==")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "veil-bench-fed-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let site = SiteAuthority(directory: folder + "/certs")
        try site.initialise(siteName: "Bench", serverNames: ["localhost"], addresses: ["127.0.0.1"])
        let police = try site.issuePartnerCertificate(partner: "police", uri: "spiffe://bench/police")

        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let broker = AlertBroker(
            journal: try AlertJournal(path: folder + "/alerts.sqlite"), bufferLimit: 4096,
            pollInterval: .milliseconds(500))
        let verifier = PeerVerifier(PeerTrust(siteRoots: [try site.caCertificate()], identities: BenchAuthority()))
        var configuration = FederationServerConfiguration(
            host: "127.0.0.1", port: 0, certificatePath: site.serverCertificatePath,
            keyPath: site.serverKeyPath)
        configuration.requestsPerSecond = 1e9
        configuration.burst = 1e9
        // The fan-out below stands for 100 partners with one certificate: the per-partner limits on streams and
        // connections (4 and 16 by default, issue 15) would hold it to a handful.
        configuration.maximumStreamsPerPartner = 1000
        configuration.connectionLimits = PeerVerifier.ConnectionLimits(perCaller: 1000)
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let server = FederationServer(
            configuration: configuration, verifier: verifier, authority: { BenchAuthority() }, archive: nil,
            audit: CountingAudit(),
            alerts: broker, logger: logger, onListening: { portContinuation.yield($0) })
        let group = ServiceGroup(configuration: .init(services: [server, broker], logger: logger))
        let serverTask = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { return }

        // Handshakes: the same client (openssl s_time) against openssl s_server and against the gateway.
        let anchorPort = port + 1
        let anchor = Process()
        anchor.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        anchor.arguments = [
            "s_server", "-accept", "127.0.0.1:\(anchorPort)", "-cert", site.serverCertificatePath, "-key",
            site.serverKeyPath,
            "-Verify", "1", "-CAfile", site.caCertificatePath, "-quiet",
        ]
        anchor.standardOutput = FileHandle.nullDevice
        anchor.standardError = FileHandle.nullDevice
        try anchor.run()
        // s_server has been seen to outlive SIGTERM: it is killed outright, whatever way this function ends.
        defer { if anchor.isRunning { kill(anchor.processIdentifier, SIGKILL) } }
        try await Task.sleep(for: .milliseconds(500))
        let seconds = 5
        let baseline = try? await sTime(port: anchorPort, police, site, seconds: seconds)
        let ours = try? await sTime(port: port, police, site, seconds: seconds)
        if anchor.isRunning { kill(anchor.processIdentifier, SIGKILL) }
        if let baseline, let ours {
            print(
                String(
                    format: "baseline: openssl s_server, full mTLS handshakes (openssl s_time -new, %d s)   %8.1f /s",
                    seconds, baseline))
            print(
                String(
                    format:
                        "veilgate partner API (NIOSSL + RFC 5280 re-verification in Swift)          %8.1f /s   ratio %.2f×",
                    ours, ours / baseline))
        } else {
            print("handshakes: openssl s_time gave no figure (is openssl installed?)")
        }

        try await fanOut(port: port, police: police, site: site, broker: broker)
        await group.triggerGracefulShutdown()
        _ = try? await serverTask.value
    }

    /// Runs `openssl s_time` and returns connections per real second.
    /// Waits for the child with a termination handler: blocking a thread in `waitUntilExit` would starve the
    /// in-process server (pinned to one core, the concurrency pool has one thread), and corelibs Foundation's
    /// `waitUntilExit` on a thread of our own never returns.
    static func sTime(
        port: Int, _ certificate: IssuedCertificate, _ site: SiteAuthority, seconds: Int
    ) async throws -> Double? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "s_time", "-connect", "127.0.0.1:\(port)", "-new", "-cert", certificate.certificatePath, "-key",
            certificate.keyPath, "-CAfile", site.caCertificatePath, "-time", String(seconds),
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        // s_time prints a few lines: they fit in the pipe's buffer, so reading after the exit cannot block.
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        // "636 connections in 4 real seconds, 0 bytes read per connection"
        guard let line = text.split(separator: "\n").last(where: { $0.contains("real seconds") }) else { return nil }
        let words = line.split(separator: " ")
        guard words.count > 3, let connections = Double(words[0]), let real = Double(words[3]), real > 0 else {
            return nil
        }
        return connections / real
    }

    /// 100 partners on SSE; alerts published in a burst (throughput) and paced (latency).
    static func fanOut(port: Int, police: IssuedCertificate, site: SiteAuthority, broker: AlertBroker) async throws {
        let subscribers = 100
        let log = DeliveryLog()
        var clients: [PartnerClient] = []
        var readers: [Task<Void, Never>] = []
        for _ in 0..<subscribers {
            let client = try PartnerClient(
                baseURL: "https://127.0.0.1:\(port)", certificatePath: police.certificatePath,
                keyPath: police.keyPath, trustedCAPath: site.caCertificatePath)
            clients.append(client)
            readers.append(
                Task {
                    try? await client.events("/v1/alerts", lastEventID: nil) { event in
                        let now = ContinuousClock.now
                        if let range = event.data.range(of: #""count":"#),
                            let number = Int(event.data[range.upperBound...].prefix { $0.isNumber })
                        {
                            log.received.withLock { $0[number, default: []].append(now) }
                            log.total.add(1, ordering: .relaxed)
                        }
                        return true
                    }
                })
        }
        let connecting = ContinuousClock.now
        while broker.subscriberCount < subscribers, ContinuousClock.now - connecting < .seconds(60) {
            try await Task.sleep(for: .milliseconds(20))
        }
        print(
            "SSE: \(broker.subscriberCount) of \(subscribers) partners connected in \(PolicyBenchmark.format(ContinuousClock.now - connecting))"
        )

        // Burst: as fast as the journal takes them.
        let burst = 500
        var published: [Int: ContinuousClock.Instant] = [:]
        let start = ContinuousClock.now
        for number in 0..<burst {
            published[number] = ContinuousClock.now
            try broker.publish(Alert(kind: .loitering, camera: "bench-camera", time: Date(), count: number))
        }
        while log.total.load(ordering: .relaxed) < burst * subscribers, ContinuousClock.now - start < .seconds(120) {
            try await Task.sleep(for: .milliseconds(10))
        }
        let burstTime = ContinuousClock.now - start
        let delivered = log.total.load(ordering: .relaxed)
        print(
            String(
                format:
                    "SSE fan-out, burst: %d alerts × %d partners: %d deliveries in %.2f s → %.0f alerts/s published-and-delivered, %.0f deliveries/s",
                burst, subscribers, delivered, seconds(burstTime), Double(burst) / seconds(burstTime),
                Double(delivered) / seconds(burstTime)))

        // Paced: 100 alerts/s for 5 s; latency from publish to each partner's receipt.
        log.received.withLock { $0.removeAll() }
        published.removeAll()
        let paced = 500
        for index in 0..<paced {
            let number = burst + index
            published[number] = ContinuousClock.now
            try broker.publish(Alert(kind: .loitering, camera: "bench-camera", time: Date(), count: number))
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .seconds(2))
        var latencies: [Double] = []
        log.received.withLock { map in
            for (number, instants) in map {
                guard let sent = published[number] else { continue }
                latencies.append(contentsOf: instants.map { seconds($0 - sent) * 1000 })
            }
        }
        latencies.sort()
        if !latencies.isEmpty {
            let p50 = latencies[latencies.count / 2],
                p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
            print(
                String(
                    format:
                        "SSE fan-out, paced 100 alerts/s × %d partners: %d deliveries, latency p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                    subscribers, latencies.count, p50, p99, latencies.last!))
        }
        for reader in readers { reader.cancel() }
        for client in clients { Task.detached { await client.shutdown() } }
    }

    final class DeliveryLog: Sendable {
        /// Alert number → the instants partners received it.
        let received = Mutex<[Int: [ContinuousClock.Instant]]>([:])
        let total = Atomic<Int>(0)
    }

    static func seconds(_ duration: Duration) -> Double {
        duration.inSeconds
    }
}
