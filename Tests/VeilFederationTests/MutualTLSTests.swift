import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import VeilAlerts
import VeilCore

@testable import VeilFederation

/// The partner API on real TLS sockets on loopback: who completes the handshake, and what each partner sees.
@Suite("Mutual TLS and the partner API", .serialized)
struct MutualTLSTests {
    @Test("Partners see exactly their own cameras; a stranger with a valid certificate sees nothing")
    func cameraLists() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let server = try await RunningServer.start(pki: pki)

        let police = try await server.get("/v1/cameras", as: pki.police)
        #expect(police.status == 200)
        #expect(police.body.contains(#""id" : "market-square""#))
        #expect(police.body.contains(#""id" : "station-forecourt""#))
        #expect(!police.body.contains("mall-entrance"))

        let mall = try await server.get("/v1/cameras", as: pki.retailer)
        #expect(mall.status == 200)
        #expect(mall.body.contains("mall-entrance"))
        #expect(!mall.body.contains("market-square"))

        let stranger = try await server.get("/v1/cameras", as: pki.stranger)
        #expect(stranger.status == 403)
        #expect(stranger.body == #"{"error":"forbidden"}"#)
        let listings = await server.audit.entries.filter { $0.subject == "cameras" }
        #expect(
            listings.contains {
                $0.actor.hasPrefix("certificate:") && $0.details["effect"] == "deny"
                    && $0.details["reason"] == "unknown-partner"
            },
            "\(listings)")
        #expect(
            listings.contains {
                $0.actor == "partner:police" && $0.details["effect"] == "allow" && $0.details["cameras"] == "2"
            }, "\(listings)")
        let entries = await server.audit.entries
        #expect(entries.contains { $0.actor.hasPrefix("certificate:") && $0.details["effect"] == "deny" })
        #expect(entries.contains { $0.actor == "partner:police" && $0.subject == "cameras" })
        await server.stop()
    }

    @Test("A console operator's certificate, from the same site CA, gets nothing from the partner API")
    func operatorCertificateRefused() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let server = try await RunningServer.start(pki: pki)
        let operatorCertificate = try pki.site.issueOperatorCertificate(operator: "control-room")
        for path in ["/v1/cameras", "/v1/alerts", "/v1/cameras/market-square/live/index.m3u8"] {
            // Refused as the request is admitted: answered 403 and closed, or closed before the answer is read.
            let status = try? await server.get(path, as: operatorCertificate).status
            #expect(status == nil || status == 403, "\(path): \(String(describing: status))")
        }
        // Refused before any decision: it never became a caller the policy was asked about (an unknown partner's
        // certificate is, and is audited as such — see cameraLists).
        let entries = await server.audit.entries
        #expect(entries.isEmpty, "\(entries)")
        await server.stop()
    }

    @Test(
        "No certificate, a foreign CA, an expired, a revoked certificate and a partner CA's impostor fail the handshake"
    )
    func handshakeRefusals() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let server = try await RunningServer.start(pki: pki)

        for (name, certificate) in [
            ("none", nil), ("foreign CA", pki.foreign), ("expired", pki.expired),
            ("revoked", pki.revoked), ("impostor", pki.northtownImpostor),
        ] as [(String, IssuedCertificate?)] {
            await #expect(throws: (any Error).self, "\(name) must not complete the handshake") {
                _ = try await server.get("/v1/cameras", as: certificate)
            }
        }
        // The partner's own CA is trusted for that partner.
        let northtown = try await server.get("/v1/cameras", as: pki.northtown)
        #expect(northtown.status == 200)
        #expect(northtown.body.contains("station-forecourt"))
        await server.stop()
    }

    @Test("Counts: the mall gets its camera's people counts per minute and zone, between from and to; nobody else's")
    func minuteCounts() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let server = try await RunningServer.start(pki: pki)
        let now = Date()
        let minute = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 60).rounded(.down) * 60 - 120)
        try server.broker.journal.record([
            MinuteCount(camera: "mall-entrance", zone: "doorway", minute: minute, peakOccupancy: 7),
            MinuteCount(camera: "mall-entrance", zone: "door-line", minute: minute, crossingsIn: 12, crossingsOut: 9),
            MinuteCount(camera: "market-square", zone: "fountain", minute: minute, peakOccupancy: 30),
        ])
        // The minute in progress grows: written again, replaced.
        try server.broker.journal.record([
            MinuteCount(camera: "mall-entrance", zone: "doorway", minute: minute, peakOccupancy: 9)
        ])
        let counts = try await server.get("/v1/cameras/mall-entrance/counts", as: pki.retailer)
        #expect(counts.status == 200)
        #expect(counts.body.contains(#""peakOccupancy" : 9"#), "\(counts.body)")
        #expect(!counts.body.contains(#""peakOccupancy" : 7"#))
        #expect(counts.body.contains(#""crossingsIn" : 12"#) && counts.body.contains(#""crossingsOut" : 9"#))
        #expect(!counts.body.contains("fountain"), "another camera's counts are not in this one's")
        let before = ISO8601DateFormatter().string(from: minute.addingTimeInterval(-60))
        let earlier = try await server.get(
            "/v1/cameras/mall-entrance/counts?since=\(before)&to=\(before)", as: pki.retailer)
        #expect(earlier.status == 200 && !earlier.body.contains("doorway"), "nothing outside from–to")
        #expect(try await server.get("/v1/cameras/market-square/counts", as: pki.retailer).status == 403)

        // Per hour: the minutes of each hour rolled up — the highest occupancy, the crossings summed.
        let hourStart = (minute.timeIntervalSince1970 / 3600).rounded(.down) * 3600
        let first = Date(timeIntervalSince1970: hourStart - 3600), second = first.addingTimeInterval(60)
        try server.broker.journal.record([
            MinuteCount(camera: "mall-entrance", zone: "doorway", minute: first, peakOccupancy: 4),
            MinuteCount(camera: "mall-entrance", zone: "doorway", minute: second, peakOccupancy: 11),
            MinuteCount(camera: "mall-entrance", zone: "door-line", minute: first, crossingsIn: 3, crossingsOut: 1),
            MinuteCount(camera: "mall-entrance", zone: "door-line", minute: second, crossingsIn: 5, crossingsOut: 2),
        ])
        let from = ISO8601DateFormatter().string(from: first)
        let hourly = try await server.get("/v1/cameras/mall-entrance/counts?since=\(from)&per=hour", as: pki.retailer)
        let decoded = try JSONDecoder.iso8601.decode(PartnerAPI.Counts.self, from: Data(hourly.body.utf8))
        #expect(decoded.minutes == nil)
        #expect(
            decoded.hours?.filter { $0.hour == first } == [
                .init(hour: first, zone: "door-line", crossingsIn: 8, crossingsOut: 3),
                .init(hour: first, zone: "doorway", peakOccupancy: 11),
            ], "\(hourly.body)")
        #expect(decoded.hours?.contains { $0.hour.timeIntervalSince1970 == hourStart && $0.peakOccupancy == 9 } == true)
        let bad = try await server.get("/v1/cameras/mall-entrance/counts?per=week", as: pki.retailer)
        #expect(bad.status == 400)
        // `from` names the start as on the clip route; a time that does not parse, or a range backwards, is refused
        // rather than answered for the default last hour.
        let named = try await server.get("/v1/cameras/mall-entrance/counts?from=\(from)&per=hour", as: pki.retailer)
        #expect(named.body == hourly.body)
        for query in ["from=yesterday", "to=2026-13-45T99:00:00Z", "since=noon", "from=\(before)&to=\(from)"] {
            let refused = try await server.get("/v1/cameras/mall-entrance/counts?\(query)", as: pki.retailer)
            #expect(refused.status == 400, "\(query): \(refused.body)")
        }
        // Parameters or not, a partner without the grant gets the same bare 403.
        #expect(try await server.get("/v1/cameras/mall-entrance/counts?from=yesterday", as: pki.police).status == 403)
        await server.stop()
    }

    @Test(
        "Counts: alerts are counted only of the kinds the partner may receive; the latest crowd count only with crowd alerts"
    )
    func alertCountsFollowGrants() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let now = Date()
        let raised = [
            Alert(kind: .restrictedZone, camera: "mall-entrance", zone: "stockroom", time: now),
            Alert(kind: .crowdCount, camera: "mall-entrance", zone: "doorway", time: now, count: 41),
            Alert(kind: .crowdCount, camera: "market-square", zone: "fountain", time: now, count: 300),
        ]
        // Counts alone: the mall learns neither that a restricted zone alerted nor how many crowd alerts there were.
        let countsOnly = try await RunningServer.start(pki: pki)
        for alert in raised { try countsOnly.broker.publish(alert) }
        let bare = try await countsOnly.get("/v1/cameras/mall-entrance/counts", as: pki.retailer)
        #expect(bare.status == 200)
        let decoded = try JSONDecoder.iso8601.decode(PartnerAPI.Counts.self, from: Data(bare.body.utf8))
        #expect(decoded.alerts.isEmpty, "\(bare.body)")
        #expect(decoded.latestCrowdCount == nil)
        #expect(!bare.body.contains("restricted-zone"), "\(bare.body)")
        await countsOnly.stop()

        // Counts and crowd alerts: the crowd alerts are counted and the latest count given; the restricted zone's not.
        var authority = TestAuthority()
        authority.mallCrowdAlerts = true
        let withCrowds = try await RunningServer.start(
            pki: pki, authority: authority, journalPath: pki.root + "/b.sqlite")
        for alert in raised { try withCrowds.broker.publish(alert) }
        let counted = try await withCrowds.get("/v1/cameras/mall-entrance/counts", as: pki.retailer)
        let granted = try JSONDecoder.iso8601.decode(PartnerAPI.Counts.self, from: Data(counted.body.utf8))
        #expect(granted.alerts == ["crowd-count": 1], "\(counted.body)")
        #expect(granted.latestCrowdCount == 41)
        await withCrowds.stop()
    }

    @Test("A denial looks the same whether the camera exists, belongs to someone else, or the route does not exist")
    func uniformDenials() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let server = try await RunningServer.start(pki: pki)

        let notYours = try await server.get("/v1/cameras/mall-entrance/counts", as: pki.police)
        let noSuch = try await server.get("/v1/cameras/no-such-camera/counts", as: pki.police)
        let noRoute = try await server.get("/v1/secrets", as: pki.police)
        #expect(notYours.status == 403)
        #expect(notYours == noSuch)
        #expect(noSuch == noRoute)

        let mine = try await server.get("/v1/cameras/mall-entrance/counts", as: pki.retailer)
        #expect(mine.status == 200)
        #expect(mine.body.contains(#""camera" : "mall-entrance""#))

        let denied = await server.audit.entries.filter {
            $0.details["effect"] == "deny" && $0.actor == "partner:police"
        }
        #expect(denied.count >= 2, "every denial is audited")
        await server.stop()
    }

    @Test("Clips: justification required, max age enforced, only footage redacted at least as the grant says")
    func clips() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let server = try await RunningServer.start(pki: pki)
        let formatter = ISO8601DateFormatter()
        let now = Date()
        let range = "from=\(formatter.string(from: now.addingTimeInterval(-900)))&to=\(formatter.string(from: now))"
        let justification = [("Veilgate-Justification", "case 2026/4711")]

        let unjustified = try await server.get("/v1/cameras/market-square/clip?\(range)", as: pki.police)
        #expect(unjustified.status == 403)

        let clip = try await server.get(
            "/v1/cameras/market-square/clip?\(range)", as: pki.police, headers: justification)
        #expect(clip.status == 200)
        #expect(clip.body.contains("seg-a") && clip.body.contains("seg-b"))
        #expect(!clip.body.contains("seg-raw"), "original footage never goes to a redacted grant")

        let segment = try await server.get(
            "/v1/cameras/market-square/segments/seg-a", as: pki.police, headers: justification)
        #expect(segment.status == 200)
        #expect(segment.body == "AAAAA")
        let raw = try await server.get(
            "/v1/cameras/market-square/segments/seg-raw", as: pki.police, headers: justification)
        #expect(raw.status == 403)
        let old = try await server.get(
            "/v1/cameras/market-square/segments/seg-old", as: pki.police, headers: justification)
        #expect(old.status == 403, "older than the grant's max-age")
        let mall = try await server.get(
            "/v1/cameras/market-square/segments/seg-a", as: pki.retailer, headers: justification)
        #expect(mall.status == 403)

        let entries = await server.audit.entries
        let shared = entries.filter { $0.action == .share && $0.subject == "camera:market-square/segment:seg-a" }
        #expect(shared.count == 1)
        #expect(shared.first?.rules == ["police-evidence-clips"])
        let decided = entries.filter { $0.action == .decision && $0.details["justification-hmac"] != nil }
        #expect(!decided.isEmpty)
        // Keyed (issue 15, finding 9): hashing candidate case references does not find the one used.
        let plain = SHA256.hash(data: Data("case 2026/4711".utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(
            !entries.contains { $0.details.values.contains(plain) },
            "a plain SHA-256 of the reference is not in the audit")
        #expect(
            !entries.contains { $0.details.values.contains { $0.contains("4711") } },
            "the justification's text is never logged")

        let badRange = try await server.get(
            "/v1/cameras/market-square/clip?from=yesterday", as: pki.police, headers: justification)
        #expect(badRange.status == 400)
        await server.stop()
    }

    @Test("Security headers on every answer, allowed or not")
    func securityHeaders() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let server = try await RunningServer.start(pki: pki)
        try await server.withClient(pki.police) { client in
            for path in ["/v1/cameras", "/v1/cameras/nope/counts"] {
                let response = try await client.execute(HTTPClientRequest(url: server.url(path)), timeout: .seconds(60))
                #expect(response.headers.first(name: "Strict-Transport-Security") != nil)
                #expect(response.headers.first(name: "X-Content-Type-Options") == "nosniff")
                #expect(response.headers.first(name: "Cache-Control") == "no-store")
                _ = try await response.body.collect(upTo: 1 << 16)
            }
        }
        await server.stop()
    }
}
