public import VeilCore

/// The one error type of VeilGateway. Codes can grow; equality compares codes.
///
/// Messages name cameras, files and options, never an address's credentials, a key or personal data.
public struct GatewayError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            /// Something the operator gave (an option, a file) is wrong; the message says what and how to fix it.
            case invalidConfiguration
            /// The policy names something this gateway cannot find or use.
            case policyMismatch
            /// Footage read twice for one request decoded differently the second time (changed or damaged meanwhile).
            case footageChanged
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let invalidConfiguration = Code(.invalidConfiguration)
        public static let policyMismatch = Code(.policyMismatch)
        public static let footageChanged = Code(.footageChanged)

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

    public var description: String { message }
}
