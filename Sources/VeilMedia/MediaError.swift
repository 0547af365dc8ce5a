internal import CFFmpeg
import Foundation
public import VeilCore

/// The one error type of VeilMedia. Codes can grow; equality compares codes.
///
/// Messages name the source by a redacted form of its address (scheme, host, path; never user or password)
/// and carry FFmpeg's description of the error code.
public struct MediaError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case openFailed, noVideoStream, unsupportedCodec, decodeFailed, encodeFailed, writeFailed, endOfStream,
                invalidArgument
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let openFailed = Code(.openFailed)
        public static let noVideoStream = Code(.noVideoStream)
        public static let unsupportedCodec = Code(.unsupportedCodec)
        public static let decodeFailed = Code(.decodeFailed)
        public static let encodeFailed = Code(.encodeFailed)
        public static let writeFailed = Code(.writeFailed)
        public static let endOfStream = Code(.endOfStream)
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

    /// An error from an FFmpeg return code.
    init(_ code: Code, _ message: String, ffmpeg status: Int32, file: String = #fileID, line: UInt = #line) {
        self.init(code, "\(message): \(Self.describe(status))", file: file, line: line)
    }

    static func describe(_ status: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        veil_error_text(status, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String { message }
}

/// A source address safe to print: scheme, host and path, without user, password or query.
public func redactedAddress(_ address: String) -> String {
    guard let components = URLComponents(string: address), let scheme = components.scheme, scheme.count > 1 else {
        return address
    }
    var safe = URLComponents()
    safe.scheme = scheme
    safe.host = components.host
    safe.port = components.port
    safe.path = components.path
    return safe.string ?? scheme + "://…"
}
