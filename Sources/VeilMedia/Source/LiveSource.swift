import Foundation

/// A camera or stream that may drop: frames as an `AsyncSequence` that reconnects with exponential back-off
/// and reports its state, with timestamps that keep increasing across reconnects.
public struct LiveSource: AsyncSequence, Sendable {
    public typealias Element = VideoFrame

    public enum State: Sendable, Equatable {
        case connecting(attempt: Int)
        case streaming
        /// The source failed or ended; the next attempt comes after the delay.
        case waiting(retryIn: Duration, reason: String)
    }

    public let address: String
    public let options: SourceOptions
    public let initialDelay: Duration
    public let maximumDelay: Duration
    /// Called on every state change (from the consuming task).
    public let onState: @Sendable (State) -> Void

    /// Opens the source for each connection attempt.
    let open: @Sendable () throws -> MediaSource

    public init(
        address: String, options: SourceOptions = SourceOptions(), initialDelay: Duration = .milliseconds(500),
        maximumDelay: Duration = .seconds(30), onState: @escaping @Sendable (State) -> Void = { _ in }
    ) {
        self.init(
            name: address, options: options, initialDelay: initialDelay, maximumDelay: maximumDelay, onState: onState
        ) {
            try MediaSource(address: address, options: options)
        }
    }

    /// A source whose every connection `connect` opens — for streams libavformat cannot fetch itself, read through
    /// ``MediaSource/init(reading:name:options:)``. `name` stands for it in messages.
    public init(
        name: String, options: SourceOptions = SourceOptions(), initialDelay: Duration = .milliseconds(500),
        maximumDelay: Duration = .seconds(30), onState: @escaping @Sendable (State) -> Void = { _ in },
        connect: @escaping @Sendable () throws -> MediaSource
    ) {
        self.address = name
        self.options = options
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.onState = onState
        self.open = connect
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let live: LiveSource
        var source: MediaSource?
        var attempt = 0
        var delay: Duration
        /// Added to a connection's own timestamps so time never goes back after a reconnect.
        var offset = 0.0
        var connectionStart: Double?
        var lastTime = -1.0
        var frameInterval = 0.04

        public mutating func next() async throws -> VideoFrame? {
            while true {
                try Task.checkCancellation()
                if source == nil {
                    attempt += 1
                    live.onState(.connecting(attempt: attempt))
                    do {
                        let opened = try live.open()
                        source = opened
                        if opened.frameRate > 0 { frameInterval = 1 / opened.frameRate }
                        connectionStart = nil
                        offset = lastTime + frameInterval
                        live.onState(.streaming)
                    } catch let error as MediaError {
                        try await wait(because: error.message)
                        continue
                    }
                }
                do {
                    if let frame = try source!.nextFrame() {
                        attempt = 0
                        delay = live.initialDelay
                        let start = connectionStart ?? frame.time
                        connectionStart = start
                        frame.time = Swift.max(lastTime + 0.001, frame.time - start + Swift.max(0, offset))
                        for packet in frame.audio { packet.time = packet.time - start + Swift.max(0, offset) }
                        lastTime = frame.time
                        return frame
                    }
                    source = nil
                    try await wait(because: "the stream ended")
                } catch let error as MediaError {
                    source = nil
                    try await wait(because: error.message)
                }
            }
        }

        mutating func wait(because reason: String) async throws {
            live.onState(.waiting(retryIn: delay, reason: reason))
            try await Task.sleep(for: delay)
            delay = Swift.min(delay * 2, live.maximumDelay)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(live: self, delay: initialDelay) }
}
