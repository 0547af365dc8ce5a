public import VeilCore

/// The one error type of VeilVault. Codes can grow; equality compares codes.
///
/// Messages name segments, keys and files by id or path, never key bytes, plaintext or case references.
public struct VaultError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case keyFileInsecure, keyFileInvalid, wrongKeyEncryptionKey, authenticationFailed, truncated,
                keyDestroyed, notFound, storageNotAllowed, io, database, invalidArgument, onHold, exportInvalid,
                sodiumUnavailable, keyRotationInterrupted, twoPersonRule, inUse
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A key file is readable by group or others.
        public static let keyFileInsecure = Code(.keyFileInsecure)
        /// A key file or variable does not hold a key of the right size.
        public static let keyFileInvalid = Code(.keyFileInvalid)
        /// The key-encryption key does not open this keystore.
        public static let wrongKeyEncryptionKey = Code(.wrongKeyEncryptionKey)
        /// A segment, key or entry failed authentication: it was changed or belongs elsewhere.
        public static let authenticationFailed = Code(.authenticationFailed)
        /// A segment file ends early.
        public static let truncated = Code(.truncated)
        /// The segment's key was destroyed (expired or erased): the footage is unrecoverable.
        public static let keyDestroyed = Code(.keyDestroyed)
        public static let notFound = Code(.notFound)
        /// The policy does not allow storing this category for this camera.
        public static let storageNotAllowed = Code(.storageNotAllowed)
        public static let io = Code(.io)
        public static let database = Code(.database)
        public static let invalidArgument = Code(.invalidArgument)
        /// The footage is under a legal hold.
        public static let onHold = Code(.onHold)
        /// An export bundle failed verification.
        public static let exportInvalid = Code(.exportInvalid)
        public static let sodiumUnavailable = Code(.sodiumUnavailable)
        /// A key-encryption key rotation stopped half way: `veilgate vault rotate-kek` finishes it.
        public static let keyRotationInterrupted = Code(.keyRotationInterrupted)
        /// Another process (a running gateway) holds the vault open for writing.
        public static let inUse = Code(.inUse)
        /// Unmasking was asked without two approvals of different roles by different people, or with approvals that do
        /// not belong to the request.
        public static let twoPersonRule = Code(.twoPersonRule)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    /// The underlying error's description, when it carries no personal data (file system, SQLite codes).
    public var underlying: String?
    public var file: String
    public var line: UInt

    public init(
        _ code: Code, _ message: String, underlying: (any Error)? = nil, file: String = #fileID, line: UInt = #line
    ) {
        self.code = code
        self.message = message
        self.underlying = underlying.map { String(describing: $0) }
        self.file = file
        self.line = line
    }

    public var description: String {
        underlying.map { "\(message) (\($0))" } ?? message
    }

}
