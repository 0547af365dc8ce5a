/// Everything that can go wrong in federation, with a stable code. Messages name files, partners' ids and
/// certificate serials, never key material, personal data or a request's justification.
public struct FederationError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let alreadyExists = Code(rawValue: "already-exists")
        public static let notInitialised = Code(rawValue: "not-initialised")
        public static let invalidArgument = Code(rawValue: "invalid-argument")
        public static let invalidConfiguration = Code(rawValue: "invalid-configuration")
        public static let invalidCertificate = Code(rawValue: "invalid-certificate")
        public static let invalidKey = Code(rawValue: "invalid-key")
        public static let insecurePermissions = Code(rawValue: "insecure-permissions")
        public static let fileUnreadable = Code(rawValue: "file-unreadable")
        public static let fileUnwritable = Code(rawValue: "file-unwritable")
        public static let untrustedPeer = Code(rawValue: "untrusted-peer")
        public static let revoked = Code(rawValue: "revoked")
        public static let server = Code(rawValue: "server")
        public static let outbox = Code(rawValue: "outbox")
        public static let peer = Code(rawValue: "peer")
        /// A remote site answered a request with a refusal (its status in the message).
        public static let refused = Code(rawValue: "refused")
        /// A remote live stream stayed unavailable.
        public static let unavailable = Code(rawValue: "unavailable")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(message) [\(code)]" }
}
