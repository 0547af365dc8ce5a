import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Testing
import VeilAlerts
import VeilCore

@testable import VeilFederation

/// Two gateways on loopback: "city" (A) grants the northtown gateway restricted-zone alerts of one camera;
/// "northtown" (B) subscribes and has its own partner (the police, reusing the test PKI's identity).
@Suite("Gateway to gateway", .serialized)
struct GatewayToGatewayTests {
    /// Northtown's policy: its police may see its own market-square alerts and, if the city allows
    /// passing them on, the city's station alerts as imported.
    struct NorthtownAuthority: SharingAuthority {
        var policyVersion = "northtown-1"
        var partnerAuthorities: [PartnerID: String] = [:]
        func partner(forCertificateURI uri: String) -> PartnerID? { uri == TestPKI.policeURI ? "police" : nil }
        func partner(forFingerprint fingerprint: String) -> PartnerID? { nil }
        func cameras(sharedWith partner: PartnerID) -> [CameraID: Set<SharingActionKind>] {
            partner == "police" ? ["market-square": [.alert], "city.station-forecourt": [.alert]] : [:]
        }
        func verdict(for request: AccessRequest) -> SharingVerdict {
            guard request.partner == "police", case .alert = request.action,
                ["market-square", "city.station-forecourt"].contains(request.camera.rawValue)
            else { return .denied }
            return SharingVerdict(
                isAllowed: true, rules: ["northtown-police-alerts"], reasons: ["granted"],
                redaction: RedactionSpec(classes: [.faces, .plates]), alertFields: [.kind, .camera, .zone])
        }
    }

    static func subscription(
        _ pki: TestPKI, to city: RunningServer, into northtown: RunningServer
    ) -> (ServiceGroup, Task<Void, any Error>) {
        let peer = PeerSite(
            id: "city",
            remote: RemoteEndpoint(
                url: "https://127.0.0.1:\(city.port)", caPath: pki.site.caCertificatePath,
                certificatePath: pki.northtown.certificatePath, keyPath: pki.northtown.keyPath))
        var logger = Logger(label: "peer")
        logger.logLevel = .critical
        let group = ServiceGroup(
            configuration: .init(
                services: [PeerSubscription(peer: peer, alerts: northtown.broker, logger: logger)],
                logger: logger))
        return (group, Task { try await group.run() })
    }

    static func waitForImports(_ journal: AlertJournal, count: Int) async throws -> [AlertJournal.Entry] {
        // Bounded generously (CI loads both cores); nothing here asserts a duration.
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(60) {
            let entries = try journal.entries(after: 0).filter { $0.alert.origin != nil }
            if entries.count >= count { return entries }
            try await Task.sleep(for: .milliseconds(25))
        }
        return try journal.entries(after: 0).filter { $0.alert.origin != nil }
    }

    @Test(
        "Only what the city grants reaches northtown; nothing passes on unless the city allows it; restarts neither lose nor repeat"
    )
    func noTransitiveSharing() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let city = try await RunningServer.start(
            pki: pki, authority: TestAuthority(), journalPath: pki.root + "/city.sqlite")
        let northtown = try await RunningServer.start(
            pki: pki, authority: NorthtownAuthority(), journalPath: pki.root + "/northtown.sqlite")
        var (group, task) = Self.subscription(pki, to: city, into: northtown)

        try city.broker.publish(
            Alert(kind: .restrictedZone, camera: "station-forecourt", zone: "tracks", time: Date(), track: 3))
        // not granted to northtown
        try city.broker.publish(Alert(kind: .loitering, camera: "station-forecourt", time: Date()))
        // not granted to northtown
        try city.broker.publish(Alert(kind: .restrictedZone, camera: "market-square", time: Date()))
        let imported = try await Self.waitForImports(northtown.broker.journal, count: 1)
        #expect(imported.count == 1)
        #expect(imported.first?.alert.camera == "city.station-forecourt")
        #expect(imported.first?.alert.kind == .restrictedZone)
        #expect(imported.first?.alert.zone == nil, "the city grants northtown kind and camera only")
        #expect(imported.first?.alert.track == nil)
        #expect(imported.first?.alert.mayBeShared == false)

        // Northtown's police: the imported alert is not passed on (the city did not allow it), its own is.
        try northtown.broker.publish(Alert(kind: .loitering, camera: "market-square", zone: "fountain", time: Date()))
        let seen = try await AlertStreamTests.readEvents(northtown, as: pki.police, count: 1)
        #expect(seen.count == 1)
        #expect(seen.first?.data.contains("market-square") == true)
        #expect(seen.first?.data.contains("city.") == false)

        // The subscription stops; the city raises two more; a new subscription imports exactly those.
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        try city.broker.publish(Alert(kind: .restrictedZone, camera: "station-forecourt", time: Date()))
        try city.broker.publish(Alert(kind: .restrictedZone, camera: "station-forecourt", time: Date()))
        (group, task) = Self.subscription(pki, to: city, into: northtown)
        let afterRestart = try await Self.waitForImports(northtown.broker.journal, count: 3)
        try await Task.sleep(for: .milliseconds(200))
        #expect(try northtown.broker.journal.entries(after: 0).filter { $0.alert.origin != nil }.count == 3)
        #expect(afterRestart.count == 3, "no alert lost or repeated across the reconnect")
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        await northtown.stop()
        await city.stop()
    }

    @Test("When the city allows re-sharing, northtown's own policy decides like for its own alerts")
    func explicitReshare() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let city = try await RunningServer.start(
            pki: pki, authority: TestAuthority(northtownMayReshare: true),
            journalPath: pki.root + "/city.sqlite")
        let northtown = try await RunningServer.start(
            pki: pki, authority: NorthtownAuthority(), journalPath: pki.root + "/northtown.sqlite")
        let (group, task) = Self.subscription(pki, to: city, into: northtown)
        try city.broker.publish(Alert(kind: .restrictedZone, camera: "station-forecourt", zone: "tracks", time: Date()))
        let imported = try await Self.waitForImports(northtown.broker.journal, count: 1)
        #expect(imported.first?.alert.mayBeShared == true)
        let seen = try await AlertStreamTests.readEvents(northtown, as: pki.police, count: 1)
        #expect(seen.first?.data == #"{"camera":"city.station-forecourt","kind":"restricted-zone"}"#)
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        await northtown.stop()
        await city.stop()
    }
}
