import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import VeilCore

/// The operator API, version 1 (docs/openapi-console.yaml): JSON under `/api/v1`, each route for the roles of the page
/// it serves (``ConsolePageKind``). A route refused to a role answers 403 with a JSON reason the page shows.
struct OperatorAPI: Sendable {
    let directory: any OperatorDirectory
    let cameras: any ConsoleCameras
    let alerts: any AlertSource
    let policy: any ConsolePolicyDesk
    let audit: any ConsoleAuditDesk
    let logger: Logger

    /// SSE keep-alive comment interval.
    static let keepAlive: Duration = .seconds(15)

    typealias Handler = @Sendable (OperatorAPI, Request, ConsoleRequestContext) async throws -> Response

    /// One route: the roles it is for (nil: any operator) and its handler.
    struct Route: Sendable {
        var method: HTTPRequest.Method
        var path: String
        var roles: Set<OperatorRole>?
        var handler: Handler

        /// `GET`, `POST`: how docs/openapi-console.yaml names the method (lower-cased).
        var methodName: String { method.rawValue }
    }

    /// Every route. docs/openapi-console.yaml documents exactly these (a test compares them).
    static let routes: [Route] = [
        Route(method: .get, path: "/api/v1/session", roles: nil) { api, _, context in try api.session(context) },
        Route(method: .get, path: "/api/v1/cameras", roles: ConsolePageKind.cameras.roles) { api, _, _ in
            try Response.json(api.cameras.cameras())
        },
        Route(method: .get, path: "/api/v1/cameras/:camera/live", roles: ConsolePageKind.cameras.roles) {
            api, _, context in try api.live(context)
        },
        Route(method: .get, path: "/api/v1/cameras/:camera/live/:file", roles: ConsolePageKind.cameras.roles) {
            api, _, context in try api.liveFile(context)
        },
        Route(method: .get, path: "/api/v1/alerts", roles: ConsolePageKind.alerts.roles) { api, request, _ in
            try api.recentAlerts(request)
        },
        Route(method: .get, path: "/api/v1/alerts/stream", roles: ConsolePageKind.alerts.roles) {
            api, request, context in try api.alertStream(request, context)
        },
        Route(method: .get, path: "/api/v1/alerts/:sequence/snapshot", roles: ConsolePageKind.alerts.roles) {
            api, _, context in try await api.snapshot(context)
        },
        Route(method: .get, path: "/api/v1/policy", roles: ConsolePageKind.policy.roles) { api, _, _ in
            try api.policyText()
        },
        Route(method: .post, path: "/api/v1/policy/lint", roles: [.dpo]) { api, request, context in
            try await api.lint(request, context)
        },
        Route(method: .get, path: "/api/v1/record-of-processing", roles: ConsolePageKind.record.roles) { api, _, _ in
            Response.text(api.policy.recordOfProcessing(), type: "text/markdown; charset=utf-8")
        },
        Route(method: .get, path: "/api/v1/audit", roles: ConsolePageKind.audit.roles) { api, request, _ in
            try api.auditEntries(request)
        },
        Route(method: .get, path: "/api/v1/audit/verify", roles: ConsolePageKind.audit.roles) { api, _, _ in
            try Response.json(api.audit.verify())
        },
    ]

    func register(on router: Router<ConsoleRequestContext>) {
        for route in Self.routes {
            router.on(RouterPath(route.path), method: route.method) { request, context -> Response in
                if let roles = route.roles, !context.holds(any: roles) {
                    let wanted = roles.sorted().map(\.rawValue).joined(separator: " or ")
                    let held = context.roles.sorted().map(\.rawValue).joined(separator: ", ")
                    return try Response.json(
                        Refusal(error: "forbidden", message: "This is for \(wanted); your roles: \(held)."),
                        status: HTTPResponse.Status.forbidden)
                }
                do {
                    return try await route.handler(self, request, context)
                } catch let error as ConsoleError {
                    logger.error("console: \(route.path) failed", metadata: ["error": "\(error)"])
                    return try Response.json(
                        Refusal(error: "unavailable", message: error.message), status: .internalServerError)
                } catch {
                    // Other errors may carry details of the vault or journal; the page gets no more than the fact.
                    logger.error("console: \(route.path) failed", metadata: ["error": "\(error)"])
                    return try Response.json(
                        Refusal(error: "failed", message: "The gateway could not answer; its log says why."),
                        status: .internalServerError)
                }
            }
        }
    }

    struct Refusal: Codable {
        var error: String
        var message: String
    }

    // MARK: Session

    struct Session: Codable {
        struct Page: Codable {
            var id: String
            var title: String
            var allowed: Bool
        }

        var operatorName: String
        var roles: [String]
        var csrf: String
        var site: String
        var policyVersion: String
        var pages: [Page]
    }

    func session(_ context: ConsoleRequestContext) throws -> Response {
        try .json(
            Session(
                operatorName: context.operatorID?.rawValue ?? "", roles: context.roles.sorted().map(\.rawValue),
                csrf: context.csrfToken, site: directory.site, policyVersion: directory.policyVersion,
                pages: ConsolePageKind.allCases.map {
                    .init(id: $0.rawValue, title: $0.title, allowed: context.holds(any: $0.roles))
                }))
    }

    // MARK: Live video

    struct LiveState: Codable {
        /// `ready`, `warming-up` or `no-pipeline`.
        var state: String
        var segments: [ConsoleLiveSegment]
    }

    func live(_ context: ConsoleRequestContext) throws -> Response {
        let camera = CameraID(context.parameters.get("camera") ?? "")
        switch cameras.live(camera: camera) {
        case .noPipeline: return try .json(LiveState(state: "no-pipeline", segments: []))
        case .warmingUp: return try .json(LiveState(state: "warming-up", segments: []))
        case .ready(_, let segments): return try .json(LiveState(state: "ready", segments: segments))
        }
    }

    /// `init.mp4` or `N.m4s`.
    func liveFile(_ context: ConsoleRequestContext) throws -> Response {
        let camera = CameraID(context.parameters.get("camera") ?? "")
        let file = context.parameters.get("file") ?? ""
        let bytes: Data?
        if file == "init.mp4" {
            if case .ready(let initSegment, _) = cameras.live(camera: camera) {
                bytes = initSegment
            } else {
                bytes = nil
            }
        } else if file.hasSuffix(".m4s"), let sequence = Int(file.dropLast(4)) {
            bytes = cameras.liveSegment(camera: camera, sequence: sequence)
        } else {
            bytes = nil
        }
        guard let bytes else { return Response(status: .notFound) }
        return Response(
            status: .ok, headers: [.contentType: file == "init.mp4" ? "video/mp4" : "video/iso.segment"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: Alerts

    struct ListedAlert: Codable {
        var sequence: Int64
        var alert: Alert
        var snapshot: Bool
    }

    static func listed(_ entry: JournaledAlert) -> ListedAlert {
        var alert = entry.alert
        // The vault reference of a snapshot is the gateway's; the page fetches it by the alert's sequence.
        let hasSnapshot = alert.snapshotID != nil || alert.snapshot != nil
        alert.snapshotID = nil
        alert.snapshot = nil
        return ListedAlert(sequence: entry.sequence, alert: alert, snapshot: hasSnapshot)
    }

    /// The newest alerts, newest first: `limit` (≤ 500, default 100) before `before` (a sequence number).
    func recentAlerts(_ request: Request) throws -> Response {
        let limit = min(500, max(1, Int(request.uri.queryParameters["limit"] ?? "") ?? 100))
        let last = try alerts.lastSequence()
        let before = min(last + 1, Int64(request.uri.queryParameters["before"] ?? "") ?? (last + 1))
        let start = max(0, before - 1 - Int64(limit))
        let entries = try alerts.entries(after: start, limit: limit).filter { $0.sequence < before }
        return try .json(entries.reversed().map(Self.listed))
    }

    func snapshot(_ context: ConsoleRequestContext) async throws -> Response {
        guard let sequence = Int64(context.parameters.get("sequence") ?? ""), sequence > 0,
            let entry = try alerts.entries(after: sequence - 1, limit: 1).first, entry.sequence == sequence,
            let reference = entry.alert.snapshotID,
            let jpeg = try await cameras.snapshot(reference, camera: entry.alert.camera)
        else { return Response(status: .notFound) }
        return Response(
            status: .ok, headers: [.contentType: "image/jpeg"], body: .init(byteBuffer: ByteBuffer(bytes: jpeg)))
    }

    /// Server-Sent Events: the journal's alerts after `Last-Event-ID` (or from now), then live ones.
    func alertStream(_ request: Request, _ context: ConsoleRequestContext) throws -> Response {
        let resumeFrom = Int64(request.headers[HTTPField.Name("Last-Event-ID")!] ?? "")
        let after = try resumeFrom ?? alerts.lastSequence()
        let alerts = self.alerts
        let closed = context.channel.closeFuture
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
            body: .init { writer in
                try await Self.stream(alerts: alerts, after: after, closed: closed, into: &writer)
            })
    }

    private enum StreamEvent: Sendable {
        case alert(JournaledAlert)
        case keepAlive
    }

    private static func stream(
        alerts: any AlertSource, after: Int64, closed: EventLoopFuture<Void>, into writer: inout any ResponseBodyWriter
    ) async throws {
        // Subscribed before the replay, so nothing published meanwhile is missed; repeats are skipped by sequence.
        let live = alerts.subscribe()
        let (events, continuation) = AsyncStream<StreamEvent>.makeStream(
            bufferingPolicy: .bufferingOldest(alerts.subscriptionBuffer))
        let forward = Task {
            for await entry in live {
                if case .dropped = continuation.yield(.alert(entry)) { break }
            }
            continuation.finish()
        }
        closed.whenComplete { _ in continuation.finish() }
        let keepAlive = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.keepAlive)
                continuation.yield(.keepAlive)
            }
        }
        defer {
            forward.cancel()
            keepAlive.cancel()
            continuation.finish()
        }
        try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
        var last = after
        while true {
            let batch = try alerts.entries(after: last, limit: 500)
            if batch.isEmpty { break }
            for entry in batch {
                try await writer.write(try event(entry))
                last = entry.sequence
            }
        }
        for await event in events {
            switch event {
            case .keepAlive:
                try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
            case .alert(let entry):
                guard entry.sequence > last else { continue }
                last = entry.sequence
                try await writer.write(try Self.event(entry))
            }
        }
        try await writer.finish(nil)
    }

    private static func event(_ entry: JournaledAlert) throws -> ByteBuffer {
        let json = try JSONEncoder.compact.encode(listed(entry))
        return ByteBuffer(
            string: "id: \(entry.sequence)\nevent: alert\ndata: \(String(decoding: json, as: UTF8.self))\n\n")
    }

    // MARK: Policy

    struct PolicyText: Codable {
        var file: String
        var version: String
        var text: String
    }

    func policyText() throws -> Response {
        let (file, text, version) = try policy.policyInForce()
        return try .json(PolicyText(file: file, version: version, text: text))
    }

    func lint(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let diagnostics = policy.lint(String(buffer: body))
        return try .json(diagnostics)
    }

    // MARK: Audit

    func auditEntries(_ request: Request) throws -> Response {
        let limit = min(1000, max(1, Int(request.uri.queryParameters["limit"] ?? "") ?? 200))
        let after = max(0, Int64(request.uri.queryParameters["after"] ?? "") ?? 0)
        return try .json(audit.entries(after: after, limit: limit))
    }
}

extension Response {
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try JSONEncoder.sorted.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func text(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
