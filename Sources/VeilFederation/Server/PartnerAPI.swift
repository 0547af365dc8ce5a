import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VeilCore

/// The partner API, version 1 (docs/federation.md, docs/openapi.yaml). Every handler asks the policy
/// first, audits the decision with its rule ids, and answers a denial with the same bare 403 whether or not
/// the thing asked for exists.
struct PartnerAPI: Sendable {
    /// The policy in force, asked afresh for every decision (a reload swaps it).
    let currentAuthority: @Sendable () -> any SharingAuthority
    let archive: (any FootageArchive)?
    let audit: any AccessAuditTrail
    /// The alert journal and its live feed.
    let alerts: any AlertSource
    /// Where this site's alert snapshots are kept, read for partners whose grants send them.
    let snapshots: (any AlertSnapshotStore)?
    let live: LiveFeeds?
    /// Partners' own plate watchlists (`/v1/watchlist`); nil where the site keeps none.
    var watchlists: (any PartnerWatchlists)? = nil
    let justifications: JustificationDigest
    let streams: StreamQuota
    let liveLedger = LiveAuditLedger()
    let clock: @Sendable () -> Date

    static let justificationHeader = HTTPField.Name("Veilgate-Justification")!
    /// A clip request spans at most a day: longer ranges are several requests, each audited.
    static let maxClipSpan: TimeInterval = 86400
    /// SSE keep-alive comment interval, so idle proxies and clients keep the stream open.
    static let keepAlive: Duration = .seconds(15)

    var authority: any SharingAuthority { currentAuthority() }

    typealias Handler = @Sendable (PartnerAPI, Request, PartnerRequestContext) async throws -> Response

    /// Every route of the API and its handler. docs/openapi.yaml documents exactly these (a test compares them).
    static let handlers: [(path: String, handler: Handler)] = [
        ("/v1/cameras", { try await $0.listCameras($1, $2) }),
        ("/v1/cameras/:camera/clip", { try await $0.clip($1, $2) }),
        ("/v1/cameras/:camera/segments/:segment", { try await $0.segment($1, $2) }),
        ("/v1/cameras/:camera/counts", { try await $0.counts($1, $2) }),
        ("/v1/cameras/:camera/live/index.m3u8", { try await $0.livePlaylist($1, $2) }),
        ("/v1/cameras/:camera/live/:segment", { try await $0.liveSegment($1, $2) }),
        ("/v1/alerts", { try await $0.alerts($1, $2) }),
    ]

    static var routes: [String] { handlers.map(\.path) + [watchlistPath] }

    /// Registers every route; a ``PartnerDenial`` from any handler is audited and answered here, and only here.
    func register(on router: Router<PartnerRequestContext>) {
        registerWatchlist(on: router)
        for (path, handler) in Self.handlers {
            router.get(RouterPath(path)) { request, context in
                do {
                    return try await handler(self, request, context)
                } catch let denial as PartnerDenial {
                    try await record(
                        .decision, context, subject: denial.subject, verdict: denial.verdict, extra: denial.details)
                    return .forbidden
                }
            }
        }
    }

    // MARK: Cameras

    struct CameraList: Codable {
        struct Camera: Codable {
            var id: String
            var sharing: [String]
        }

        var policyVersion: String
        var cameras: [Camera]
    }

    func listCameras(_ request: Request, _ context: PartnerRequestContext) async throws -> Response {
        let authority = self.authority
        let shared = context.partner.map(authority.cameras(sharedWith:)) ?? [:]
        _ = try await authorize(
            .listCameras, request, context, subject: "cameras", details: ["cameras": String(shared.count)])
        let list = CameraList(
            policyVersion: authority.policyVersion,
            cameras: shared.keys.sorted().map { camera in
                CameraList.Camera(id: camera.rawValue, sharing: (shared[camera] ?? []).sorted().map(\.rawValue))
            })
        return try .json(list)
    }

    // MARK: Clips

    struct ClipManifest: Codable {
        struct Segment: Codable {
            var id: String
            var start: Date
            var end: Date
            var size: Int64
            /// How the segment was redacted when stored (at least what the grant requires).
            var redaction: String
            var url: String
        }

        var camera: String
        var from: Date
        var to: Date
        /// The least redaction the grant requires; each segment says what it actually has.
        var required: String
        var segments: [Segment]
    }

    func clip(_ request: Request, _ context: PartnerRequestContext) async throws -> Response {
        let camera = CameraID(context.parameters.get("camera") ?? "")
        guard let from = Self.time(request.uri.queryParameters["from"]),
            let to = Self.time(request.uri.queryParameters["to"]),
            from < to, to.timeIntervalSince(from) <= Self.maxClipSpan
        else {
            return .badRequest("from and to must be ISO 8601 times, from before to, at most a day apart")
        }
        let verdict = try await authorize(
            .camera(camera, .clip, footageStart: from), request, context,
            subject: "camera:\(camera.rawValue)/clip")
        guard let redaction = verdict.redaction, let archive else { return .forbidden }
        let segments = try await archive.footage(camera: camera, from: from, to: to)
            .filter { Self.mayShare($0, as: redaction) }
        let manifest = ClipManifest(
            camera: camera.rawValue, from: from, to: to, required: redaction.description,
            segments: segments.map {
                .init(
                    id: $0.id, start: $0.start, end: $0.end, size: $0.size,
                    redaction: $0.redaction?.description ?? "unknown",
                    url: "/v1/cameras/\(camera.rawValue)/segments/\($0.id)")
            })
        return try .json(manifest)
    }

    func segment(_ request: Request, _ context: PartnerRequestContext) async throws -> Response {
        let camera = CameraID(context.parameters.get("camera") ?? "")
        let id = context.parameters.get("segment") ?? ""
        guard id.count <= 128, id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            return .forbidden
        }
        // The segment's own start is the footage start the grant's max-age is checked against, so the
        // archive is asked for its description first; an unknown id is decided like any other request.
        let described = try await archive?.footage(camera: camera, id: id)
        let verdict = try await authorize(
            .camera(camera, .clip, footageStart: described?.start ?? .distantPast), request, context,
            subject: "camera:\(camera.rawValue)/segment:\(id)")
        guard let redaction = verdict.redaction, let archive, let described, Self.mayShare(described, as: redaction)
        else {
            return .forbidden
        }
        let bytes = try await archive.contents(of: described)
        try await audit.record(
            AccessAuditEntry(
                action: .share, actor: context.actor, subject: "camera:\(camera.rawValue)/segment:\(id)",
                rules: verdict.rules, details: ["bytes": String(bytes.count)], at: clock()))
        return Response(
            status: .ok, headers: [.contentType: described.container == "m4s" ? "video/iso.segment" : "video/mp4"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A stored segment may go to a partner only if it is at least as redacted as the partner's grant
    /// demands; original footage only where the grant is unredacted. Unknown redaction: never.
    static func mayShare(_ segment: FootageSegment, as required: RedactionSpec) -> Bool {
        guard let stored = segment.redaction else { return false }
        switch segment.category {
        case .rawVideo: return required.classes.isEmpty
        case .redactedVideo: return stored.isAtLeastAsProtective(as: required)
        default: return false
        }
    }

    // MARK: Counts

    struct Counts: Codable {
        var camera: String
        var since: Date
        var alerts: [String: Int]
        var latestCrowdCount: Int?
        /// People counted per minute and zone (peak occupancy) or line (crossings in and out), from `since` to `to`
        /// (`per=minute`, the default).
        var minutes: [Minute]?
        /// The same per hour (`per=hour`): the highest occupancy of the hour, the crossings summed.
        var hours: [Hour]?

        struct Minute: Codable {
            var minute: Date
            var zone: String
            var peakOccupancy: Int?
            var crossingsIn: Int?
            var crossingsOut: Int?
        }

        struct Hour: Codable, Equatable {
            var hour: Date
            var zone: String
            var peakOccupancy: Int?
            var crossingsIn: Int?
            var crossingsOut: Int?
        }

        /// Minute counts rolled up into hours, per zone or line, in time order.
        static func hours(of minutes: [MinuteCount]) -> [Hour] {
            var hours: [String: Hour] = [:]
            for count in minutes {
                let start = Date(
                    timeIntervalSince1970: (count.minute.timeIntervalSince1970 / 3600).rounded(.down) * 3600)
                let key = "\(start.timeIntervalSince1970) \(count.zone.rawValue)"
                var hour = hours[key] ?? Hour(hour: start, zone: count.zone.rawValue)
                hour.peakOccupancy = Self.combine(hour.peakOccupancy, count.peakOccupancy, max)
                hour.crossingsIn = Self.combine(hour.crossingsIn, count.crossingsIn, +)
                hour.crossingsOut = Self.combine(hour.crossingsOut, count.crossingsOut, +)
                hours[key] = hour
            }
            return hours.values.sorted { ($0.hour, $0.zone) < ($1.hour, $1.zone) }
        }

        private static func combine(_ a: Int?, _ b: Int?, _ operation: (Int, Int) -> Int) -> Int? {
            guard let a else { return b }
            guard let b else { return a }
            return operation(a, b)
        }
    }

    /// The longest range one hourly counts request covers.
    static let maxHourlySpan: TimeInterval = 31 * 86400

    func counts(_ request: Request, _ context: PartnerRequestContext) async throws -> Response {
        let camera = CameraID(context.parameters.get("camera") ?? "")
        let now = clock()
        _ = try await authorize(.camera(camera, .counts), request, context, subject: "camera:\(camera.rawValue)/counts")
        // `from` as the clip route names it (`since`, its first name, still works); the last hour up to now by default.
        // A time that does not parse is refused, not replaced by the default: counts for another range than asked
        // would pass for an answer.
        let query = request.uri.queryParameters
        guard let since = Self.time(query["from"] ?? query["since"], or: now.addingTimeInterval(-3600)),
            let to = Self.time(query["to"], or: now)
        else {
            return .badRequest("from and to must be ISO 8601 times such as 2026-12-06T09:00:00Z")
        }
        guard since <= to else { return .badRequest("from must not be after to") }
        let per = query["per"].map(String.init) ?? "minute"
        guard per == "minute" || per == "hour" else { return .badRequest("per must be minute or hour") }
        guard per == "minute" || to.timeIntervalSince(since) <= Self.maxHourlySpan else {
            return .badRequest("hourly counts cover at most 31 days per request")
        }
        let statistics = try alerts.statistics(camera: camera, since: since)
        // Alerts are counted only of the kinds this partner may receive from this camera (anywhere on it): a grant of
        // counts is not a grant of every alert kind, and how many restricted-zone alerts a camera raised is itself
        // something a partner without that grant must not learn. The latest crowd count is a crowd-count alert's.
        let authority = self.authority
        let mayReceive: (String) -> Bool = { kind in
            context.partner.map { partner in
                authority.verdict(
                    for: AccessRequest(partner: partner, camera: camera, action: .alert(AlertKind(kind)), at: now)
                ).isAllowed
            } ?? false
        }
        let alertCounts = statistics.byKind.filter { mayReceive($0.key) }
        let latestCrowdCount = mayReceive(AlertKind.crowdCount.rawValue) ? statistics.latestCrowdCount : nil
        let counts = try alerts.minuteCounts(camera: camera, from: since, to: to)
        let minutes = counts.map {
            Counts.Minute(
                minute: $0.minute, zone: $0.zone.rawValue, peakOccupancy: $0.peakOccupancy, crossingsIn: $0.crossingsIn,
                crossingsOut: $0.crossingsOut)
        }
        return try .json(
            Counts(
                camera: camera.rawValue, since: since, alerts: alertCounts, latestCrowdCount: latestCrowdCount,
                minutes: per == "minute" ? minutes : nil, hours: per == "hour" ? Counts.hours(of: counts) : nil))
    }

    // MARK: Alerts (Server-Sent Events)

    func alerts(_ request: Request, _ context: PartnerRequestContext) async throws -> Response {
        let newest = try alerts.lastSequence()
        let lastEventID =
            request.headers[HTTPField.Name("Last-Event-ID")!].flatMap { Int64($0) }
            ?? request.uri.queryParameters["after"].flatMap { Int64(String($0)) } ?? newest
        _ = try await authorize(
            .subscribeAlerts, request, context, subject: "alerts", details: ["after": String(lastEventID)])
        guard let partner = context.partner else { return .forbidden }  // authorize admits known partners only
        guard let ticket = streams.take(for: context.actor) else {
            return .tooManyRequests(retryAfter: 5)
        }
        // Given back when the stream ends or its connection closes, whichever comes first.
        context.channel.closeFuture.whenComplete { _ in ticket.giveBack() }
        let stream = AlertStream(
            partner: partner, actor: context.actor, after: lastEventID, api: self,
            closed: context.channel.closeFuture)
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
            body: .init { writer in
                defer { ticket.giveBack() }
                try await stream.run(&writer)
            })
    }

    // MARK: Auditing

    func record(
        _ action: AccessAuditEntry.Action, _ context: PartnerRequestContext, subject: String, verdict: SharingVerdict,
        extra: [String: String]
    ) async throws {
        var details = extra
        details["effect"] = verdict.isAllowed ? "allow" : "deny"
        details["reasons"] = verdict.reasons.joined(separator: ",")
        details["policy"] = authority.policyVersion
        try await audit.record(
            AccessAuditEntry(
                action: action, actor: context.actor, subject: subject, rules: verdict.rules,
                details: details, at: clock()))
    }

    static func time(_ text: Substring?) -> Date? {
        guard let text else { return nil }
        return try? Date(String(text), strategy: .iso8601)
    }

    /// An optional time parameter: `fallback` when it is absent, nil when it is there but not an ISO 8601 time.
    static func time(_ text: Substring?, or fallback: Date) -> Date? {
        guard let text else { return fallback }
        return time(text)
    }
}
