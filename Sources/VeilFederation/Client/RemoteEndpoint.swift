/// A remote HTTPS service reached over mutual TLS — a partner's push endpoint, a peer site — and how this
/// site proves itself there.
public struct RemoteEndpoint: Sendable, Hashable {
    /// `https://host:port` (a peer site) or the full URL to POST to (a push endpoint).
    public var url: String
    /// The CA that issued the remote server's certificate.
    public var caPath: String
    /// This site's client certificate for that remote, and its key.
    public var certificatePath: String
    public var keyPath: String

    public init(url: String, caPath: String, certificatePath: String, keyPath: String) {
        self.url = url
        self.caPath = caPath
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }

    /// A client for `baseURL` (default: the endpoint's own URL) with this identity and trust.
    public func client(baseURL: String? = nil) throws -> PartnerClient {
        try PartnerClient(
            baseURL: baseURL ?? url, certificatePath: certificatePath, keyPath: keyPath, trustedCAPath: caPath)
    }
}
