public import VeilCore

/// The one error type of VeilConsole. Codes can grow; equality compares codes.
///
/// Requests are answered with a status, never with one of these: they are for the server's configuration and the
/// sources it reads. Messages name files and options, never an operator, a key or personal data.
public struct ConsoleError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            /// The listener's certificate, key or address cannot be used.
            case invalidConfiguration
            /// A source the console reads (the policy file, the audit log) cannot be read.
            case sourceUnavailable
            /// What an operator asked for cannot be done (a hold without its case reference, say); the message says why
            /// and is shown to them.
            case refused
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let invalidConfiguration = Code(.invalidConfiguration)
        public static let sourceUnavailable = Code(.sourceUnavailable)
        public static let refused = Code(.refused)

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
