import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import SwiftASN1
import Synchronization
import Testing
import VeilAlerts
import VeilConsole
import VeilCore
import VeilFederation
import X509

/// The console over real TLS on loopback, with certificates from a real site CA: who gets in (operators only, by the
/// roles the policy gives them), what each role may open, CSRF on state changes, the security headers, live video and
/// the alert stream. The console's sources are small fakes; the gateway's adapters are exercised end to end by the
/// browser test (`scripts/console-browser-test.py`).
@Suite("Operator console over mutual TLS", .serialized)
struct ConsoleServerTests {
    /// The policy in force, as the console asks it.
    final class Directory: OperatorDirectory {
        let operators = Mutex<[OperatorID: Set<OperatorRole>]>([
            "control-room": [.operator], "dpo-office": [.dpo, .auditor], "auditor": [.auditor],
        ])
        let revoked = Mutex<Set<String>>([])
        func roles(of id: OperatorID) -> Set<OperatorRole> { operators.withLock { $0[id] ?? [] } }
        func isRevoked(serial: String) -> Bool { revoked.withLock { $0.contains(serial) } }
        var site: String { "Test City" }
        var policyVersion: String { "2026.12-test" }
    }

    struct Cameras: ConsoleCameras {
        static let initSegment = Data("ftyp-moov".utf8)
        static let segment = Data("moof-mdat-7".utf8)
        func cameras() -> [ConsoleCamera] {
            [
                ConsoleCamera(
                    id: "market-square", description: "The square", hasPipeline: true, analytics: ["loitering"],
                    redaction: "faces+plates blur ellipse",
                    zones: [.init(id: "fountain", polygon: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]])],
                    lines: [.init(id: "entrance", from: [0, 0.8], to: [1, 0.8])])
            ]
        }
        func live(camera: CameraID) -> ConsoleLive {
            camera == "market-square"
                ? .ready(initSegment: Self.initSegment, segments: [.init(sequence: 7, duration: 2)]) : .noPipeline
        }
        func liveSegment(camera: CameraID, sequence: Int) -> Data? {
            camera == "market-square" && sequence == 7 ? Self.segment : nil
        }
        func snapshot(_ reference: String, camera: CameraID) async throws -> Data? { nil }
    }

    struct PolicyDesk: ConsolePolicyDesk {
        func policyInForce() throws -> (file: String, text: String, version: String) {
            ("city.yaml", "veilgate: policy/v1\n", "2026.12-test")
        }
        /// Finds the draft's first line that says `typo` — a stand-in for the real linter (the browser test runs it).
        func lint(_ text: String) -> [ConsoleDiagnostic] {
            text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { number, line in
                line.contains("typo")
                    ? ConsoleDiagnostic(
                        severity: "error", code: "VG101", message: "unknown key", line: number + 1, column: 3) : nil
            }
        }
        func recordOfProcessing() -> String { "# Record of processing\n" }
    }

    struct Audit: ConsoleAuditDesk {
        func entries(after sequence: Int64, limit: Int) throws -> [ConsoleAuditEntry] { [] }
        func verify() throws -> ConsoleAuditStatus { .init(entries: 0, checkpoints: 0, intact: true, problems: []) }
    }

    /// A site CA with operator and partner certificates, a journal, and the console on an ephemeral port.
    final class Site: Sendable {
        let root: String
        let authority: SiteAuthority
        let directory = Directory()
        let broker: AlertBroker
        let group: ServiceGroup
        let task: Task<Void, any Error>
        let port: Int

        init() async throws {
            root =
                FileManager.default.temporaryDirectory.appendingPathComponent("veil-console-\(UUID().uuidString)")
                .path
            authority = SiteAuthority(directory: root + "/certs")
            try authority.initialise(siteName: "Test City", serverNames: ["localhost"], addresses: ["127.0.0.1"])
            broker = AlertBroker(journal: try AlertJournal(path: root + "/alerts.sqlite"))
            let verifier = PeerVerifier(
                PeerTrust(
                    siteRoots: [
                        try Certificate(
                            pemEncoded: String(contentsOfFile: authority.caCertificatePath, encoding: .utf8))
                    ], identities: NoPartners()))
            let configuration = ConsoleServerConfiguration(
                host: "127.0.0.1", port: 0, certificatePath: authority.serverCertificatePath,
                keyPath: authority.serverKeyPath,
                clientCARoots: try NIOSSLCertificate.fromPEMFile(authority.caCertificatePath),
                verifyClient: { chain in
                    if case .trusted = await verifier.verify(chain) { return true }
                    return false
                })
            var logger = Logger(label: "console-test")
            logger.logLevel = .warning
            let (ports, continuation) = AsyncStream<Int>.makeStream()
            let server = ConsoleServer(
                configuration: configuration, directory: directory, cameras: Cameras(), alerts: broker,
                policy: PolicyDesk(), audit: Audit(), logger: logger, onListening: { continuation.yield($0) })
            group = ServiceGroup(configuration: .init(services: [server, broker], logger: logger))
            let group = self.group
            task = Task { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            port = try #require(await iterator.next())
        }

        func stop() async {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            try? FileManager.default.removeItem(atPath: root)
        }

        func operatorCertificate(_ name: String) throws -> IssuedCertificate {
            try authority.issueOperatorCertificate(operator: OperatorID(name))
        }

        struct Answer {
            var status: Int
            var headers: [(String, String)]
            var body: String
            func header(_ name: String) -> String? {
                headers.first { $0.0.lowercased() == name.lowercased() }?.1
            }
        }

        func request(
            _ path: String, as certificate: IssuedCertificate, method: HTTPMethod = .GET, body: String? = nil,
            headers: [(String, String)] = []
        ) async throws -> Answer {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(authority.caCertificatePath))
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate.certificatePath).map {
                .certificate($0)
            }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: certificate.keyPath, format: .pem))
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
            do {
                var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)\(path)")
                request.method = method
                for (name, value) in headers { request.headers.add(name: name, value: value) }
                if let body { request.body = .bytes(ByteBuffer(string: body)) }
                let response = try await client.execute(request, timeout: .seconds(30))
                let bytes = try await response.body.collect(upTo: 1 << 20)
                try await client.shutdown()
                return Answer(
                    status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                    body: String(buffer: bytes))
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }

    /// The CSRF token of a session answer.
    func csrf(in session: String) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(session.utf8)) as? [String: Any]
        return try #require(object?["csrf"] as? String)
    }

    /// Runs `body` against a fresh site and console, stopping them afterwards whatever happens.
    func withSite(_ body: (Site) async throws -> Void) async throws {
        let site = try await Site()
        do {
            try await body(site)
        } catch {
            await site.stop()
            throw error
        }
        await site.stop()
    }

    struct NoPartners: PartnerIdentities {
        func partner(forCertificateURI uri: String) -> PartnerID? { nil }
        func partner(forFingerprint fingerprint: String) -> PartnerID? { nil }
    }

    @Test("An operator sees the pages and API of their role, and 403 — in the page and the API — for the others")
    func rolesDecidePages() async throws {
        try await withSite { site in
            let control = try site.operatorCertificate("control-room")

            let session = try await site.request("/api/v1/session", as: control)
            #expect(session.status == 200)
            #expect(session.body.contains(#""operatorName" : "control-room""#))
            #expect(session.body.contains(#""roles" : ["#) && session.body.contains(#""operator""#))

            let cameras = try await site.request("/api/v1/cameras", as: control)
            #expect(cameras.status == 200 && cameras.body.contains("fountain"))
            let page = try await site.request("/cameras", as: control)
            #expect(page.status == 200 && page.body.contains("/assets/console.js"))
            // The headers every answer carries: no inline script, no framing, no caching.
            let policy = try #require(page.header("Content-Security-Policy"))
            #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"))
            #expect(policy.contains("frame-ancestors 'none'"))
            #expect(page.header("Cache-Control") == "no-store")

            let refusedAPI = try await site.request("/api/v1/policy", as: control)
            #expect(refusedAPI.status == 403 && refusedAPI.body.contains("auditor or dpo"))
            let refusedPage = try await site.request("/policy", as: control)
            #expect(refusedPage.status == 403 && refusedPage.body.contains("Policy is for auditor or dpo"))

            let dpo = try site.operatorCertificate("dpo-office")
            #expect(try await site.request("/api/v1/policy", as: dpo).status == 200)
            #expect(try await site.request("/api/v1/cameras", as: dpo).status == 403)
            #expect(try await site.request("/api/v1/audit/verify", as: dpo).status == 200)
        }
    }

    @Test("Partner certificates, unknown operators and revoked certificates get nothing")
    func onlyOperators() async throws {
        try await withSite { site in
            let partner = try site.authority.issuePartnerCertificate(
                partner: "police", uri: "spiffe://city.example/partner/police")
            let answer = try await site.request("/api/v1/session", as: partner)
            #expect(answer.status == 403 && answer.body.contains("operator certificates only"))

            let unknown = try site.operatorCertificate("night-shift")
            let refused = try await site.request("/api/v1/session", as: unknown)
            #expect(refused.status == 403 && refused.body.contains("names no operator"))

            // A reload that drops an operator takes effect at their next request.
            let control = try site.operatorCertificate("control-room")
            #expect(try await site.request("/api/v1/session", as: control).status == 200)
            _ = site.directory.operators.withLock { $0.removeValue(forKey: "control-room") }
            #expect(try await site.request("/api/v1/session", as: control).status == 403)

            let auditor = try site.operatorCertificate("auditor")
            site.directory.revoked.withLock { _ = $0.insert(auditor.serial) }
            #expect(try await site.request("/api/v1/audit", as: auditor).status == 403)
        }
    }

    @Test("A state change needs the operator's CSRF token and the console's own origin")
    func csrf() async throws {
        try await withSite { site in
            let dpo = try site.operatorCertificate("dpo-office")
            let draft = "veilgate: policy/v1\nmetadata:\n  typo: 1\n"
            let bare = try await site.request("/api/v1/policy/lint", as: dpo, method: .POST, body: draft)
            #expect(bare.status == 403 && bare.body.contains("CSRF"))

            let session = try await site.request("/api/v1/session", as: dpo)
            let token = try csrf(in: session.body)
            let linted = try await site.request(
                "/api/v1/policy/lint", as: dpo, method: .POST, body: draft, headers: [("X-Veilgate-CSRF", token)])
            #expect(linted.status == 200)
            #expect(linted.body.contains(#""line" : 3"#) && linted.body.contains("VG101"))

            let elsewhere = try await site.request(
                "/api/v1/policy/lint", as: dpo, method: .POST, body: draft,
                headers: [("X-Veilgate-CSRF", token), ("Origin", "https://evil.example")])
            #expect(elsewhere.status == 403)
            let crossSite = try await site.request(
                "/api/v1/policy/lint", as: dpo, method: .POST, body: draft,
                headers: [("X-Veilgate-CSRF", token), ("Sec-Fetch-Site", "cross-site")])
            #expect(crossSite.status == 403)
            // Another operator's token is not this one's.
            let other = try site.operatorCertificate("dpo-office")
            let stolen = try await site.request(
                "/api/v1/policy/lint", as: other, method: .POST, body: draft, headers: [("X-Veilgate-CSRF", token)])
            #expect(stolen.status == 403)
            // The lint route is the DPO's: an auditor with a valid token is refused.
            let auditor = try site.operatorCertificate("auditor")
            let auditorSession = try await site.request("/api/v1/session", as: auditor)
            let auditorToken = try csrf(in: auditorSession.body)
            let byAuditor = try await site.request(
                "/api/v1/policy/lint", as: auditor, method: .POST, body: draft,
                headers: [("X-Veilgate-CSRF", auditorToken)])
            #expect(byAuditor.status == 403)
        }
    }

    @Test("Live video: the rendition's initialisation segment and numbered segments, byte for byte")
    func liveVideo() async throws {
        try await withSite { site in
            let control = try site.operatorCertificate("control-room")
            let state = try await site.request("/api/v1/cameras/market-square/live", as: control)
            #expect(state.body.contains(#""state" : "ready""#) && state.body.contains(#""sequence" : 7"#))
            let initSegment = try await site.request("/api/v1/cameras/market-square/live/init.mp4", as: control)
            #expect(
                initSegment.status == 200 && initSegment.body == String(decoding: Cameras.initSegment, as: UTF8.self))
            let segment = try await site.request("/api/v1/cameras/market-square/live/7.m4s", as: control)
            #expect(segment.status == 200 && segment.body == String(decoding: Cameras.segment, as: UTF8.self))
            #expect(try await site.request("/api/v1/cameras/market-square/live/8.m4s", as: control).status == 404)
            let none = try await site.request("/api/v1/cameras/back-yard/live", as: control)
            #expect(none.body.contains("no-pipeline"))
        }
    }

    @Test("An alert journaled while an operator watches reaches their stream, and the list")
    func alertStream() async throws {
        try await withSite { site in
            let control = try site.operatorCertificate("control-room")
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(site.authority.caCertificatePath))
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(control.certificatePath).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: control.keyPath, format: .pem))
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
            defer { _ = client.shutdown() }
            let response = try await client.execute(
                HTTPClientRequest(url: "https://127.0.0.1:\(site.port)/api/v1/alerts/stream"), timeout: .seconds(30))
            #expect(response.status == .ok)
            let published = Task {
                try await Task.sleep(for: .milliseconds(300))
                _ = try site.broker.publish(
                    Alert(kind: .loitering, camera: "market-square", zone: "fountain", time: Date(), track: 4))
            }
            var received = ""
            for try await chunk in response.body {
                received += String(buffer: chunk)
                if received.contains("event: alert") && received.contains("\n\n", after: "event: alert") { break }
            }
            try await published.value
            #expect(received.contains(#""kind":"loitering""#) && received.contains(#""zone":"fountain""#))
            let list = try await site.request("/api/v1/alerts", as: control)
            #expect(list.body.contains("loitering") && list.body.contains(#""sequence" : 1"#))
        }
    }
}

extension String {
    /// Whether `other` occurs after the first occurrence of `marker`.
    fileprivate func contains(_ other: String, after marker: String) -> Bool {
        guard let start = range(of: marker) else { return false }
        return self[start.upperBound...].contains(other)
    }
}
