import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOSSL
import SwiftASN1
import VeilCore
import X509

/// Maps the verified client certificate to a console operator of the policy in force, refuses everyone else, checks
/// the CSRF token of every state-changing request, and adds the security headers to every response.
///
/// The TLS handshake has already verified the chain against the site CA and the revocation list (the gateway hands the
/// server its certificate verifier). Here: the certificate must name an operator (`urn:veilgate:operator:NAME`) —
/// partner certificates, from the same CA, are refused — the name must hold a role in the policy in force (asked on
/// every request, so a reload that removes an operator takes effect at once), and the serial must not have been revoked
/// since the handshake.
struct OperatorAuthentication: RouterMiddleware {
    typealias Context = ConsoleRequestContext

    static let csrfHeader = HTTPField.Name("X-Veilgate-CSRF")!

    let directory: any OperatorDirectory
    /// Keys the CSRF tokens: a token is an HMAC of the certificate's fingerprint, so it is per operator certificate and
    /// needs no server-side session.
    let csrfKey: SymmetricKey

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        guard let peer = try? await context.channel.nioSSL_peerCertificate().get(),
            let der = try? peer.toDERBytes(), let certificate = try? Certificate(derEncoded: der)
        else {
            return ConsoleSecurityHeaders.apply(to: ConsolePage.refusal(.forbidden, "No client certificate."))
        }
        guard let id = Self.operatorID(of: certificate) else {
            return ConsoleSecurityHeaders.apply(
                to: ConsolePage.refusal(
                    .forbidden,
                    "This console takes operator certificates only (veilgate certs issue --operator NAME); partner certificates are for the partner API."
                ))
        }
        let serial = certificate.serialNumber.bytes.map { String(format: "%02x", $0) }.joined()
        guard !directory.isRevoked(serial: serial) else {
            // Answered, then the connection is closed: a revoked certificate keeps no keep-alive connection.
            var refusal = ConsolePage.refusal(.forbidden, "This certificate was revoked.")
            refusal.headers[.connection] = "close"
            return ConsoleSecurityHeaders.apply(to: refusal)
        }
        let roles = directory.roles(of: id)
        guard !roles.isEmpty else {
            return ConsoleSecurityHeaders.apply(
                to: ConsolePage.refusal(
                    .forbidden, "The policy in force names no operator '\(id.rawValue)' (operators: in the policy)."))
        }
        context.operatorID = id
        context.roles = roles
        context.csrfToken = Self.csrfToken(forCertificate: der, key: csrfKey)
        if !Self.isSafe(request.method) {
            guard Self.isSameOrigin(request),
                let token = request.headers[Self.csrfHeader],
                Self.constantTimeEqual(token, context.csrfToken)
            else {
                return ConsoleSecurityHeaders.apply(
                    to: ConsolePage.refusal(.forbidden, "Missing or wrong CSRF token: reload the page."))
            }
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError {
            response = ConsolePage.refusal(error.status, error.status == .notFound ? "No such page." : "Refused.")
        }
        return ConsoleSecurityHeaders.apply(to: response, tiles: directory.map?.origin)
    }

    static func operatorID(of certificate: Certificate) -> OperatorID? {
        guard let names = try? certificate.extensions.subjectAlternativeNames else { return nil }
        for name in names {
            if case .uniformResourceIdentifier(let uri) = name { return OperatorID(certificateURI: uri) }
        }
        return nil
    }

    static func csrfToken(forCertificate der: [UInt8], key: SymmetricKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: der, using: key)
        return mac.prefix(24).map { String(format: "%02x", $0) }.joined()
    }

    static func isSafe(_ method: HTTPRequest.Method) -> Bool { method == .get || method == .head }

    /// A browser names where a request comes from: a state change is taken only from the console's own pages.
    static func isSameOrigin(_ request: Request) -> Bool {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin" { return false }
        guard let origin = request.headers[.origin] else { return true }
        guard let authority = request.head.authority else { return false }
        return origin == "https://" + authority
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// The headers of every console response: a strict content security policy (scripts, styles and media from the console
/// itself only; no inline script), no framing, no referrer, HSTS.
enum ConsoleSecurityHeaders {
    static let contentSecurityPolicy = contentSecurityPolicy(tiles: nil)

    /// The policy, allowing images from the site's own map tile server when the policy names one.
    static func contentSecurityPolicy(tiles origin: String?) -> String {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:\(origin.map { " " + $0 } ?? ""); "
            + "media-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    }

    static func apply(to response: Response, tiles origin: String? = nil) -> Response {
        var response = response
        response.headers[.strictTransportSecurity] = "max-age=31536000"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.cacheControl] = response.headers[.cacheControl] ?? "no-store"
        response.headers[.contentSecurityPolicy] =
            origin == nil ? contentSecurityPolicy : contentSecurityPolicy(tiles: origin)
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
        response.headers[HTTPField.Name("Cross-Origin-Resource-Policy")!] = "same-origin"
        return response
    }
}
