import Foundation
import Synchronization
import Testing
import VeilAlerts
import VeilCore
import VeilTestSupport

/// The alert journal, its broker and the push outbox on their own, on real SQLite files (the partner API's use of them
/// is tested in VeilFederationTests).
enum AlertsFixture {
    static func folder() throws -> String { try TestPaths.temporaryFolder("veilgate-alerts") }
}

@Suite("Alert broker")
struct AlertBrokerTests {
    @Test("Subscribers get every journaled alert in sequence order; alerts another process journals arrive too")
    func fanOut() async throws {
        let folder = try AlertsFixture.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let broker = AlertBroker(
            journal: try AlertJournal(path: folder + "/alerts.sqlite"), pollInterval: .milliseconds(50))
        let running = Task { try await broker.run() }
        let first = broker.subscribe(), second = broker.subscribe()
        #expect(broker.subscriberCount == 2)
        try broker.publish(Alert(kind: .loitering, camera: "lobby", time: Date(), count: 1))
        // Another process (`veilgate alerts raise`, a pipeline) appends to the same journal file: polled.
        try AlertJournal(path: folder + "/alerts.sqlite").append(
            Alert(kind: .crowdCount, camera: "lobby", time: Date(), count: 30))
        try broker.publish(Alert(kind: .running, camera: "lobby", time: Date()))
        for stream in [first, second] {
            var received: [JournaledAlert] = []
            for await entry in stream {
                received.append(entry)
                if received.count == 3 { break }
            }
            #expect(received.map(\.sequence) == [1, 2, 3])
            #expect(received.map(\.alert.kind) == [.loitering, .crowdCount, .running])
        }
        #expect(try broker.lastSequence() == 3)
        #expect(
            try broker.statistics(camera: "lobby", since: .distantPast)
                == AlertStatistics(byKind: ["loitering": 1, "crowd-count": 1, "running": 1], latestCrowdCount: 30))
        running.cancel()
        broker.finishSubscriptions()
    }

    @Test("A subscriber that falls too far behind is cut off, not everyone slowed; it resumes from the journal")
    func backPressure() async throws {
        let folder = try AlertsFixture.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let broker = AlertBroker(
            journal: try AlertJournal(path: folder + "/alerts.sqlite"), bufferLimit: 4,
            pollInterval: .milliseconds(50))
        let running = Task { try await broker.run() }
        let slow = broker.subscribe()
        for count in 1...10 {
            try broker.publish(Alert(kind: .crowdCount, camera: "lobby", time: Date(), count: count))
        }
        // Nothing is read until the broker has given up on it (on a loaded machine its loop may wait minutes to run).
        let deadline = ContinuousClock.now + .seconds(600)
        while broker.subscriberCount > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(broker.subscriberCount == 0)
        var received = 0
        for await _ in slow { received += 1 }  // ends: it was cut off
        #expect(received == 4, "its buffer's worth, then the stream ends")
        #expect(try broker.entries(after: 4, limit: 100).map(\.sequence) == Array(5...10), "the gap is in the journal")
        running.cancel()
    }

    @Test("A peer's alert is imported once, and its cursor moves with it; minute counts are replaced as they grow")
    func importsAndCounts() throws {
        let folder = try AlertsFixture.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let broker = AlertBroker(journal: try AlertJournal(path: folder + "/alerts.sqlite"))
        let alert = Alert(kind: .restrictedZone, camera: "northtown.platform", time: Date())
        #expect(try broker.importCursor(for: "northtown") == 0)
        #expect(try broker.importAlert(alert, fromPeer: "northtown", eventID: 17)?.sequence == 1)
        #expect(try broker.importAlert(alert, fromPeer: "northtown", eventID: 17) == nil, "the same event twice")
        #expect(try broker.importCursor(for: "northtown") == 17)
        let minute = Date(timeIntervalSince1970: 1_764_072_000)
        try broker.record([MinuteCount(camera: "lobby", zone: "door", minute: minute, peakOccupancy: 2)])
        try broker.record([MinuteCount(camera: "lobby", zone: "door", minute: minute, peakOccupancy: 5)])
        #expect(try broker.minuteCounts(camera: "lobby", from: minute, to: minute + 60).map(\.peakOccupancy) == [5])
    }
}

@Suite("Alert journal retention")
struct AlertRetentionTests {
    /// Loitering at the station is kept 30 days, other events 7 days; nothing else is scheduled.
    struct Schedule: RetentionSchedule {
        let policyVersion = "test"
        let legalHoldMaxDuration: PolicyDuration? = nil
        let legalHoldRequiresCaseReference = true
        func retention(camera: CameraID, category: DataCategory, eventKind: AlertKind?) -> RetentionPeriod? {
            guard category == .events, camera == "station-forecourt" else { return nil }
            return RetentionPeriod(
                rule: "events", duration: PolicyDuration(parsing: eventKind == .loitering ? "30d" : "7d")!)
        }
        func permitsStorage(camera: CameraID, category: DataCategory) -> Bool { true }
    }

    @Test("Alerts are kept per camera and kind as the policy says; unscheduled ones for a day")
    func retention() throws {
        let folder = try AlertsFixture.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let journal = try AlertJournal(path: folder + "/j.sqlite")
        let now = Date()
        let day: TimeInterval = 86400
        try journal.append(Alert(kind: .loitering, camera: "station-forecourt", time: now - 20 * day))  // kept (30 d)
        // deleted (7 d)
        try journal.append(Alert(kind: .restrictedZone, camera: "station-forecourt", time: now - 20 * day))
        try journal.append(Alert(kind: .restrictedZone, camera: "station-forecourt", time: now - 2 * day))  // kept
        // deleted (unscheduled)
        try journal.append(Alert(kind: .loitering, camera: "city.market-square", time: now - 2 * day))
        try journal.append(Alert(kind: .loitering, camera: "city.market-square", time: now - 3600))  // kept
        #expect(try journal.applyRetention(Schedule(), now: now) == 2)
        #expect(try journal.entries(after: 0).map(\.sequence) == [1, 3, 5])
    }

    @Test("An acknowledgement and its note stay with their alert, and go when its retention ends")
    func acknowledgements() throws {
        let folder = try AlertsFixture.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let journal = try AlertJournal(path: folder + "/j.sqlite")
        let now = Date()
        try journal.append(Alert(kind: .restrictedZone, camera: "station-forecourt", time: now - 20 * 86400))
        try journal.append(Alert(kind: .restrictedZone, camera: "station-forecourt", time: now - 3600))
        #expect(try journal.acknowledge(1, by: "operator:a", note: "first"))
        #expect(try journal.acknowledge(2, by: "operator:a", note: nil))
        #expect(try journal.acknowledge(2, by: "operator:b", note: "handled"))
        #expect(try !journal.acknowledge(3, by: "operator:a", note: nil))
        var found = try journal.acknowledgements(of: [1, 2, 3])
        #expect(found.keys.sorted() == [1, 2])
        #expect(found[2]?.by == "operator:b" && found[2]?.note == "handled")
        // The 7-day rule deletes alert 1, and its acknowledgement with it.
        #expect(try journal.applyRetention(Schedule(), now: now) == 1)
        found = try journal.acknowledgements(of: [1, 2])
        #expect(found.keys.sorted() == [2])
    }
}
