import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import VeilCore
@testable import VeilFederation

@Suite("Hardening", .serialized)
struct HardeningTests {
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
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
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
                let response = try await client.execute(HTTPClientRequest(url: server.url("/v1/cameras")), timeout: .seconds(60))
                statuses.append(response.status.code)
                _ = try await response.body.collect(upTo: 1 << 16)
            }
            return statuses
        }
        #expect(statuses == [200, 200, 200, 429, 429])
        #expect(try await server.get("/v1/cameras", as: pki.retailer).status == 200)
        await server.stop()
    }
}
