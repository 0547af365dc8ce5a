/// What an alert stream (Server-Sent Events) sends, in order: the journal's alerts after the point it resumes from,
/// a mark once they are all sent, then each alert as it is journaled, with keep-alives in quiet times.
public enum AlertStreamEvent: Sendable, Equatable {
    case alert(JournaledAlert)
    /// Every journaled alert up to `through` has been sent; what follows is live.
    case caughtUp(through: Int64)
    case keepAlive
}

/// An alert source's alerts after a sequence number, then live ones, each once and in order — the partner API's and
/// the console's alert streams both read it. The live subscription is taken when this is made, before the replay, so
/// nothing journaled meanwhile is missed (repeats are skipped by sequence). The replay reads the journal a batch at a
/// time as the reader asks. It ends when ``finish()`` is called (the connection closed), when the reader falls behind
/// by more than the source's subscription buffer (it resumes from the journal with `Last-Event-ID`), or at shutdown.
public struct AlertReplayThenLive: AsyncSequence, Sendable {
    public typealias Element = AlertStreamEvent

    let source: any AlertSource
    let after: Int64
    let live: AsyncStream<AlertStreamEvent>
    private let stop: @Sendable () -> Void

    public init(_ source: any AlertSource, after sequence: Int64, keepAlive interval: Duration) {
        let subscription = source.subscribe()
        let (live, continuation) = AsyncStream<AlertStreamEvent>.makeStream(
            bufferingPolicy: .bufferingOldest(source.subscriptionBuffer))
        let forward = Task {
            for await entry in subscription {
                if case .dropped = continuation.yield(.alert(entry)) { break }
            }
            continuation.finish()
        }
        let keepAlive = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                continuation.yield(.keepAlive)
            }
        }
        continuation.onTermination = { _ in
            forward.cancel()
            keepAlive.cancel()
        }
        self.source = source
        self.after = sequence
        self.live = live
        stop = { continuation.finish() }
    }

    /// Ends the stream (its live part) at once: the connection under it closed.
    public func finish() { stop() }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: source, last: after, live: live.makeAsyncIterator())
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let source: any AlertSource
        var last: Int64
        var live: AsyncStream<AlertStreamEvent>.AsyncIterator
        var pending: [JournaledAlert] = []
        var replaying = true

        public mutating func next() async throws -> AlertStreamEvent? {
            if replaying {
                if pending.isEmpty { pending = try source.entries(after: last, limit: 500) }
                if !pending.isEmpty {
                    let entry = pending.removeFirst()
                    last = entry.sequence
                    return .alert(entry)
                }
                replaying = false
                return .caughtUp(through: last)
            }
            while let event = await live.next() {
                if case .alert(let entry) = event {
                    guard entry.sequence > last else { continue }
                    last = entry.sequence
                }
                return event
            }
            return nil
        }
    }
}
