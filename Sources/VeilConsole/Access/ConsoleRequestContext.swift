public import Hummingbird
public import NIOCore
public import VeilCore

/// The request context of the console: the connection's channel (its TLS handler holds the verified client
/// certificate) and, once ``OperatorAuthentication`` has run, the operator, their roles and their CSRF token.
public struct ConsoleRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel
    public var operatorID: OperatorID?
    public var roles: Set<OperatorRole> = []
    /// What every state-changing request of this operator must carry in ``OperatorAuthentication/csrfHeader``.
    public var csrfToken = ""

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// A policy draft is the largest thing the console takes.
    public var maxUploadSize: Int { 1024 * 1024 }

    /// Whether the operator holds one of `roles`.
    public func holds(any roles: Set<OperatorRole>) -> Bool { !self.roles.isDisjoint(with: roles) }
}
