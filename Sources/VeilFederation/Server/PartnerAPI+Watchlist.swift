import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VeilCore

// `/v1/watchlist`: a partner's own plate watchlist — uploaded (PUT, `PLATE,REFERENCE` lines), read back as a count
// (GET) and removed (DELETE) — for a partner the policy grants `watchlist-match` alerts of some camera. The site keeps
// keyed hashes only; no plate ever comes back out.
extension PartnerAPI {
    static let watchlistPath = "/v1/watchlist"
    /// The largest upload read.
    static let maximumWatchlist = 8 << 20

    func registerWatchlist(on router: Router<PartnerRequestContext>) {
        for method in [HTTPRequest.Method.get, .put, .delete] {
            router.on(RouterPath(Self.watchlistPath), method: method) { request, context in
                do {
                    return try await watchlist(method, request, context)
                } catch let denial as PartnerDenial {
                    try await record(
                        .decision, context, subject: denial.subject, verdict: denial.verdict, extra: denial.details)
                    return .forbidden
                }
            }
        }
    }

    /// The owner's grant: `watchlist-match` alerts of at least one camera, now.
    func watchlistGrant(_ request: Request, _ context: PartnerRequestContext, method: String) async throws {
        let cameras = context.partner.map { partner in
            authority.cameras(sharedWith: partner).keys.filter { camera in
                authority.verdict(
                    for: AccessRequest(partner: partner, camera: camera, action: .alert(.watchlistMatch), at: clock())
                ).isAllowed
            }
        }
        guard let first = cameras?.sorted().first else {
            throw PartnerDenial(
                subject: "watchlist", verdict: .denied, details: ["method": method, "reason": "no-watchlist-grant"])
        }
        _ = try await authorize(
            .camera(first, .alert(.watchlistMatch), footageStart: nil), request, context, subject: "watchlist",
            details: ["method": method])
    }

    func watchlist(
        _ method: HTTPRequest.Method, _ request: Request, _ context: PartnerRequestContext
    ) async throws -> Response {
        guard let watchlists, let partner = context.partner else {
            throw PartnerDenial(subject: "watchlist", verdict: .denied, details: ["reason": "no-watchlists"])
        }
        try await watchlistGrant(request, context, method: method.rawValue)
        switch method {
        case .put:
            let lifetimeText = request.uri.queryParameters["expires"].map(String.init) ?? "30d"
            guard let lifetime = PolicyDuration(parsing: lifetimeText), lifetime.seconds > 0 else {
                return .badRequest("expires must be a duration such as 30d (at most 90d)")
            }
            let body = try await request.body.collect(upTo: Self.maximumWatchlist)
            let summary: PartnerWatchlistSummary
            do {
                summary = try watchlists.replace(
                    owner: partner, file: Data(body.readableBytesView), lifetime: TimeInterval(lifetime.seconds))
            } catch {
                // The store's messages name lines and problems, never a plate.
                return .badRequest(String(describing: error).replacingOccurrences(of: "\n", with: " "))
            }
            return try .json(summary)
        case .delete:
            let removed = try watchlists.clear(owner: partner)
            return try .json(["removed": removed])
        default:
            guard let summary = watchlists.summary(owner: partner) else { return Response(status: .notFound) }
            return try .json(summary)
        }
    }
}
