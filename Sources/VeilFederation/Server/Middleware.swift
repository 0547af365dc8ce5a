import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOSSL
import SwiftASN1
import Synchronization
import VeilCore
import X509

/// Maps the verified client certificate to a policy partner, applies the per-partner rate limit and adds
/// the security headers to every response.
struct PartnerIdentification: RouterMiddleware {
    typealias Context = PartnerRequestContext
    let verifier: PeerVerifier
    let limiter: RateLimiter
    let limits: PeerVerifier.ConnectionLimits

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        // Who is asking is established at the connection's first request and kept for the next ones (see
        // ``PeerVerifier/admit(on:limits:certificate:)``); a keep-alive connection of a certificate revoked since gets
        // nothing more, and ``PeerVerifier/update(_:)`` closes it as soon as the revocation is loaded.
        let channel = context.channel
        let partner: PartnerID?, actor: String, isLast: Bool
        switch await verifier.admit(
            on: channel, limits: limits,
            certificate: {
                // The handshake only completes with a verified chain (see PeerVerifier), so this is the verified leaf.
                guard let peer = try? await channel.nioSSL_peerCertificate().get() else { return nil }
                return try? Certificate(derEncoded: peer.toDERBytes())
            })
        {
        case .admitted(let admitted, let named, let last):
            (partner, actor, isLast) = (admitted, named, last)
        case .refused:
            context.channel.close(mode: .all, promise: nil)
            return SecurityHeaders.apply(to: Response.forbidden)
        case .tooManyConnections:
            return SecurityHeaders.apply(to: .tooManyRequests(retryAfter: 5, closing: true))
        }
        context.partner = partner
        context.actor = actor
        guard limiter.allow(context.actor) else {
            return SecurityHeaders.apply(to: .tooManyRequests(retryAfter: 1))
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError {
            // Router errors (no such route, wrong method) look exactly like a denial.
            response =
                error.status == .notFound || error.status == .methodNotAllowed
                ? .forbidden : Response(status: error.status)
        }
        // A connection that had its share of requests or time ends after this answer; the partner opens a new one (and
        // goes through the handshake's checks again).
        if isLast { response.headers[.connection] = "close" }
        return SecurityHeaders.apply(to: response)
    }
}

enum SecurityHeaders {
    static func apply(to response: Response) -> Response {
        var response = response
        response.headers[.strictTransportSecurity] = "max-age=31536000"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.cacheControl] = response.headers[.cacheControl] ?? "no-store"
        response.headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return response
    }
}

extension Response {
    /// The one answer to anything not allowed: the same status and body whether the camera exists or not.
    static var forbidden: Response {
        Response(
            status: .forbidden, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"error":"forbidden"}"#)))
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try JSONEncoder.sorted.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// 429 with when to try again; `closing` ends the connection too.
    static func tooManyRequests(retryAfter seconds: Int, closing: Bool = false) -> Response {
        var response = Response(status: .tooManyRequests, headers: [.retryAfter: String(seconds)], body: .init())
        if closing { response.headers[.connection] = "close" }
        return response
    }

    static func badRequest(_ message: String) -> Response {
        let body = (try? JSONEncoder.sorted.encode(["error": message])) ?? Data()
        return Response(
            status: .badRequest, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// A token bucket per caller: `burst` requests at once, refilled at `perSecond`. Bounded: at most
/// `maxCallers` buckets are kept (callers are partners, so the bound is generous).
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let perSecond: Double
    let burst: Double
    private let maxCallers = 10_000
    private let buckets = Mutex<[String: Bucket]>([:])

    init(perSecond: Double, burst: Double) {
        self.perSecond = perSecond
        self.burst = burst
    }

    func allow(_ caller: String) -> Bool {
        let now = ContinuousClock.now
        return buckets.withLock { buckets in
            if buckets.count >= maxCallers, buckets[caller] == nil { buckets.removeAll(keepingCapacity: true) }
            var bucket = buckets[caller] ?? Bucket(tokens: burst, updated: now)
            let elapsed = bucket.updated.duration(to: now)
            let seconds = elapsed.inSeconds
            bucket.tokens = min(burst, bucket.tokens + seconds * perSecond)
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                buckets[caller] = bucket
                return false
            }
            bucket.tokens -= 1
            buckets[caller] = bucket
            return true
        }
    }
}
