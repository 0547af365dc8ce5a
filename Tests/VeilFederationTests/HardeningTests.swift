import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing
import VeilAlerts
import VeilCore
import VeilTestSupport
import X509

@testable import VeilFederation

@Suite("Hardening", .serialized)
struct HardeningTests {
    @Test(
        "certificate validation has a deadline: work that overruns it is answered nil (and cancelled), quick work with its value"
    )
    func validationDeadline() async throws {
        // Work that would take an hour (it is cancelled at the deadline, and then returns at once).
        let late = await withDeadline(.milliseconds(100)) { () async -> Int in
            do { try await Task.sleep(for: .seconds(3600)) } catch { return -1 }
            return 1
        }
        #expect(late == nil)
        #expect(await withDeadline(.seconds(30)) { 7 } == 7)
    }

    @Test("A client that connects and stalls the handshake is disconnected after the idle timeout")
    func stalledHandshake() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let server = try await RunningServer.start(pki: pki) { $0.idleTimeout = .seconds(1) }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(server.port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(connected == 0)
        // Send half a ClientHello, then nothing.
        let partial: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01]
        _ = partial.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let started = Date()
        var buffer = [UInt8](repeating: 0, count: 256)
        var result = 1
        while result > 0 { result = recv(fd, &buffer, buffer.count, 0) }
        #expect(result == 0 || errno == ECONNRESET, "the server closed the connection")
        #expect(Date().timeIntervalSince(started) < 9, "closed by the idle timeout, not by the test's own timeout")
        await server.stop()
    }

    @Test("Per-partner rate limit: a burst beyond the bucket gets 429, another partner is unaffected")
    func rateLimit() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let server = try await RunningServer.start(pki: pki) {
            $0.requestsPerSecond = 0.0001  // no refill within the test, however slow the machine
            $0.burst = 3
        }
        let statuses = try await server.withClient(pki.police) { client in
            var statuses: [UInt] = []
            for _ in 0..<5 {
                let response = try await client.execute(
                    HTTPClientRequest(url: server.url("/v1/cameras")), timeout: .seconds(60))
                statuses.append(response.status.code)
                _ = try await response.body.collect(upTo: 1 << 16)
            }
            return statuses
        }
        #expect(statuses == [200, 200, 200, 429, 429])
        #expect(try await server.get("/v1/cameras", as: pki.retailer).status == 200)
        await server.stop()
    }

    // MARK: Issue 15, finding 1: a chain bomb

    /// A client certificate claiming the police identity, followed by `count` CA certificates that differ only in
    /// their subject alternative name: same subject, same issuer, same key, so each can sign for every other one and a
    /// path builder without a bound tries every ordering of them (12 kept a core busy for far longer than a test).
    static func chainBomb(count: Int) throws -> (chain: [Certificate], key: P256.Signing.PrivateKey) {
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let name = try DistinguishedName { CommonName("Bomb CA") }
        let now = Date()
        let authorities = try (0..<count).map { index in
            try Certificate(
                version: .v3, serialNumber: .init(), publicKey: publicKey, notValidBefore: now.addingTimeInterval(-300),
                notValidAfter: now.addingTimeInterval(86400), issuer: name, subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    Critical(KeyUsage(keyCertSign: true))
                    SubjectAlternativeNames([.dnsName("ca\(index).bomb.example")])
                },
                issuerPrivateKey: .init(key))
        }
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: publicKey, notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(86400), issuer: name,
            subject: try DistinguishedName { CommonName("police") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                try ExtendedKeyUsage([.clientAuth])
                SubjectAlternativeNames([.uniformResourceIdentifier(TestPKI.policeURI)])
            },
            issuerPrivateKey: .init(key))
        return ([leaf] + authorities, key)
    }

    @Test(
        "A chain bomb is refused without building paths; the longest chain allowed is still refused quickly",
        .timeLimit(.minutes(2)))
    func chainBombVerifier() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let verifier = PeerVerifier(try pki.trust(authority: TestAuthority()))
        let bomb = try Self.chainBomb(count: 12).chain
        #expect(await verifier.verify(bomb) == .refused("chain of 13 certificates is too long"))
        let longest = Array(bomb.prefix(verifier.maximumChainLength))
        #expect(await verifier.verify(longest) == .refused("chain does not verify to a trusted CA for this identity"))
        // A partner's real chain (its certificate and the site CA it came from) still verifies.
        let police = [
            try PEMFile.certificate(at: pki.police.certificatePath),
            try PEMFile.certificate(at: pki.site.caCertificatePath),
        ]
        #expect(await verifier.verify(police) == .trusted(partner: "police", fingerprint: pki.police.fingerprint))
    }

    /// A TCP port free on loopback right now (for the health check, which binds a fixed port).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw FederationError(.server, "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test("Chain-bomb handshakes are refused while /health keeps answering", .timeLimit(.minutes(3)))
    func chainBombHandshake() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let healthPort = try Self.freePort()
        let server = try await RunningServer.start(pki: pki) { $0.healthPort = healthPort }
        let (chain, key) = try Self.chainBomb(count: 12)
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki.site.caCertificatePath))
        tls.certificateChain = try chain.map { .certificate(try NIOSSLCertificate(bytes: $0.derBytes, format: .der)) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(60), read: .seconds(60))
        let attacker = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        // Two at once: what stopped a two-core gateway.
        let attacks = (0..<2).map { _ in
            Task { () -> Int? in
                let response = try? await attacker.execute(
                    HTTPClientRequest(url: server.url("/v1/cameras")), timeout: .seconds(60))
                return response.map { Int($0.status.code) }
            }
        }
        let health = HTTPClient(eventLoopGroupProvider: .singleton)
        var healthy = 0
        for _ in 0..<5 {
            let response = try await health.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(healthPort)/health"), timeout: .seconds(20))
            if response.status == .ok { healthy += 1 }
            _ = try await response.body.collect(upTo: 1 << 16)
        }
        #expect(healthy == 5, "the health check answers during the attack")
        for attack in attacks { #expect(await attack.value == nil, "the bomb's handshake is refused") }
        try await health.shutdown()
        try await attacker.shutdown()
        // And the gateway still serves partners.
        #expect(try await server.get("/v1/cameras", as: pki.police).status == 200)
        await server.stop()
    }

    // MARK: Issue 15, finding 2: revocation and connections already open

    @Test(
        "A revocation closes the partner's open keep-alive connection and its alert stream at once",
        .timeLimit(.minutes(3)))
    func revocationClosesOpenConnections() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let server = try await RunningServer.start(pki: pki)
        let now = Date()
        let client = try server.client(pki.police)
        let streamClient = try server.client(pki.police)
        defer {
            Task.detached {
                try? await client.shutdown()
                try? await streamClient.shutdown()
            }
        }
        let first = try await client.execute(HTTPClientRequest(url: server.url("/v1/cameras")), timeout: .seconds(60))
        #expect(first.status == .ok)
        _ = try await first.body.collect(upTo: 1 << 20)

        let stream = try await streamClient.execute(
            HTTPClientRequest(url: server.url("/v1/alerts")), timeout: .seconds(120))
        #expect(stream.status == .ok)
        let (ids, idContinuation) = AsyncStream<Int64>.makeStream()
        let reader = Task {
            var text = ""
            do {
                for try await buffer in stream.body {
                    text += String(buffer: buffer)
                    while let end = text.range(of: "\n\n") {
                        let block = text[..<end.lowerBound]
                        text.removeSubrange(..<end.upperBound)
                        if let line = block.split(separator: "\n").first(where: { $0.hasPrefix("id: ") }),
                            let id = Int64(line.dropFirst(4))
                        {
                            idContinuation.yield(id)
                        }
                    }
                }
            } catch {}
            idContinuation.finish()
        }
        var received = ids.makeAsyncIterator()
        while server.broker.subscriberCount == 0 { try await Task.sleep(for: .milliseconds(20)) }
        let before = try server.broker.publish(AlertStreamTests.alerts(now: now)[0])
        #expect(await received.next() == before.sequence, "the stream works before the revocation")
        #expect(server.verifier.openConnections == 2)

        try pki.site.revoke(serials: [pki.police.serial])
        let closed = await server.verifier.update(try pki.trust(authority: TestAuthority()))
        #expect(closed == 2, "the keep-alive connection and the stream's connection")
        _ = try server.broker.publish(AlertStreamTests.alerts(now: now)[0])
        #expect(await received.next() == nil, "the stream ended; the alert after the revocation never left")
        await reader.value

        let after = try? await client.execute(HTTPClientRequest(url: server.url("/v1/cameras")), timeout: .seconds(60))
        #expect(after == nil || after?.status != .ok, "nothing more for the revoked certificate on any connection")
        #expect(try await server.get("/v1/cameras", as: pki.retailer).status == 200, "other partners are untouched")
        await server.stop()
    }

    // MARK: Limits

    @Test(
        "A partner holds at most its share of connections and alert streams; a keep-alive connection ends after its requests"
    )
    func connectionAndStreamLimits() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let server = try await RunningServer.start(pki: pki) {
            $0.connectionLimits = PeerVerifier.ConnectionLimits(perCaller: 2, requestsPerConnection: 3)
            $0.maximumStreamsPerPartner = 1
        }
        // Separate clients: separate connections.
        var clients: [HTTPClient] = []
        defer { for client in clients { Task.detached { try? await client.shutdown() } } }
        var statuses: [UInt] = []
        for _ in 0..<3 {
            let client = try server.client(pki.police)
            clients.append(client)
            let response = try await client.execute(
                HTTPClientRequest(url: server.url("/v1/cameras")), timeout: .seconds(60))
            statuses.append(response.status.code)
            _ = try await response.body.collect(upTo: 1 << 20)
        }
        #expect(statuses == [200, 200, 429], "the third connection of the police is one too many")
        #expect(try await server.get("/v1/cameras", as: pki.retailer).status == 200, "another partner is not affected")

        // The third request on a connection is its last: answered with Connection: close.
        var closes: [String?] = []
        for _ in 0..<3 {
            let response = try await clients[0].execute(
                HTTPClientRequest(url: server.url("/v1/cameras")), timeout: .seconds(60))
            closes.append(response.headers.first(name: "Connection"))
            _ = try await response.body.collect(upTo: 1 << 20)
        }
        #expect(closes.contains("close"), "\(closes)")

        // One alert stream at a time for the police (the stream holds a connection: the limit of two is not reached).
        let stream = try await clients[1].execute(
            HTTPClientRequest(url: server.url("/v1/alerts")), timeout: .seconds(60))
        #expect(stream.status == .ok)
        let refused = try await clients[0].execute(
            HTTPClientRequest(url: server.url("/v1/alerts")), timeout: .seconds(60))
        #expect(refused.status == .tooManyRequests, "a second stream is refused while the first is open")
        await server.stop()
    }

    // MARK: Fuzz

    /// A hostile path: known routes cut, doubled, dot-segmented, percent-encoded, stretched, with odd bytes.
    static func hostilePath(_ random: inout SeededGenerator) -> String {
        let pieces = [
            "v1", "cameras", "market-square", "station-forecourt", "clip", "segments", "counts", "live", "index.m3u8",
            "alerts", "..", ".", "%2e%2e", "%2F", "%00", "%ff", "%", "%zz", "\u{00e9}", "~", "*", "'", "<script>",
            "a;b",
            String(repeating: "x", count: Int.random(in: 1...3000, using: &random)),
        ]
        let count = Int.random(in: 0...8, using: &random)
        var path = "/" + (0..<count).map { _ in pieces.randomElement(using: &random)! }.joined(separator: "/")
        if Bool.random(using: &random) {
            let keys = ["from", "to", "after", "camera", "", "from[]", "%00"]
            let values = [
                "", "yesterday", "2026-11-25T12:00:00Z", "-1", "99999999999999999999", "1e308", "NaN", "%ff",
                String(repeating: "9", count: Int.random(in: 1...2000, using: &random)),
            ]
            path +=
                "?"
                + (0..<Int.random(in: 1...5, using: &random)).map { _ in
                    "\(keys.randomElement(using: &random)!)=\(values.randomElement(using: &random)!)"
                }.joined(separator: "&")
        }
        return path
    }

    @Test(
        "Fuzz: 400 hostile paths, query strings and headers from a partner get 4xx (or an allowed answer), never an error or an echo; the server keeps serving",
        .timeLimit(.minutes(5)))
    func fuzzRequestPath() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let server = try await RunningServer.start(pki: pki)
        var random = SeededGenerator(seed: 0xF022)
        var statuses: [UInt: Int] = [:]
        try await server.withClient(pki.police) { client in
            for index in 0..<400 {
                let path = Self.hostilePath(&random)
                let marker = "zq\(index)marker"
                var request = HTTPClientRequest(url: server.url(path))
                let headerValues = [
                    "", marker, String(repeating: "a", count: Int.random(in: 1...4000, using: &random)),
                    "\u{00e9}\u{00e9}",
                    "1; DROP TABLE audit", "../../etc/passwd",
                ]
                for _ in 0..<Int.random(in: 0...4, using: &random) {
                    let name = [
                        "Last-Event-ID", "Veilgate-Justification", "Range", "X-Forwarded-For", "Accept", "Cookie",
                    ]
                    .randomElement(using: &random)!
                    request.headers.add(name: name, value: headerValues.randomElement(using: &random)!)
                }
                // The client itself refuses some requests (malformed URLs): those never reach the server.
                guard let response = try? await client.execute(request, timeout: .seconds(60)) else { continue }
                let body = (try? await response.body.collect(upTo: 1 << 22)).map { String(buffer: $0) } ?? ""
                statuses[response.status.code, default: 0] += 1
                #expect(response.status.code < 500, "\(path.prefix(200)) → \(response.status.code)")
                #expect(!body.contains(marker), "the answer echoes a header: \(path.prefix(200))")
                #expect(!body.contains("<script>"), "the answer echoes the path: \(path.prefix(200))")
            }
        }
        #expect(statuses.values.reduce(0, +) >= 300, "most hostile requests reached the server: \(statuses)")
        #expect(try await server.get("/v1/cameras", as: pki.police).status == 200, "and it still serves")
        await server.stop()
    }
}
