public import VeilCore

/// The one error type of VeilVision. Codes can grow; equality compares codes.
public struct VisionError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case modelMissing, modelInvalid, detectionFailed, invalidArgument
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// A model file is not where it should be; `make setup` (scripts/fetch-models.sh) fetches it.
        public static let modelMissing = Code(.modelMissing)
        public static let modelInvalid = Code(.modelInvalid)
        public static let detectionFailed = Code(.detectionFailed)
        public static let invalidArgument = Code(.invalidArgument)
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
