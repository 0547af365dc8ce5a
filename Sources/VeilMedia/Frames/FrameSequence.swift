/// The frames of a source as an `AsyncSequence`. Pull-based: a frame is decoded only when the consumer asks
/// for the next one, so a slow consumer (redaction, encoding) holds the decoder back instead of piling frames
/// up in memory — back-pressure without a buffer.
public struct FrameSequence: AsyncSequence, Sendable {
    public typealias Element = VideoFrame
    let source: MediaSource

    public init(_ source: MediaSource) { self.source = source }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let source: MediaSource
        public mutating func next() async throws -> VideoFrame? {
            try Task.checkCancellation()
            return try source.nextFrame()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: source) }
}

extension MediaSource {
    /// The decoded frames as an `AsyncSequence` with back-pressure.
    public var frames: FrameSequence { FrameSequence(self) }
}
