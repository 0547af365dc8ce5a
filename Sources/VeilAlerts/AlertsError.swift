public import VeilCore

/// The one error type of VeilAlerts. Codes can grow; equality compares codes.
///
/// Messages name the file and what it holds, never an alert's contents.
public struct AlertsError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case journal, outbox, broker
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The alert journal cannot be opened, read or written.
        public static let journal = Code(.journal)
        /// The push outbox cannot be opened, read or written.
        public static let outbox = Code(.outbox)
        /// The broker was used wrongly (run twice).
        public static let broker = Code(.broker)

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
