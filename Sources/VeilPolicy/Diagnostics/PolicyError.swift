public import VeilCore

/// The one error type of VeilPolicy. Codes can grow without breaking callers; equality compares codes.
///
/// Messages name files, rule ids and positions, never key material or the contents of a signature.
public struct PolicyError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidPolicy, unreadableFile, invalidRequest, invalidTests, invalidKey, signatureMismatch,
                bundleChanged, invalidBundle
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The policy has errors; ``PolicyError/diagnostics`` lists them.
        public static let invalidPolicy = Code(.invalidPolicy)
        /// A file could not be read.
        public static let unreadableFile = Code(.unreadableFile)
        /// A decision request names something malformed (an action, a time).
        public static let invalidRequest = Code(.invalidRequest)
        /// A policy test file is malformed.
        public static let invalidTests = Code(.invalidTests)
        /// A signing or verification key is malformed.
        public static let invalidKey = Code(.invalidKey)
        /// A bundle's signature does not verify with the given key.
        public static let signatureMismatch = Code(.signatureMismatch)
        /// A file of a signed bundle was changed, added or removed after signing.
        public static let bundleChanged = Code(.bundleChanged)
        /// A bundle's signature file is malformed.
        public static let invalidBundle = Code(.invalidBundle)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    /// The findings, for ``Code/invalidPolicy`` and ``Code/invalidTests``.
    public var diagnostics: [PolicyDiagnostic]
    public var file: String
    public var line: UInt

    public init(
        _ code: Code, _ message: String, diagnostics: [PolicyDiagnostic] = [],
        file: String = #fileID, line: UInt = #line
    ) {
        self.code = code
        self.message = message
        self.diagnostics = diagnostics
        self.file = file
        self.line = line
    }

    public var description: String {
        ([message] + diagnostics.map(\.description)).joined(separator: "\n")
    }

}
