public import VeilCore

/// The one error type of VeilFederation: everything that can go wrong in federation, with a stable code. Codes can
/// grow; equality compares codes. Messages name files, partners' ids and certificate serials, never key material,
/// personal data or a request's justification.
public struct FederationError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case alreadyExists = "already-exists", notInitialised = "not-initialised"
            case invalidArgument = "invalid-argument", invalidConfiguration = "invalid-configuration"
            case invalidCertificate = "invalid-certificate", invalidKey = "invalid-key"
            case insecurePermissions = "insecure-permissions", fileUnreadable = "file-unreadable"
            case fileUnwritable = "file-unwritable", untrustedPeer = "untrusted-peer", revoked, server, peer
            case refused, unavailable
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let alreadyExists = Code(.alreadyExists)
        public static let notInitialised = Code(.notInitialised)
        public static let invalidArgument = Code(.invalidArgument)
        public static let invalidConfiguration = Code(.invalidConfiguration)
        public static let invalidCertificate = Code(.invalidCertificate)
        public static let invalidKey = Code(.invalidKey)
        public static let insecurePermissions = Code(.insecurePermissions)
        public static let fileUnreadable = Code(.fileUnreadable)
        public static let fileUnwritable = Code(.fileUnwritable)
        public static let untrustedPeer = Code(.untrustedPeer)
        public static let revoked = Code(.revoked)
        public static let server = Code(.server)
        public static let peer = Code(.peer)
        /// A remote site answered a request with a refusal (its status in the message).
        public static let refused = Code(.refused)
        /// A remote live stream stayed unavailable.
        public static let unavailable = Code(.unavailable)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    public var file: String
    public var line: UInt

    public init(_ code: Code, _ message: String, file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    public var description: String { "\(message) [\(code)]" }
}
