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
            "evidence-desk": [.evidenceOfficer], "second-desk": [.evidenceOfficer], "site-admin": [.admin],
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
        func diff(_ text: String) -> String? { text.contains("typo") ? nil : "No partner gains or loses anything.\n" }
        func deployment() -> ConsoleDeployment {
            ConsoleDeployment(version: "2026.12-test", signer: nil, loadedAt: Date(), requiresSignature: false)
        }
        func reload(by actor: String) async -> ConsoleReload {
            ConsoleReload(loaded: false, deployment: deployment(), message: "asked by \(actor)")
        }
        func test(_ text: String) -> ConsolePolicyTestRun {
            ConsolePolicyTestRun(files: [], cases: [], problem: nil)
        }
        func deploy(files: [String: Data], by actor: String) async throws -> ConsoleReload {
            ConsoleReload(
                loaded: false, deployment: deployment(), message: "\(files.keys.sorted()) uploaded by \(actor)")
        }
        func withGeometry(
            camera: CameraID, zones: [ConsoleCamera.Zone], lines: [ConsoleCamera.Line]
        ) throws
            -> ConsoleDraft
        {
            ConsoleDraft(
                file: "city.yaml", text: "zones: \(zones.map(\.id))", diff: "camera \(camera):\n",
                diagnostics: [])
        }
    }

    struct Audit: ConsoleAuditDesk {
        func entries(after sequence: Int64, limit: Int) throws -> [ConsoleAuditEntry] { [] }
        func verify() throws -> ConsoleAuditStatus { .init(entries: 0, checkpoints: 0, intact: true, problems: []) }
    }

    /// Holds in memory; the audit records kept for the tests to read.
    final class Evidence: ConsoleEvidenceDesk {
        let active = Mutex<[ConsoleHold]>([])
        let audited = Mutex<[String]>([])
        func holds() async throws -> [ConsoleHold] { active.withLock { $0 } }
        func placeHold(
            camera: CameraID, from: Date, to: Date, caseReference: String, by actor: String
        ) async throws
            -> ConsoleHold
        {
            guard !caseReference.isEmpty else { throw ConsoleError(.refused, "a case reference is required") }
            let hold = ConsoleHold(
                id: "hold-\(active.withLock { $0.count + 1 })", camera: camera.rawValue, from: from, to: to,
                placedAt: Date(), placedBy: actor, expiresAt: nil)
            active.withLock { $0.append(hold) }
            return hold
        }
        func renewHold(_ id: String, by actor: String) async throws -> ConsoleHold {
            guard let hold = active.withLock({ $0.first { $0.id == id } }) else {
                throw ConsoleError(.refused, "no active hold")
            }
            return hold
        }
        func erase(camera: CameraID, from: Date, to: Date, by actor: String) async throws -> Int {
            audited.withLock { $0.append("erased \(camera) by \(actor)") }
            return 3
        }
        func releaseHold(_ id: String, by actor: String) async throws {
            active.withLock { $0.removeAll { $0.id == id } }
            audited.withLock { $0.append("released \(id) by \(actor)") }
        }
        func audit(_ action: String, actor: String, subject: String, details: [String: String]) async throws {
            audited.withLock { $0.append("\(action) \(subject) by \(actor)") }
        }
        var holdRoles: Set<OperatorRole> { [.evidenceOfficer, .dpo] }
        var cameraIDs: [CameraID] { ["market-square"] }
        /// One minute of market-square footage, kept both ways: `raw-1` original, `red-1` redacted.
        static let recorded = (Date(timeIntervalSince1970: 1_796_119_200), Date(timeIntervalSince1970: 1_796_119_260))
        func footage(camera: CameraID, from: Date, to: Date, original: Bool) async throws -> [ConsoleFootagePart] {
            guard camera == "market-square", from < Self.recorded.1, to > Self.recorded.0 else { return [] }
            return [
                ConsoleFootagePart(
                    id: original ? "raw-1" : "red-1", start: Self.recorded.0, end: Self.recorded.1,
                    category: original ? "raw-video" : "redacted-video")
            ]
        }
        func originalSegment(_ id: String, camera: CameraID, from: Date, to: Date) async throws -> Data? {
            id == "raw-1" && camera == "market-square" ? Data("original pixels".utf8) : nil
        }
        func exportBundle(
            camera: CameraID, from: Date, to: Date, original: Bool, by actor: String
        ) async throws -> String {
            let folder = NSTemporaryDirectory() + "/veilgate-console-export-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: folder + "/video", withIntermediateDirectories: true)
            try Data(#"{"original": \#(original)}"#.utf8).write(to: URL(fileURLWithPath: folder + "/manifest.json"))
            try Data(repeating: 0x42, count: 1500).write(
                to: URL(fileURLWithPath: folder + "/video/0001-\(original ? "raw-1" : "red-1").mp4"))
            audited.withLock { $0.append("exported \(camera) original=\(original) by \(actor)") }
            return folder
        }
        func discardExport(_ folder: String) {
            try? FileManager.default.removeItem(atPath: folder)
            audited.withLock { $0.append("discarded export") }
        }
        func retentionCalendar() async throws -> [ConsoleRetentionRow] {
            [
                ConsoleRetentionRow(
                    camera: "market-square", category: "raw-video", segments: 3, oldest: Date(timeIntervalSince1970: 0),
                    newest: Date(timeIntervalSince1970: 60), rule: "raw-72h", duration: "72h",
                    oldestExpires: Date(timeIntervalSince1970: 259_200),
                    newestExpires: Date(timeIntervalSince1970: 259_260))
            ]
        }
    }

    /// One partner with one certificate; revocations kept for the tests to read.
    final class Partners: ConsolePartners {
        let revoked = Mutex<[String]>([])
        func partners() throws -> [ConsolePartner] {
            [
                ConsolePartner(
                    id: "police", organisation: "City Police", role: "police",
                    identity: "spiffe://city.example/partner/police",
                    grants: [.init(id: "police-live", action: "live", cameras: "*", expires: nil)],
                    certificates: [
                        .init(
                            serial: "0a1b", notAfter: Date() + 86400 * 10,
                            state: revoked.withLock { $0.contains("0a1b") } ? "revoked" : "valid", expiresSoon: true)
                    ])
            ]
        }
        func operators() throws -> [ConsoleOperator] { [] }
        func revoke(serial: String, by actor: String) async throws {
            revoked.withLock { $0.append("\(serial) by \(actor)") }
        }
    }

    /// Acknowledgements in memory.
    final class AlertDesk: ConsoleAlertDesk {
        let acknowledged = Mutex<[Int64: ConsoleAcknowledgement]>([:])
        func acknowledge(_ sequence: Int64, by actor: String, note: String?) async throws -> Bool {
            guard sequence == 1 else { return false }
            acknowledged.withLock { $0[sequence] = ConsoleAcknowledgement(time: Date(), by: actor, note: note) }
            return true
        }
        func acknowledgements(of sequences: [Int64]) throws -> [Int64: ConsoleAcknowledgement] {
            acknowledged.withLock { all in all.filter { sequences.contains($0.key) } }
        }
    }

    /// A site CA with operator and partner certificates, a journal, and the console on an ephemeral port.
    final class Site: Sendable {
        let root: String
        let authority: SiteAuthority
        let directory = Directory()
        let evidence = Evidence()
        let partners = Partners()
        let alertDesk = AlertDesk()
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
                    ], identities: NoPartners()),
                // Generous: CI runs the CPU-bound vision tests alongside on two cores, and a handshake's verification
                // waits for a free thread of the concurrency pool (the 2 s default refused handshakes there).
                validationTimeout: .seconds(60))
            let configuration = ConsoleServerConfiguration(
                host: "127.0.0.1", port: 0, certificatePath: authority.serverCertificatePath,
                keyPath: authority.serverKeyPath,
                clientCARoots: try NIOSSLCertificate.fromPEMFile(authority.caCertificatePath),
                verifyClient: verifier.verificationCallback { outcome in
                    if case .trusted = outcome { return .certificateVerified }
                    return .failed
                })
            var logger = Logger(label: "console-test")
            logger.logLevel = .warning
            let (ports, continuation) = AsyncStream<Int>.makeStream()
            let server = ConsoleServer(
                configuration: configuration, directory: directory, cameras: Cameras(), alerts: broker,
                policy: PolicyDesk(), audit: Audit(), evidence: evidence, partners: partners,
                acknowledgements: alertDesk, logger: logger,
                onListening: { continuation.yield($0) })
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

        /// A state change as the console's page makes it: with the operator's CSRF token from their session.
        func post(_ path: String, as certificate: IssuedCertificate, body: String? = nil) async throws -> Answer {
            let session = try await request("/api/v1/session", as: certificate).body
            let object = try JSONSerialization.jsonObject(with: Data(session.utf8)) as? [String: Any]
            let token = try #require(object?["csrf"] as? String)
            return try await request(
                path, as: certificate, method: .POST, body: body, headers: [("X-Veilgate-CSRF", token)])
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
            var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
            configuration.timeout = .init(connect: .seconds(60), read: .seconds(120))
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            do {
                var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)\(path)")
                request.method = method
                for (name, value) in headers { request.headers.add(name: name, value: value) }
                if let body { request.body = .bytes(ByteBuffer(string: body)) }
                let response = try await client.execute(request, timeout: .seconds(120))
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

    @Test("Partners and their certificates for admin, DPO and auditor; revocation for the admin only")
    func partnersAndRevocation() async throws {
        try await withSite { site in
            let admin = try site.operatorCertificate("site-admin")
            let auditor = try site.operatorCertificate("auditor")
            let listing = try await site.request("/api/v1/partners", as: auditor)
            #expect(listing.status == 200 && listing.body.contains("police-live"))
            #expect(listing.body.contains(#""expiresSoon" : true"#) && listing.body.contains(#""warningDays" : 30"#))
            let auditorToken = try csrf(in: try await site.request("/api/v1/session", as: auditor).body)
            let byAuditor = try await site.request(
                "/api/v1/certificates/0a1b/revoke", as: auditor, method: .POST,
                headers: [("X-Veilgate-CSRF", auditorToken)])
            #expect(byAuditor.status == 403)
            let token = try csrf(in: try await site.request("/api/v1/session", as: admin).body)
            let revoked = try await site.request(
                "/api/v1/certificates/0a1b/revoke", as: admin, method: .POST, headers: [("X-Veilgate-CSRF", token)])
            #expect(revoked.status == 200)
            #expect(site.partners.revoked.withLock { $0 } == ["0a1b by operator:site-admin"])
            let notASerial = try await site.request(
                "/api/v1/certificates/zz%2F..%2F/revoke", as: admin, method: .POST,
                headers: [("X-Veilgate-CSRF", token)])
            #expect(notASerial.status == 400 || notASerial.status == 404)
        }
    }

    @Test("Counts: a camera's minute rows between from and to, for the roles that may read them")
    func counts() async throws {
        try await withSite { site in
            let minute = Date(timeIntervalSince1970: 1_800_000_000)
            try site.broker.record([
                MinuteCount(camera: "market-square", zone: "fountain", minute: minute, peakOccupancy: 3),
                MinuteCount(
                    camera: "market-square", zone: "entrance", minute: minute + 60, crossingsIn: 4, crossingsOut: 1),
                MinuteCount(camera: "market-square", zone: "fountain", minute: minute + 86400, peakOccupancy: 9),
            ])
            let control = try site.operatorCertificate("control-room")
            let range = "from=2027-01-15T07:00:00Z&to=2027-01-15T09:00:00Z"
            let answer = try await site.request("/api/v1/cameras/market-square/counts?\(range)", as: control)
            #expect(answer.status == 200)
            #expect(answer.body.contains(#""peakOccupancy" : 3"#) && answer.body.contains(#""crossingsIn" : 4"#))
            #expect(!answer.body.contains(#""peakOccupancy" : 9"#))
            let tooLong = "from=2027-01-01T00:00:00Z&to=2027-01-15T09:00:00Z"
            #expect(
                try await site.request("/api/v1/cameras/market-square/counts?\(tooLong)", as: control).status == 400)
            let desk = try site.operatorCertificate("evidence-desk")
            #expect(try await site.request("/api/v1/cameras/market-square/counts?\(range)", as: desk).status == 403)
        }
    }

    @Test("Releasing a hold waits for a second person of another role, then succeeds; every step is audited")
    func twoPersonRelease() async throws {
        try await withSite { site in
            let desk = try site.operatorCertificate("evidence-desk")
            let colleague = try site.operatorCertificate("second-desk")
            let dpo = try site.operatorCertificate("dpo-office")
            let control = try site.operatorCertificate("control-room")
            let calendar = try await site.request("/api/v1/evidence/retention", as: desk)
            #expect(calendar.status == 200 && calendar.body.contains(#""rule" : "raw-72h""#))
            #expect(try await site.request("/api/v1/evidence/retention", as: control).status == 403)
            let hold =
                #"{"camera":"market-square","from":"2026-12-01T10:00:00Z","to":"2026-12-01T11:00:00Z","caseReference":"CASE-1"}"#
            #expect(try await site.post("/api/v1/evidence/holds", as: control, body: hold).status == 403)
            let placed = try await site.post("/api/v1/evidence/holds", as: desk, body: hold)
            #expect(placed.status == 201 && placed.body.contains("hold-1"))

            let asked = try await site.post("/api/v1/evidence/holds/hold-1/release", as: desk)
            #expect(asked.status == 202)
            let approval = try #require(
                (try JSONSerialization.jsonObject(with: Data(asked.body.utf8)) as? [String: Any])?["id"] as? String)
            // Not the requester, not someone of the same role, not a role without holds.
            let own = try await site.post("/api/v1/approvals/\(approval)/approve", as: desk)
            #expect(own.status == 400 && own.body.contains("second person"))
            let sameRole = try await site.post("/api/v1/approvals/\(approval)/approve", as: colleague)
            #expect(sameRole.status == 400 && sameRole.body.contains("role the requester does not"))
            #expect(try await site.post("/api/v1/approvals/\(approval)/approve", as: control).status == 403)
            #expect(try await site.evidence.holds().count == 1)

            let approved = try await site.post("/api/v1/approvals/\(approval)/approve", as: dpo)
            #expect(approved.status == 200)
            #expect(try await site.evidence.holds().isEmpty)
            let audited = site.evidence.audited.withLock { $0 }
            #expect(audited.contains("approval-requested hold-1 by operator:evidence-desk"))
            #expect(audited.contains { $0.hasPrefix("approval-refused") && $0.hasSuffix("operator:second-desk") })
            #expect(audited.contains("released hold-1 by operator:dpo-office approving operator:evidence-desk"))
            // An erasure: asked by the evidence desk, refused to a colleague of the same role, done on the DPO's
            // approval.
            let erasure = try await site.post(
                "/api/v1/evidence/erasures", as: desk,
                body: #"{"camera":"market-square","from":"2026-12-01T10:00:00Z","to":"2026-12-01T10:05:00Z"}"#)
            #expect(erasure.status == 202 && erasure.body.contains(#""action" : "erase""#))
            let erasureID = try #require(
                (try JSONSerialization.jsonObject(with: Data(erasure.body.utf8)) as? [String: Any])?["id"] as? String)
            #expect(try await site.post("/api/v1/approvals/\(erasureID)/approve", as: colleague).status == 400)
            #expect(site.evidence.audited.withLock { $0 }.allSatisfy { !$0.hasPrefix("erased") })
            #expect(try await site.post("/api/v1/approvals/\(erasureID)/approve", as: dpo).status == 200)
            #expect(
                site.evidence.audited.withLock { $0 }.contains(
                    "erased market-square by operator:dpo-office approving operator:evidence-desk"))
            #expect(try await site.post("/api/v1/evidence/erasures", as: control, body: "{}").status == 403)
            // Done once: approving again finds nothing.
            #expect(try await site.post("/api/v1/approvals/\(approval)/approve", as: dpo).status == 400)
        }
    }

    @Test(
        "Exports: redacted at once, original only on a second person's approval; original footage watched by its requester alone; all audited"
    )
    func exportsAndOriginalViews() async throws {
        try await withSite { site in
            let desk = try site.operatorCertificate("evidence-desk")
            let colleague = try site.operatorCertificate("second-desk")
            let dpo = try site.operatorCertificate("dpo-office")
            let control = try site.operatorCertificate("control-room")
            func id(_ answer: Site.Answer, _ key: String = "id") throws -> String {
                try #require(
                    (try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])?[key] as? String)
            }
            let range = #""camera":"market-square","from":"2026-12-01T10:00:00Z","to":"2026-12-01T10:05:00Z""#

            // Redacted: granted at once, to the desk only, downloaded as a tar, the bundle gone after the download.
            #expect(try await site.post("/api/v1/evidence/exports", as: control, body: "{\(range)}").status == 403)
            let nothing = try await site.post(
                "/api/v1/evidence/exports", as: desk,
                body: #"{"camera":"market-square","from":"2025-01-01T10:00:00Z","to":"2025-01-01T11:00:00Z"}"#)
            #expect(nothing.status == 400 && nothing.body.contains("keeps no redacted footage"))
            let export = try await site.post("/api/v1/evidence/exports", as: desk, body: "{\(range)}")
            #expect(export.status == 201 && export.body.contains(#""kind" : "export""#))
            let exportID = try id(export)
            #expect(try await site.request("/api/v1/evidence/exports", as: desk).body.contains(exportID))
            #expect(try await !site.request("/api/v1/evidence/exports", as: dpo).body.contains(exportID))
            #expect(try await site.request("/api/v1/evidence/exports/\(exportID)/archive", as: dpo).status == 400)
            let archive = try await site.request("/api/v1/evidence/exports/\(exportID)/archive", as: desk)
            #expect(archive.status == 200)
            #expect(archive.headers.contains { $0.0.lowercased() == "content-type" && $0.1 == "application/x-tar" })
            // Headers at 0 and 512 + 512 (manifest.json pads to one block), then the video, then two zero blocks.
            #expect(archive.body.hasPrefix("manifest.json") && archive.body.contains("ustar"))
            #expect(archive.body.contains("video/0001-red-1.mp4"))
            let archiveSize: Int = 3 * 512 + 1536 + 1024
            #expect(archive.body.utf8.count == archiveSize)
            var discarded = false
            for _ in 0..<40 where !discarded {
                discarded = site.evidence.audited.withLock { $0.contains("discarded export") }
                if !discarded { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(discarded, "no copy of the footage stays on the gateway's disk")
            #expect(
                site.evidence.audited.withLock {
                    $0.contains("exported market-square original=false by operator:evidence-desk")
                })

            // Original: a reason, then a second person of the other role; the export is the requester's.
            let unreasoned = try await site.post(
                "/api/v1/evidence/exports", as: desk, body: "{\(range),\"original\":true}")
            #expect(unreasoned.status == 400 && unreasoned.body.contains("needs a reason"))
            let asked = try await site.post(
                "/api/v1/evidence/exports", as: desk,
                body: "{\(range),\"original\":true,\"reason\":\"Case 99: Ms Example\"}")
            #expect(asked.status == 202 && asked.body.contains(#""action" : "export-original""#))
            let askedID = try id(asked)
            #expect(try await site.post("/api/v1/approvals/\(askedID)/approve", as: colleague).status == 400)
            #expect(try await !site.request("/api/v1/evidence/exports", as: desk).body.contains("original-export"))
            #expect(try await site.post("/api/v1/approvals/\(askedID)/approve", as: dpo).status == 200)
            let exports = try await site.request("/api/v1/evidence/exports", as: desk).body
            #expect(
                exports.contains(#""kind" : "original-export""#) && exports.contains(#""approvedBy" : "dpo-office""#))

            // Watching original footage: approved by the DPO, for the desk alone, each segment audited.
            let view = try await site.post(
                "/api/v1/evidence/originals", as: desk, body: "{\(range),\"reason\":\"identify the thief\"}")
            #expect(view.status == 202 && view.body.contains(#""action" : "view-original""#))
            #expect(try await site.post("/api/v1/approvals/\(try id(view))/approve", as: dpo).status == 200)
            let views = try await site.request("/api/v1/evidence/originals", as: desk).body
            #expect(views.contains("raw-1") && views.contains(#""kind" : "original-view""#))
            let viewID = try #require(views.split(separator: "\"").first { $0.hasPrefix("view-") }.map(String.init))
            let watched = try await site.request("/api/v1/evidence/originals/\(viewID)/raw-1", as: desk)
            #expect(watched.status == 200 && watched.body == "original pixels")
            #expect(try await site.request("/api/v1/evidence/originals/\(viewID)/raw-1", as: dpo).status == 404)
            #expect(try await site.request("/api/v1/evidence/originals/\(viewID)/red-1", as: desk).status == 404)
            #expect(try await site.request("/api/v1/evidence/originals", as: control).status == 403)
            let audited = site.evidence.audited.withLock { $0 }
            #expect(audited.contains("original-viewed camera:market-square by operator:evidence-desk"))
            #expect(audited.filter { $0.hasPrefix("approval-granted camera:market-square") }.count == 2)
            #expect(audited.allSatisfy { !$0.contains("Example") && !$0.contains("thief") }, "reasons are not audited")
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
            // The DPO sees cameras and their redacted picture (to draw zones), not the control room's pages.
            #expect(try await site.request("/api/v1/cameras", as: dpo).status == 200)
            #expect(try await site.request("/cameras", as: dpo).status == 403)
            #expect(
                try await site.request("/api/v1/cameras", as: try site.operatorCertificate("auditor")).status == 403)
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

            // Acknowledged with a note (CSRF token needed), listed as such; an alert no longer kept is refused.
            let token = try csrf(in: try await site.request("/api/v1/session", as: control).body)
            let acknowledged = try await site.request(
                "/api/v1/alerts/1/acknowledge", as: control, method: .POST, body: #"{"note":"patrol sent"}"#,
                headers: [("X-Veilgate-CSRF", token)])
            #expect(acknowledged.status == 200 && acknowledged.body.contains("operator:control-room"))
            let relisted = try await site.request("/api/v1/alerts", as: control)
            #expect(relisted.body.contains(#""note" : "patrol sent""#))
            let gone = try await site.request(
                "/api/v1/alerts/99/acknowledge", as: control, method: .POST, body: "{}",
                headers: [("X-Veilgate-CSRF", token)])
            #expect(gone.status == 400 && gone.body.contains("no longer kept"))
            let long = String(repeating: "x", count: 501)
            let tooLong = try await site.request(
                "/api/v1/alerts/1/acknowledge", as: control, method: .POST, body: #"{"note":"\#(long)"}"#,
                headers: [("X-Veilgate-CSRF", token)])
            #expect(tooLong.status == 400)
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
