public import Hummingbird
public import NIOCore
public import VeilCore

/// The request context of the partner API: the connection's channel (to reach the TLS handler and its
/// verified peer certificate) and, once ``PartnerIdentification`` has run, who is asking.
public struct PartnerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel
    /// The policy partner the verified certificate maps to; nil for a certificate the policy does not know.
    public var partner: PartnerID?
    /// How the audit log names the caller: `partner:ID`, or `certificate:FINGERPRINT-PREFIX`.
    public var actor: String = "unidentified"

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Small bodies only: the partner API takes no uploads.
    public var maxUploadSize: Int { 16 * 1024 }
}
