import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// An HTTPS client that proves its identity with a client certificate: how partners, `veilgate partner`
/// and peer gateways talk to a Veilgate site. Trusts only the CA it is given (the site's), not the system's.
public final class PartnerClient: Sendable {
    public let baseURL: String
    let client: HTTPClient

    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// - Parameters:
    ///   - baseURL: `https://host:port` of the site.
    ///   - certificatePath, keyPath: the client identity; nil to connect without one (to show it fails).
    ///   - trustedCAPath: the site's CA certificate.
    public init(baseURL: String, certificatePath: String?, keyPath: String?, trustedCAPath: String) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        do {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(trustedCAPath))
            if let certificatePath, let keyPath {
                try SecureFile.requirePrivate(keyPath)
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem))
            }
        } catch let error as FederationError {
            throw error
        } catch {
            throw FederationError(
                .invalidConfiguration, "cannot load the client certificate, its key or the CA \(trustedCAPath)")
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        configuration.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }

    public func get(_ path: String, headers: [(String, String)] = [], limit: Int = 256 << 20) async throws -> Response {
        try await send(.GET, path, headers: headers, body: nil, limit: limit)
    }

    public func post(_ path: String, json: [UInt8], headers: [(String, String)] = []) async throws -> Response {
        try await send(
            .POST, path, headers: headers + [("Content-Type", "application/json")], body: json, limit: 1 << 20)
    }

    public func put(_ path: String, body: [UInt8], contentType: String) async throws -> Response {
        try await send(.PUT, path, headers: [("Content-Type", contentType)], body: body, limit: 1 << 20)
    }

    public func delete(_ path: String) async throws -> Response {
        try await send(.DELETE, path, headers: [], body: nil, limit: 1 << 20)
    }

    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)], body: [UInt8]?, limit: Int
    ) async throws -> Response {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let response = try await client.execute(request, timeout: .seconds(60))
        let collected = try await response.body.collect(upTo: limit)
        return Response(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
            body: Array(buffer: collected))
    }

    /// One Server-Sent Event.
    public struct Event: Sendable, Equatable {
        public var id: Int64?
        public var event: String?
        public var data: String
    }

    /// Reads an SSE stream (resuming after `lastEventID`) and hands each event to `handle` until it
    /// returns false, the server ends the stream, or the task is cancelled.
    public func events(_ path: String, lastEventID: Int64?, handle: (Event) async throws -> Bool) async throws {
        var request = HTTPClientRequest(url: baseURL + path)
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: String(lastEventID)) }
        let response = try await client.execute(request, timeout: .hours(24 * 365))
        guard response.status == .ok else {
            throw FederationError(.peer, "\(path): the server answered \(response.status.code)")
        }
        var pending = ""
        for try await buffer in response.body {
            pending += String(buffer: buffer)
            guard pending.utf8.count < 1 << 20 else {
                throw FederationError(.peer, "\(path): an event larger than 1 MiB")
            }
            while let end = pending.range(of: "\n\n") {
                let block = pending[..<end.lowerBound]
                pending.removeSubrange(..<end.upperBound)
                var event = Event(id: nil, event: nil, data: "")
                var hasData = false
                for line in block.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix(":") {
                    if line.hasPrefix("id: ") { event.id = Int64(line.dropFirst(4)) }
                    if line.hasPrefix("event: ") { event.event = String(line.dropFirst(7)) }
                    if line.hasPrefix("data: ") {
                        event.data += (hasData ? "\n" : "") + line.dropFirst(6)
                        hasData = true
                    }
                }
                if hasData, try await !handle(event) { return }
            }
        }
    }

    public func shutdown() async {
        try? await client.shutdown()
    }
}
