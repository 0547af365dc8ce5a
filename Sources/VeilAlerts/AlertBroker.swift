public import Foundation
import Metrics
public import ServiceLifecycle
import Synchronization
public import VeilCore

/// Fans journaled alerts out to live subscribers (SSE connections, the push outbox).
///
/// The journal is the bus: ``publish(_:)`` only appends to it, and one loop (``run()``) reads what is
/// new, in sequence order, and offers it to every subscriber. So alerts appended by another process on
/// the same state folder (a camera pipeline, `veilgate alerts raise`) reach partners the same way, and
/// no subscriber ever sees sequence numbers out of order.
///
/// Back-pressure: each subscriber has a bounded buffer. A subscriber that falls that far behind is cut
/// off rather than slowing everyone else; it reconnects with `Last-Event-ID` and the journal replays the gap.
public final class AlertBroker: Service, AlertSink, AlertSource, Sendable {
    public let journal: AlertJournal
    public let bufferLimit: Int
    /// How often the journal is checked for alerts appended by other processes.
    public let pollInterval: Duration
    private let subscribers = Mutex<[UInt64: AsyncStream<AlertJournal.Entry>.Continuation]>([:])
    private let nextID = Atomic<UInt64>(0)
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: Mutex<AsyncStream<Void>?>
    /// The journal's end when the broker was made: everything journaled after it reaches subscribers, even what is
    /// published before ``run()`` starts.
    private let startSequence: Int64

    public init(journal: AlertJournal, bufferLimit: Int = 1024, pollInterval: Duration = .milliseconds(500)) {
        self.journal = journal
        self.bufferLimit = bufferLimit
        self.pollInterval = pollInterval
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        wake = continuation
        wakes = Mutex(stream)
        startSequence = (try? journal.lastSequence) ?? 0
    }

    /// Journals an alert; subscribers receive it from the delivery loop right after.
    @discardableResult
    public func publish(_ alert: Alert) throws -> AlertJournal.Entry {
        let entry = try journal.append(alert)
        Counter(
            label: "veilgate_alerts_total",
            dimensions: [("camera", alert.camera.rawValue), ("kind", alert.kind.rawValue)]
        ).increment()
        wake.yield()
        return entry
    }

    /// Wakes the delivery loop after something else appended to the journal.
    public func notify() { wake.yield() }

    /// The delivery loop: runs until graceful shutdown, then ends every live stream.
    public func run() async throws {
        guard
            let wakes = wakes.withLock({ stream in
                defer { stream = nil }
                return stream
            })
        else {
            throw AlertsError(.broker, "the alert broker is already running")
        }
        var delivered = startSequence
        let poll = pollInterval, wake = self.wake
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: poll)
                wake.yield()
            }
        }
        await withGracefulShutdownHandler {
            for await _ in wakes.cancelOnGracefulShutdown() {
                while let batch = try? journal.entries(after: delivered, limit: 500), !batch.isEmpty {
                    for entry in batch { deliver(entry) }
                    delivered = batch.last!.sequence
                }
            }
        } onGracefulShutdown: {
            wake.finish()
        }
        ticker.cancel()
        finishAll()
    }

    private func deliver(_ entry: AlertJournal.Entry) {
        let current = subscribers.withLock { Array($0) }
        for (id, continuation) in current {
            if case .dropped = continuation.yield(entry) {
                // Too far behind: end its stream; it resumes from the journal.
                continuation.finish()
                _ = subscribers.withLock { $0.removeValue(forKey: id) }
            }
        }
    }

    /// A live stream of alerts journaled from now on. Ends when the subscriber falls behind by more than
    /// ``bufferLimit`` alerts or the broker shuts down.
    public func subscribe() -> AsyncStream<AlertJournal.Entry> {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<AlertJournal.Entry>.makeStream(
            bufferingPolicy: .bufferingOldest(bufferLimit))
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }

    public var subscriberCount: Int { subscribers.withLock { $0.count } }

    // MARK: AlertSink and AlertSource, through the journal

    public func record(_ counts: [MinuteCount]) throws { try journal.record(counts) }

    public func importAlert(_ alert: Alert, fromPeer peer: PartnerID, eventID: Int64) throws -> JournaledAlert? {
        let entry = try journal.append(alert, fromPeer: peer, eventID: eventID)
        if entry != nil { notify() }
        return entry
    }

    public func importCursor(for peer: PartnerID) throws -> Int64 { try journal.cursor(for: peer) }
    public func lastSequence() throws -> Int64 { try journal.lastSequence }

    public func entries(after sequence: Int64, limit: Int) throws -> [JournaledAlert] {
        try journal.entries(after: sequence, limit: limit)
    }

    public var subscriptionBuffer: Int { bufferLimit }
    public func finishSubscriptions() { finishAll() }

    public func statistics(camera: CameraID, since: Date) throws -> AlertStatistics {
        let (byKind, latest) = try journal.statistics(camera: camera, since: since)
        return AlertStatistics(byKind: byKind, latestCrowdCount: latest)
    }

    public func minuteCounts(camera: CameraID, from: Date, to: Date) throws -> [MinuteCount] {
        try journal.minuteCounts(camera: camera, from: from, to: to)
    }

    /// Ends every live stream (graceful shutdown).
    public func finishAll() {
        let current = subscribers.withLock { all in
            defer { all.removeAll() }
            return Array(all.values)
        }
        for continuation in current { continuation.finish() }
    }
}
