import Synchronization
public import VeilCore

/// Fans alerts out to live subscribers (SSE connections, the push outbox) after journaling them.
///
/// Back-pressure: each subscriber has a bounded buffer. A subscriber that falls that far behind is cut
/// off rather than slowing everyone else; it reconnects with `Last-Event-ID` and the journal replays the gap.
public final class AlertBroker: Sendable {
    public let journal: AlertJournal
    public let bufferLimit: Int
    private let subscribers = Mutex<[UInt64: AsyncStream<AlertJournal.Entry>.Continuation]>([:])
    private let nextID = Atomic<UInt64>(0)

    public init(journal: AlertJournal, bufferLimit: Int = 1024) {
        self.journal = journal
        self.bufferLimit = bufferLimit
    }

    /// Journals an alert, then offers it to every subscriber. Returns the journal entry.
    @discardableResult
    public func publish(_ alert: Alert) throws -> AlertJournal.Entry {
        let entry = try journal.append(alert)
        let current = subscribers.withLock { Array($0) }
        for (id, continuation) in current {
            if case .dropped = continuation.yield(entry) {
                // Too far behind: end its stream; it resumes from the journal.
                continuation.finish()
                _ = subscribers.withLock { $0.removeValue(forKey: id) }
            }
        }
        return entry
    }

    /// A live stream of alerts published from now on. Ends when the subscriber falls behind by more than
    /// ``bufferLimit`` alerts or the broker shuts down.
    public func subscribe() -> AsyncStream<AlertJournal.Entry> {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<AlertJournal.Entry>.makeStream(bufferingPolicy: .bufferingOldest(bufferLimit))
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }

    public var subscriberCount: Int { subscribers.withLock { $0.count } }

    /// Ends every live stream (graceful shutdown).
    public func finishAll() {
        let current = subscribers.withLock { all in
            defer { all.removeAll() }
            return Array(all.values)
        }
        for continuation in current { continuation.finish() }
    }
}
