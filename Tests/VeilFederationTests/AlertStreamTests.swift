import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import VeilAlerts
import VeilCore

@testable import VeilFederation

@Suite("Alerts over Server-Sent Events", .serialized)
struct AlertStreamTests {
    struct Event: Equatable {
        var id: Int64
        var data: String
    }

    /// Reads `count` alert events from an SSE endpoint, or fails after a timeout.
    static func readEvents(
        _ server: RunningServer, as certificate: IssuedCertificate, count: Int, lastEventID: Int64? = nil,
        whileReading: @escaping @Sendable () async throws -> Void = {}
    ) async throws -> [Event] {
        let client = try server.client(certificate)
        var request = HTTPClientRequest(url: server.url(lastEventID == nil ? "/v1/alerts?after=0" : "/v1/alerts"))
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: String(lastEventID)) }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(60))
        } catch {
            // AHC asserts (debug builds) that a client is shut down before it goes away, even on failure.
            try? await client.shutdown()
            throw error
        }
        #expect(response.status == .ok)
        #expect(response.headers.first(name: "Content-Type") == "text/event-stream")
        let publisher = Task { try await whileReading() }
        var events: [Event] = []
        var text = ""
        do {
            for try await buffer in response.body {
                text += String(buffer: buffer)
                while let end = text.range(of: "\n\n") {
                    let block = String(text[..<end.lowerBound])
                    text.removeSubrange(..<end.upperBound)
                    var id: Int64?
                    var data: String?
                    for line in block.split(separator: "\n") {
                        if line.hasPrefix("id: ") { id = Int64(line.dropFirst(4)) }
                        if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
                    }
                    if let id, let data { events.append(Event(id: id, data: data)) }
                }
                if events.count >= count { break }
            }
        } catch {}
        publisher.cancel()
        // AHC waits about 5 s for a request whose body was left unread (an SSE stream never ends);
        // the test need not wait for that.
        Task.detached { try? await client.shutdown() }
        return events
    }

    static func alerts(now: Date) -> [Alert] {
        [
            Alert(
                kind: .restrictedZone, camera: "station-forecourt", zone: "tracks", time: now,
                boxes: [[0.1, 0.2, 0.1, 0.3]],
                track: 7, snapshot: "c25hcHNob3Q="),
            Alert(kind: .crowdCount, camera: "mall-entrance", time: now, count: 41),
            Alert(kind: .loitering, camera: "market-square", zone: "fountain", time: now, track: 9),
            Alert(kind: .loitering, camera: "station-forecourt", zone: "tracks", time: now),
        ]
    }

    @Test("Each partner gets only its granted alerts, cut to its granted fields")
    func filtering() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let server = try await RunningServer.start(pki: pki)
        for alert in Self.alerts(now: Date()) { try server.broker.publish(alert) }

        let police = try await Self.readEvents(server, as: pki.police, count: 3)
        #expect(police.map(\.id) == [1, 3, 4])
        #expect(police[0].data.contains(#""zone":"tracks""#))
        #expect(police[0].data.contains(#""boxes""#))
        #expect(!police[0].data.contains("snapshot"), "snapshot is not among the police grant's fields")
        #expect(!police[0].data.contains(#""track":"#))

        let northtown = try await Self.readEvents(server, as: pki.northtown, count: 1)
        #expect(northtown.map(\.id) == [1])
        #expect(northtown[0].data == #"{"camera":"station-forecourt","kind":"restricted-zone"}"#)

        let mall = try await server.get("/v1/alerts", as: pki.retailer)
        #expect(mall.status == 403 && mall.body == #"{"error":"forbidden"}"#, "no alert grant, no stream")
        // Subscribing is a policy decision like any other, audited both ways through the one authorisation path.
        let subscriptions = await server.audit.entries.filter { $0.action == .decision && $0.subject == "alerts" }
        #expect(
            subscriptions.filter { $0.actor == "partner:bakerstreet-mall" }.map { $0.details["effect"] } == ["deny"])
        #expect(subscriptions.filter { $0.actor == "partner:police" }.allSatisfy { $0.details["effect"] == "allow" })
        let shares = await server.audit.entries.filter { $0.action == .share && $0.subject.contains("/alert:") }
        #expect(shares.count == 4, "three alerts to the police and one to northtown, each audited")
        await server.stop()
    }

    /// Snapshots held in memory, by reference: the camera and redaction each was made with.
    struct MemorySnapshots: AlertSnapshotStore {
        let kept: [String: (camera: CameraID, redaction: RedactionSpec, jpeg: Data)]
        func store(jpeg: Data, camera: CameraID, at time: Date, redaction: RedactionSpec) async throws -> String {
            throw FederationError(.server, "read-only")
        }
        func snapshot(_ reference: String, camera: CameraID, required: RedactionSpec) async throws -> Data? {
            guard let kept = kept[reference], kept.camera == camera, kept.redaction.isAtLeastAsProtective(as: required)
            else { return nil }
            return kept.jpeg
        }
    }

    @Test(
        "A snapshot goes to a grant that sends snapshots, only as redacted as that grant demands and only its own camera's; never to one that does not"
    )
    func snapshots() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let redacted = RedactionSpec(classes: [.faces, .plates], mode: .blur)
        let store = MemorySnapshots(kept: [
            "square": ("market-square", redacted, Data([0xFF, 0xD8, 1, 2, 3])),
            "square-faces-only": ("market-square", RedactionSpec(classes: [.faces]), Data([0xFF, 0xD8, 4])),
            "forecourt": ("station-forecourt", redacted, Data([0xFF, 0xD8, 5])),
        ])
        var authority = TestAuthority()
        authority.policeSnapshots = true
        let server = try await RunningServer.start(pki: pki, authority: authority, snapshots: store)
        let now = Date()
        for alert in [
            Alert(kind: .restrictedZone, camera: "market-square", zone: "fountain", time: now, snapshotID: "square"),
            // Made with less than the police grant demands (faces only): not sent.
            Alert(kind: .loitering, camera: "market-square", time: now, snapshotID: "square-faces-only"),
            // Another camera's snapshot: not sent.
            Alert(kind: .restrictedZone, camera: "station-forecourt", zone: "tracks", time: now, snapshotID: "square"),
            Alert(
                kind: .restrictedZone, camera: "station-forecourt", zone: "tracks", time: now, snapshotID: "forecourt"),
        ] {
            try server.broker.publish(alert)
        }
        let police = try await Self.readEvents(server, as: pki.police, count: 4)
        #expect(police.count == 4)
        let snapshots = police.map { event in
            (try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any])?["snapshot"] as? String
        }
        #expect(
            snapshots == [
                Data([0xFF, 0xD8, 1, 2, 3]).base64EncodedString(), nil, nil,
                Data([0xFF, 0xD8, 5]).base64EncodedString(),
            ], "\(police.map(\.data))")
        #expect(police.allSatisfy { !$0.data.contains("snapshotID") }, "the reference never leaves")
        // The northtown gateway's grant sends kind and camera only.
        let northtown = try await Self.readEvents(server, as: pki.northtown, count: 2)
        #expect(northtown.count == 2 && northtown.allSatisfy { !$0.data.contains("snapshot") })
        let sent = await server.audit.entries.filter { $0.action == .share && $0.details["snapshot"] == "sent" }
        #expect(sent.count == 2 && sent.allSatisfy { $0.actor == "partner:police" })
        await server.stop()
    }

    @Test("Live alerts arrive after the replay; Last-Event-ID resumes exactly after the last one seen")
    func replay() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let server = try await RunningServer.start(pki: pki)
        let now = Date()
        try server.broker.publish(Self.alerts(now: now)[0])

        let broker = server.broker
        let first = try await Self.readEvents(server, as: pki.police, count: 2) {
            // Published while the stream is open: delivered live.
            while broker.subscriberCount == 0 { try await Task.sleep(for: .milliseconds(20)) }
            try broker.publish(Alert(kind: .loitering, camera: "market-square", time: now))
        }
        #expect(first.map(\.id) == [1, 2])

        try server.broker.publish(Alert(kind: .unattendedObject, camera: "market-square", zone: "fountain", time: now))
        try server.broker.publish(Alert(kind: .crowdCount, camera: "mall-entrance", time: now, count: 3))
        try server.broker.publish(Alert(kind: .restrictedZone, camera: "market-square", time: now))
        let resumed = try await Self.readEvents(server, as: pki.police, count: 2, lastEventID: 2)
        #expect(resumed.map(\.id) == [3, 5], "the mall's alert (4) is skipped, nothing before 3 repeats")
        await server.stop()
    }

    @Test("The journal survives a restart of the gateway")
    func journalRestart() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let path = pki.root + "/journal.sqlite"
        do {
            let server = try await RunningServer.start(pki: pki, journalPath: path)
            try server.broker.publish(Self.alerts(now: Date())[0])
            await server.stop()
        }
        let restarted = try await RunningServer.start(pki: pki, journalPath: path)
        let events = try await Self.readEvents(restarted, as: pki.police, count: 1, lastEventID: 0)
        #expect(events.map(\.id) == [1])
        await restarted.stop()
    }
}
