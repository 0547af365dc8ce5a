import Crypto
import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Synchronization
import Testing
import VeilCore
import X509

@testable import VeilFederation

/// The custom verification callback replaces BoringSSL's chain checks, so these prove it does them itself.
@Suite("Peer verification")
struct PeerVerifierTests {
    func chain(_ issued: IssuedCertificate) throws -> [Certificate] {
        [try PEMFile.certificate(at: issued.certificatePath)]
    }

    @Test("Site-issued certificates map to their partner; everything else is refused with a reason")
    func outcomes() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let verifier = PeerVerifier(try pki.trust(authority: TestAuthority()))

        #expect(
            await verifier.verify(try chain(pki.police))
                == .trusted(partner: "police", fingerprint: pki.police.fingerprint))
        #expect(
            await verifier.verify(try chain(pki.stranger))
                == .trusted(partner: nil, fingerprint: pki.stranger.fingerprint))
        #expect(
            await verifier.verify(try chain(pki.northtown))
                == .trusted(partner: "northtown-gateway", fingerprint: pki.northtown.fingerprint))
        for refused in [pki.foreign, pki.expired, pki.northtownImpostor] {
            guard case .refused = await verifier.verify(try chain(refused)) else {
                Issue.record("\(refused.certificatePath) was accepted")
                continue
            }
        }
        #expect(await verifier.verify(try chain(pki.revoked)) == .refused("certificate revoked"))
        #expect(await verifier.verify([Certificate]()) == .refused("no certificate"))
    }

    @Test("A server certificate (no clientAuth usage) is not a client certificate")
    func keyUsage() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let verifier = PeerVerifier(try pki.trust(authority: TestAuthority()))
        let server = try PEMFile.certificate(at: pki.site.serverCertificatePath)
        guard case .refused = await verifier.verify([server]) else {
            Issue.record("a serverAuth-only certificate was accepted as a client")
            return
        }
    }

    @Test("Revocation and policy reloads take effect without a restart")
    func reload() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let verifier = PeerVerifier(try pki.trust(authority: TestAuthority()))
        #expect(
            await verifier.verify(try chain(pki.retailer))
                == .trusted(partner: "bakerstreet-mall", fingerprint: pki.retailer.fingerprint))
        try pki.site.revoke(serials: [pki.retailer.serial])
        await verifier.update(try pki.trust(authority: TestAuthority()))
        #expect(await verifier.verify(try chain(pki.retailer)) == .refused("certificate revoked"))
    }

    @Test(
        "A connection's caller is worked out at its first request and kept; a revocation still reaches its next request"
    )
    func identityOncePerConnection() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let verifier = PeerVerifier(try pki.trust(authority: TestAuthority()))
        let channel = EmbeddedChannel()
        let police = try PEMFile.certificate(at: pki.police.certificatePath)
        let asked = Counter()
        func admit() async -> PeerVerifier.Admission {
            await verifier.admit(
                on: channel,
                certificate: {
                    asked.add()
                    return police
                })
        }
        #expect(await admit() == .admitted(partner: "police", actor: "partner:police", isLast: false))
        #expect(await admit() == .admitted(partner: "police", actor: "partner:police", isLast: false))
        #expect(await admit() == .admitted(partner: "police", actor: "partner:police", isLast: false))
        #expect(asked.value == 1, "the certificate is read and mapped once per connection")
        #expect(verifier.openConnections == 1)

        // Revoked while the connection is open: its next request is refused, even before the reload closes it.
        try pki.site.revoke(serials: [pki.police.serial])
        var trust = verifier.current
        trust.revokedSerials = try pki.site.revocationList().serials
        _ = await verifier.update(trust)
        #expect(await admit() == .refused)
        // A new connection of an unknown certificate is named by its fingerprint.
        let stranger = try PEMFile.certificate(at: pki.stranger.certificatePath)
        #expect(
            await verifier.admit(on: EmbeddedChannel(), certificate: { stranger })
                == .admitted(partner: nil, actor: "certificate:\(pki.stranger.fingerprint.prefix(16))", isLast: false))
    }

    @Test(
        "A partner's own key and request: the site signs it for the policy's identity, refuses another identity or a forged request"
    )
    func certificateRequests() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let keyPath = pki.root + "/police-own.key", requestPath = pki.root + "/police-own.csr"
        try SiteAuthority.makeRequest(
            partner: "police", uri: TestPKI.policeURI, keyPath: keyPath, requestPath: requestPath)
        let mode = try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        let issued = try pki.site.signRequest(at: requestPath, partner: "police", uri: TestPKI.policeURI)
        #expect(
            !FileManager.default.fileExists(atPath: String(issued.certificatePath.dropLast(4)) + ".key"),
            "no key made at the site")
        let verifier = PeerVerifier(try pki.trust(authority: TestAuthority()))
        #expect(
            await verifier.verify([issued.certificate]) == .trusted(partner: "police", fingerprint: issued.fingerprint))
        // The certificate is for the partner's own key.
        let key = try P256.Signing.PrivateKey(pemRepresentation: String(contentsOfFile: keyPath, encoding: .utf8))
        #expect(issued.certificate.publicKey == Certificate.PublicKey(key.publicKey))

        // A request asking for another identity is refused; so is one whose signature was tampered with.
        let other = pki.root + "/other"
        try SiteAuthority.makeRequest(
            partner: "police", uri: "spiffe://elsewhere.example/x", keyPath: other + ".key", requestPath: other + ".csr"
        )
        #expect(throws: FederationError.self) {
            try pki.site.signRequest(at: other + ".csr", partner: "police", uri: TestPKI.policeURI)
        }
        var pem = try String(contentsOfFile: requestPath, encoding: .utf8).split(separator: "\n").map(String.init)
        let line = pem.count / 2
        pem[line] = String(pem[line].reversed())
        try pem.joined(separator: "\n").write(toFile: requestPath, atomically: true, encoding: .utf8)
        #expect(throws: FederationError.self) {
            try pki.site.signRequest(at: requestPath, partner: "police", uri: TestPKI.policeURI)
        }
    }

    @Test("Keys are written 0600, never overwritten; a second init is refused")
    func keyFiles() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        for path in [pki.site.caKeyPath, pki.site.serverKeyPath, pki.police.keyPath] {
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(path)")
        }
        #expect(throws: FederationError.self) {
            try pki.site.initialise(siteName: "Again", serverNames: ["localhost"], addresses: [])
        }
        #expect(throws: FederationError.self) { try SecureFile.writeNew("x", to: pki.site.caKeyPath) }
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: pki.site.caKeyPath)
        #expect(throws: FederationError.self) { _ = try pki.site.loadCA() }
        let list = try pki.site.issued()
        #expect(list.count == 5)
        #expect(list.allSatisfy { $0.uri != nil })
    }
}

/// Counts calls from a `@Sendable` closure.
final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
