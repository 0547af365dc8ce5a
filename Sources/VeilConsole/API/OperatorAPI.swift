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
    let evidence: any ConsoleEvidenceDesk
    let approvals: TwoPersonRule
    let partners: any ConsolePartners
    let acknowledgements: any ConsoleAlertDesk
    let grants: EvidenceGrants
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

    /// Who may ask for, and approve, an erasure: two people, one of each.
    static let erasureRoles: Set<OperatorRole> = [.dpo, .evidenceOfficer]

    /// Who may take footage out of the vault (exports, original views) and approve another's taking original footage:
    /// original footage needs two people, one of each.
    static let takeoutRoles: Set<OperatorRole> = [.dpo, .evidenceOfficer]

    /// Who sees the cameras and their live redacted picture: the control room, and the DPO drawing zones on it.
    static let pictureRoles = ConsolePageKind.cameras.roles.union(ConsolePageKind.zones.roles)

    /// Every route. docs/openapi-console.yaml documents exactly these (a test compares them).
    static let routes: [Route] = [
        Route(method: .get, path: "/api/v1/session", roles: nil) { api, _, context in try api.session(context) },
        Route(method: .get, path: "/api/v1/cameras", roles: Self.pictureRoles) { api, _, _ in
            try Response.json(api.cameras.cameras())
        },
        Route(method: .get, path: "/api/v1/cameras/:camera/live", roles: Self.pictureRoles) {
            api, _, context in try api.live(context)
        },
        Route(method: .get, path: "/api/v1/cameras/:camera/live/:file", roles: Self.pictureRoles) {
            api, _, context in try api.liveFile(context)
        },
        Route(method: .get, path: "/api/v1/cameras/:camera/counts", roles: ConsolePageKind.counts.roles) {
            api, request, context in try api.counts(request, context)
        },
        Route(method: .get, path: "/api/v1/alerts", roles: ConsolePageKind.alerts.roles) { api, request, _ in
            try api.recentAlerts(request)
        },
        Route(method: .get, path: "/api/v1/alerts/stream", roles: ConsolePageKind.alerts.roles) {
            api, request, context in try api.alertStream(request, context)
        },
        Route(method: .post, path: "/api/v1/alerts/:sequence/acknowledge", roles: ConsolePageKind.alerts.roles) {
            api, request, context in try await api.acknowledge(request, context)
        },
        Route(method: .get, path: "/api/v1/alerts/:sequence/snapshot", roles: ConsolePageKind.alerts.roles) {
            api, _, context in try await api.snapshot(context)
        },
        Route(method: .get, path: "/api/v1/evidence/holds", roles: ConsolePageKind.evidence.roles) { api, _, _ in
            try await api.listHolds()
        },
        Route(method: .post, path: "/api/v1/evidence/holds", roles: nil) { api, request, context in
            try await api.placeHold(request, context)
        },
        Route(method: .post, path: "/api/v1/evidence/holds/:hold/renew", roles: nil) { api, _, context in
            try await api.renewHold(context)
        },
        Route(method: .post, path: "/api/v1/evidence/holds/:hold/release", roles: nil) { api, _, context in
            try await api.requestRelease(context)
        },
        Route(method: .get, path: "/api/v1/evidence/retention", roles: ConsolePageKind.evidence.roles) { api, _, _ in
            try Response.json(try await api.evidence.retentionCalendar())
        },
        Route(method: .post, path: "/api/v1/evidence/erasures", roles: Self.erasureRoles) { api, request, context in
            try await api.requestErasure(request, context)
        },
        Route(method: .get, path: "/api/v1/evidence/exports", roles: ConsolePageKind.evidence.roles) {
            api, _, context in try api.listExports(context)
        },
        Route(method: .post, path: "/api/v1/evidence/exports", roles: Self.takeoutRoles) { api, request, context in
            try await api.requestExport(request, context)
        },
        Route(method: .get, path: "/api/v1/evidence/exports/:export/archive", roles: Self.takeoutRoles) {
            api, _, context in try await api.exportArchive(context)
        },
        Route(method: .get, path: "/api/v1/evidence/originals", roles: Self.takeoutRoles) { api, _, context in
            try await api.listViews(context)
        },
        Route(method: .post, path: "/api/v1/evidence/originals", roles: Self.takeoutRoles) {
            api, request, context in try await api.requestView(request, context)
        },
        Route(method: .get, path: "/api/v1/evidence/originals/:view/:segment", roles: Self.takeoutRoles) {
            api, _, context in try await api.originalSegment(context)
        },
        Route(method: .get, path: "/api/v1/approvals", roles: ConsolePageKind.evidence.roles) { api, _, _ in
            try Response.json(api.approvals.waiting())
        },
        Route(method: .post, path: "/api/v1/approvals/:approval/approve", roles: nil) { api, _, context in
            try await api.approve(context)
        },
        Route(method: .post, path: "/api/v1/approvals/:approval/withdraw", roles: nil) { api, _, context in
            try await api.withdraw(context)
        },
        Route(method: .get, path: "/api/v1/partners", roles: ConsolePageKind.partners.roles) { api, _, _ in
            try api.listPartners()
        },
        Route(method: .post, path: "/api/v1/certificates/:serial/revoke", roles: [.admin]) { api, _, context in
            try await api.revoke(context)
        },
        Route(method: .get, path: "/api/v1/policy", roles: ConsolePageKind.policy.roles) { api, _, _ in
            try api.policyText()
        },
        Route(method: .post, path: "/api/v1/policy/lint", roles: [.dpo]) { api, request, context in
            try await api.lint(request, context)
        },
        Route(method: .post, path: "/api/v1/policy/diff", roles: [.dpo]) { api, request, context in
            try await api.diff(request, context)
        },
        Route(method: .post, path: "/api/v1/policy/test", roles: [.dpo]) { api, request, context in
            let text = String(buffer: try await request.body.collect(upTo: context.maxUploadSize))
            return try .json(api.policy.test(text))
        },
        Route(method: .post, path: "/api/v1/policy/zones", roles: ConsolePageKind.zones.roles) {
            api, request, context in try await api.geometry(request, context)
        },
        Route(method: .post, path: "/api/v1/policy/reload", roles: [.dpo]) { api, _, context in
            try Response.json(await api.policy.reload(by: Self.actor(context)))
        },
        Route(method: .post, path: "/api/v1/policy/bundle", roles: [.dpo]) { api, request, context in
            try await api.deployBundle(request, context)
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
                } catch let refusal as RoleRefusal {
                    return try Response.json(
                        Refusal(error: "forbidden", message: refusal.message), status: HTTPResponse.Status.forbidden)
                } catch let error as ConsoleError where error.code == .refused {
                    return try Response.json(Refusal(error: "refused", message: error.message), status: .badRequest)
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
        var map: ConsoleSiteMap?
    }

    func session(_ context: ConsoleRequestContext) throws -> Response {
        try .json(
            Session(
                operatorName: context.operatorID?.rawValue ?? "", roles: context.roles.sorted().map(\.rawValue),
                csrf: context.csrfToken, site: directory.site, policyVersion: directory.policyVersion,
                pages: ConsolePageKind.allCases.map {
                    .init(id: $0.rawValue, title: $0.title, allowed: context.holds(any: $0.roles))
                }, map: directory.map))
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

    // MARK: Counts

    /// The longest range one request may ask for: a week of minutes.
    static let maxCountsSpan: TimeInterval = 7 * 86400

    /// A camera's minute counts (peak occupancy per zone, crossings per line and direction) between `from` and `to`
    /// (ISO 8601; default: the last six hours).
    func counts(_ request: Request, _ context: ConsoleRequestContext) throws -> Response {
        let camera = CameraID(context.parameters.get("camera") ?? "")
        let now = Date()
        let formatter = ISO8601DateFormatter()
        let to = request.uri.queryParameters["to"].flatMap { formatter.date(from: String($0)) } ?? now
        let from = request.uri.queryParameters["from"].flatMap { formatter.date(from: String($0)) } ?? to - 6 * 3600
        guard from < to, to.timeIntervalSince(from) <= Self.maxCountsSpan else {
            throw ConsoleError(.refused, "from must be before to, at most seven days apart (ISO 8601 times).")
        }
        return try .json(alerts.minuteCounts(camera: camera, from: from, to: to))
    }

    // MARK: Alerts

    struct ListedAlert: Codable {
        var sequence: Int64
        var alert: Alert
        var snapshot: Bool
        var acknowledged: ConsoleAcknowledgement?
    }

    static func listed(_ entry: JournaledAlert, acknowledged: ConsoleAcknowledgement? = nil) -> ListedAlert {
        var alert = entry.alert
        // The vault reference of a snapshot is the gateway's; the page fetches it by the alert's sequence.
        let hasSnapshot = alert.snapshotID != nil || alert.snapshot != nil
        alert.snapshotID = nil
        alert.snapshot = nil
        // A watchlist match's reference is the owning partner's alone.
        alert.reference = nil
        return ListedAlert(sequence: entry.sequence, alert: alert, snapshot: hasSnapshot, acknowledged: acknowledged)
    }

    /// The most an acknowledgement's note may say.
    static let maximumNote = 500

    struct Acknowledging: Codable {
        var note: String?
    }

    func acknowledge(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        guard let sequence = Int64(context.parameters.get("sequence") ?? "") else {
            throw ConsoleError(.refused, "Not an alert number.")
        }
        let body = try await request.body.collect(upTo: 16 * 1024)
        let note = (try? JSONDecoder().decode(Acknowledging.self, from: Data(body.readableBytesView)))?.note?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard (note?.count ?? 0) <= Self.maximumNote else {
            throw ConsoleError(.refused, "A note is at most \(Self.maximumNote) characters.")
        }
        guard
            try await acknowledgements.acknowledge(
                sequence, by: Self.actor(context), note: note?.isEmpty == true ? nil : note)
        else { throw ConsoleError(.refused, "Alert \(sequence) is no longer kept.") }
        return try .json(acknowledgements.acknowledgements(of: [sequence])[sequence])
    }

    /// The newest alerts, newest first: `limit` (≤ 500, default 100) before `before` (a sequence number).
    func recentAlerts(_ request: Request) throws -> Response {
        let limit = min(500, max(1, Int(request.uri.queryParameters["limit"] ?? "") ?? 100))
        let last = try alerts.lastSequence()
        let before = min(last + 1, Int64(request.uri.queryParameters["before"] ?? "") ?? (last + 1))
        let start = max(0, before - 1 - Int64(limit))
        let entries = try alerts.entries(after: start, limit: limit).filter { $0.sequence < before }
        let acknowledged = try acknowledgements.acknowledgements(of: entries.map(\.sequence))
        return try .json(entries.reversed().map { Self.listed($0, acknowledged: acknowledged[$0.sequence]) })
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

    private static func stream(
        alerts: any AlertSource, after: Int64, closed: EventLoopFuture<Void>, into writer: inout any ResponseBodyWriter
    ) async throws {
        let events = AlertReplayThenLive(alerts, after: after, keepAlive: keepAlive)
        closed.whenComplete { _ in events.finish() }
        defer { events.finish() }
        try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
        for try await event in events {
            switch event {
            case .alert(let entry): try await writer.write(try Self.event(entry))
            case .keepAlive: try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
            case .caughtUp: break
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
        var deployment: ConsoleDeployment
    }

    func policyText() throws -> Response {
        let (file, text, version) = try policy.policyInForce()
        return try .json(PolicyText(file: file, version: version, text: text, deployment: policy.deployment()))
    }

    func lint(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let diagnostics = policy.lint(String(buffer: body))
        return try .json(diagnostics)
    }

    /// A signed bundle's files, as the page reads them from the DPO's disk.
    struct BundleUpload: Codable {
        struct File: Codable {
            var name: String
            /// Base64.
            var content: String
        }

        var files: [File]
    }

    func deployBundle(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        // Base64 makes 4 MiB of files about 5.4 MiB of JSON.
        let body = try await request.body.collect(upTo: 6 << 20)
        guard let upload = try? JSONDecoder().decode(BundleUpload.self, from: Data(body.readableBytesView)) else {
            throw ConsoleError(.refused, "Expected {files: [{name, content (base64)}]}: the bundle's files.")
        }
        var files: [String: Data] = [:]
        for file in upload.files {
            guard let contents = Data(base64Encoded: file.content), files[file.name] == nil else {
                throw ConsoleError(.refused, "\(file.name.prefix(80)): unreadable or given twice.")
            }
            files[file.name] = contents
        }
        return try .json(await policy.deploy(files: files, by: Self.actor(context)))
    }

    // MARK: Evidence

    /// The roles that may act on holds: the policy's hold approvers. Checked in the handler, since the policy decides
    /// them (routes with `roles: nil` above check here).
    func holdRolesCheck(_ context: ConsoleRequestContext) throws {
        guard context.holds(any: evidence.holdRoles) else {
            let wanted = evidence.holdRoles.sorted().map(\.rawValue).joined(separator: " or ")
            throw RoleRefusal(
                message:
                    "Holds are placed, renewed, released and approved by \(wanted) (the policy's legal-hold approvers)."
            )
        }
    }

    /// A route whose roles the policy decides, refused to this operator's: answered 403 like any other.
    struct RoleRefusal: Error {
        var message: String
    }

    static func actor(_ context: ConsoleRequestContext) -> String { "operator:\(context.operatorID?.rawValue ?? "?")" }

    struct HoldList: Codable {
        var holds: [ConsoleHold]
        var cameras: [String]
        var holdRoles: [String]
        var erasureRoles: [String]
        /// Who exports and asks to see original footage, and approves another's asking.
        var takeoutRoles: [String]
        var approvalMinutes: Int
    }

    func listHolds() async throws -> Response {
        try .json(
            HoldList(
                holds: try await evidence.holds(), cameras: evidence.cameraIDs.map(\.rawValue),
                holdRoles: evidence.holdRoles.sorted().map(\.rawValue),
                erasureRoles: Self.erasureRoles.sorted().map(\.rawValue),
                takeoutRoles: Self.takeoutRoles.sorted().map(\.rawValue),
                approvalMinutes: Int(approvals.timeLimit / 60)))
    }

    struct NewHold: Codable {
        var camera: String
        var from: Date
        var to: Date
        var caseReference: String
    }

    func placeHold(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        try holdRolesCheck(context)
        let body = try await request.body.collect(upTo: 16 * 1024)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let hold = try? decoder.decode(NewHold.self, from: Data(body.readableBytesView)) else {
            throw ConsoleError(.refused, "A hold needs camera, from, to (ISO 8601 times) and caseReference.")
        }
        guard evidence.cameraIDs.contains(CameraID(hold.camera)) else {
            throw ConsoleError(.refused, "The policy has no camera '\(hold.camera.prefix(64))'.")
        }
        let placed = try await evidence.placeHold(
            camera: CameraID(hold.camera), from: hold.from, to: hold.to, caseReference: hold.caseReference,
            by: Self.actor(context))
        return try .json(placed, status: .created)
    }

    func renewHold(_ context: ConsoleRequestContext) async throws -> Response {
        try holdRolesCheck(context)
        return try .json(try await evidence.renewHold(context.parameters.get("hold") ?? "", by: Self.actor(context)))
    }

    /// Releasing a hold is irreversible (its footage may expire at the next sweep): it waits for a second person.
    func requestRelease(_ context: ConsoleRequestContext) async throws -> Response {
        try holdRolesCheck(context)
        let id = context.parameters.get("hold") ?? ""
        guard try await evidence.holds().contains(where: { $0.id == id }) else {
            throw ConsoleError(.refused, "No active hold \(id.prefix(64)).")
        }
        let request = approvals.request(
            .releaseHold, subject: id, by: context.operatorID ?? "",
            roles: context.roles.intersection(evidence.holdRoles))
        try await evidence.audit(
            "approval-requested", actor: Self.actor(context), subject: id,
            details: ["action": request.action.rawValue, "approval": request.id])
        return try .json(request, status: .accepted)
    }

    struct NewErasure: Codable {
        var camera: String
        var from: Date
        var to: Date
    }

    /// Erasure destroys footage for good: it waits for a second person of the other erasure role.
    func requestErasure(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: 16 * 1024)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let erasure = try? decoder.decode(NewErasure.self, from: Data(body.readableBytesView)),
            erasure.from < erasure.to
        else { throw ConsoleError(.refused, "An erasure needs camera, from and to (ISO 8601 times, from before to).") }
        guard evidence.cameraIDs.contains(CameraID(erasure.camera)) else {
            throw ConsoleError(.refused, "The policy has no camera '\(erasure.camera.prefix(64))'.")
        }
        let pending = approvals.request(
            .erase, subject: Self.subject(camera: erasure.camera, from: erasure.from, to: erasure.to),
            by: context.operatorID ?? "",
            roles: context.roles.intersection(Self.erasureRoles),
            camera: erasure.camera, from: erasure.from, to: erasure.to)
        try await evidence.audit(
            "approval-requested", actor: Self.actor(context), subject: "camera:\(erasure.camera)",
            details: ["action": pending.action.rawValue, "approval": pending.id])
        return try .json(pending, status: .accepted)
    }

    /// The roles that may approve (and withdraw) a request for `action`.
    func approverRoles(_ action: TwoPersonRule.Request.Action?) -> Set<OperatorRole> {
        switch action {
        case .releaseHold, nil: evidence.holdRoles
        case .erase: Self.erasureRoles
        case .exportOriginal, .viewOriginal: Self.takeoutRoles
        }
    }

    func approve(_ context: ConsoleRequestContext) async throws -> Response {
        let id = context.parameters.get("approval") ?? ""
        let waiting = approvals.waiting().first { $0.id == id }
        let allowed = approverRoles(waiting?.action)
        guard context.holds(any: allowed) else {
            throw RoleRefusal(
                message: "Approving this is for \(allowed.sorted().map(\.rawValue).joined(separator: " or ")).")
        }
        let request: TwoPersonRule.Request
        do {
            request = try approvals.approve(id, by: context.operatorID ?? "", roles: context.roles, allowed: allowed)
        } catch {
            try await evidence.audit(
                "approval-refused", actor: Self.actor(context), subject: id, details: ["reason": error.code])
            throw ConsoleError(.refused, error.description)
        }
        let actor = "\(Self.actor(context)) approving operator:\(request.requestedBy)"
        try await evidence.audit(
            "approval-granted", actor: Self.actor(context),
            subject: request.camera.map { "camera:\($0)" } ?? request.subject,
            details: ["action": request.action.rawValue, "approval": request.id, "requested-by": request.requestedBy])
        switch request.action {
        case .releaseHold:
            try await evidence.releaseHold(request.subject, by: actor)
        case .erase:
            guard let camera = request.camera, let from = request.from, let to = request.to else {
                throw ConsoleError(.refused, "The erasure request is incomplete.")
            }
            _ = try await evidence.erase(camera: CameraID(camera), from: from, to: to, by: actor)
        case .exportOriginal, .viewOriginal:
            guard let camera = request.camera, let from = request.from, let to = request.to else {
                throw ConsoleError(.refused, "The request is incomplete.")
            }
            // The requester takes it out, not the approver: the grant is theirs.
            grants.grant(
                request.action == .viewOriginal ? .originalView : .originalExport, camera: camera, from: from, to: to,
                requestedBy: request.requestedBy, approvedBy: context.operatorID?.rawValue)
        }
        return try .json(request)
    }

    func withdraw(_ context: ConsoleRequestContext) async throws -> Response {
        let id = context.parameters.get("approval") ?? ""
        guard let request = approvals.waiting().first(where: { $0.id == id }) else {
            throw ConsoleError(.refused, TwoPersonRule.Refusal.noSuchRequest.description)
        }
        if request.requestedBy != context.operatorID?.rawValue {
            let allowed = approverRoles(request.action)
            guard context.holds(any: allowed) else {
                throw RoleRefusal(message: "Withdrawing this is not for your roles.")
            }
        }
        _ = approvals.withdraw(id)
        try await evidence.audit(
            "approval-withdrawn", actor: Self.actor(context), subject: request.subject, details: ["approval": id])
        return try .json(request)
    }

    // MARK: Partners

    struct PartnerList: Codable {
        var partners: [ConsolePartner]
        var operators: [ConsoleOperator]
        var warningDays: Int
    }

    func listPartners() throws -> Response {
        try .json(
            PartnerList(
                partners: try partners.partners(), operators: try partners.operators(),
                warningDays: Int(type(of: partners).expiryWarning / 86400)))
    }

    func revoke(_ context: ConsoleRequestContext) async throws -> Response {
        let serial = (context.parameters.get("serial") ?? "").lowercased()
        guard !serial.isEmpty, serial.count <= 64, serial.allSatisfy(\.isHexDigit) else {
            throw ConsoleError(.refused, "Not a certificate serial.")
        }
        try await partners.revoke(serial: serial, by: Self.actor(context))
        return try .json(["revoked": serial])
    }

    struct DraftDiff: Codable {
        /// Nil when the draft has errors.
        var diff: String?
        var diagnostics: [ConsoleDiagnostic]
    }

    func diff(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let text = String(buffer: try await request.body.collect(upTo: context.maxUploadSize))
        return try .json(DraftDiff(diff: policy.diff(text), diagnostics: policy.lint(text)))
    }

    struct Geometry: Codable {
        var camera: String
        var zones: [ConsoleCamera.Zone]
        var lines: [ConsoleCamera.Line]
    }

    /// The zone editor's proposal as a draft policy: never applied here.
    func geometry(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: 256 * 1024)
        guard let proposal = try? JSONDecoder().decode(Geometry.self, from: Data(body.readableBytesView)) else {
            throw ConsoleError(.refused, "Expected {camera, zones: [{id, polygon}], lines: [{id, from, to}]}.")
        }
        return try .json(
            policy.withGeometry(camera: CameraID(proposal.camera), zones: proposal.zones, lines: proposal.lines))
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
