public import Crypto
public import Foundation
import SwiftASN1
public import VeilCore
public import X509

/// The site's own PKI in one folder: the site CA, the gateway's server certificate, the partner client
/// certificates it issued and the serials it revoked.
///
/// ```
/// certs/ca.pem  ca.key             site CA (P-256, 10 years); the key never leaves this folder
/// certs/server.pem  server.key     the gateway's TLS certificate (SANs for its names and addresses)
/// certs/issued/PARTNER-SERIAL.pem  .key   client certificates, handed to the partner
/// certs/revoked.json               serials the server refuses at the handshake
/// ```
///
/// Private keys are created with `O_EXCL` and mode 0600 and are never overwritten; `certs/.gitignore`
/// keeps all of them out of git.
public struct SiteAuthority: Sendable {
    public let directory: String

    public static let caLifetimeDays = 3650
    public static let serverLifetimeDays = 397
    public static let partnerLifetimeDays = 365
    public static let operatorLifetimeDays = 365

    public init(directory: String) {
        self.directory = directory
    }

    public var caCertificatePath: String { path("ca.pem") }
    public var caKeyPath: String { path("ca.key") }
    public var serverCertificatePath: String { path("server.pem") }
    public var serverKeyPath: String { path("server.key") }
    public var issuedDirectory: String { path("issued") }
    public var revocationListPath: String { path("revoked.json") }

    public var isInitialised: Bool { FileManager.default.fileExists(atPath: caCertificatePath) }

    // MARK: Creating

    /// Creates the site CA and the server certificate. Refuses to replace an existing CA: every partner
    /// certificate hangs off it.
    @discardableResult
    public func initialise(
        siteName: String, serverNames: [String], addresses: [String], now: Date = Date()
    ) throws -> (ca: Certificate, server: Certificate) {
        guard !isInitialised else {
            throw FederationError(
                .alreadyExists, "\(caCertificatePath) already exists: the site CA is never replaced (partners trust it)"
            )
        }
        try FileManager.default.createDirectory(atPath: issuedDirectory, withIntermediateDirectories: true)
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName {
            OrganizationName(siteName)
            CommonName("\(siteName) Veilgate CA")
        }
        let caPublic = Certificate.PublicKey(caKey.publicKey)
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: caPublic,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(Double(Self.caLifetimeDays) * 86400),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: caPublic)
            },
            issuerPrivateKey: .init(caKey))
        try SecureFile.writeNew(caKey.pemRepresentation, to: caKeyPath)
        try SecureFile.writePublic(try ca.serializeAsPEM().pemString, to: caCertificatePath)
        let server = try issueServerCertificate(names: serverNames, addresses: addresses, now: now)
        return (ca, server)
    }

    /// Issues (or re-issues, after the old one is moved away) the gateway's server certificate.
    @discardableResult
    public func issueServerCertificate(names: [String], addresses: [String], now: Date = Date()) throws -> Certificate {
        let (ca, caKey) = try loadCA()
        var alternativeNames: [GeneralName] = names.map { .dnsName($0) }
        for address in addresses {
            guard let bytes = IPAddressBytes.parse(address) else {
                throw FederationError(.invalidArgument, "'\(address)' is not an IPv4 or IPv6 address")
            }
            alternativeNames.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...])))
        }
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(Double(Self.serverLifetimeDays) * 86400),
            issuer: ca.subject,
            subject: try DistinguishedName { CommonName(names.first ?? addresses.first ?? "veilgate") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternativeNames)
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: try ca.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: .init(caKey))
        try SecureFile.writeNew(key.pemRepresentation, to: serverKeyPath)
        try SecureFile.writePublic(try certificate.serializeAsPEM().pemString, to: serverCertificatePath)
        return certificate
    }

    /// A partner client certificate, bound to the SAN URI the policy names for the partner. Validity can be
    /// back-dated (`notBefore`) so tests can make an expired certificate with the real code path.
    public func issuePartnerCertificate(
        partner: PartnerID, uri: String, days: Int = partnerLifetimeDays,
        now: Date = Date()
    ) throws -> IssuedCertificate {
        let key = P256.Signing.PrivateKey()
        let (certificate, base) = try issue(
            publicKey: Certificate.PublicKey(key.publicKey), partner: partner, uri: uri, days: days, now: now)
        try SecureFile.writeNew(key.pemRepresentation, to: base + ".key")
        try SecureFile.writePublic(try certificate.serializeAsPEM().pemString, to: base + ".pem")
        return IssuedCertificate(
            partner: partner, certificate: certificate, certificatePath: base + ".pem", keyPath: base + ".key")
    }

    /// A console operator's client certificate: SAN URI `urn:veilgate:operator:NAME`, which the console maps to the
    /// roles the policy gives NAME and the partner API refuses.
    public func issueOperatorCertificate(
        operator id: OperatorID, days: Int = operatorLifetimeDays, now: Date = Date()
    ) throws -> IssuedCertificate {
        try issuePartnerCertificate(partner: PartnerID(id.rawValue), uri: id.certificateURI, days: days, now: now)
    }

    /// A partner certificate for `publicKey`, signed by the site CA, and the path (without extension) it belongs at.
    private func issue(
        publicKey: Certificate.PublicKey, partner: PartnerID, uri: String, days: Int, now: Date
    ) throws
        -> (Certificate, String)
    {
        guard (1...825).contains(days) else {
            throw FederationError(.invalidArgument, "a partner certificate lasts 1 to 825 days, not \(days)")
        }
        guard let url = URL(string: uri), url.scheme != nil, uri.count <= 512 else {
            throw FederationError(
                .invalidArgument, "'\(uri)' is not a URI (expected e.g. spiffe://city.example/partner/police)")
        }
        let (ca, caKey) = try loadCA()
        let serial = Certificate.SerialNumber()
        let certificate = try Certificate(
            version: .v3, serialNumber: serial, publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Double(days) * 86400),
            issuer: ca.subject,
            subject: try DistinguishedName {
                OrganizationName(ca.subject.attribute(.RDNAttributeType.organizationName) ?? "Veilgate")
                CommonName(partner.rawValue)
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.clientAuth])
                SubjectAlternativeNames([.uniformResourceIdentifier(uri)])
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: try ca.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: .init(caKey))
        try FileManager.default.createDirectory(atPath: issuedDirectory, withIntermediateDirectories: true)
        return (certificate, (issuedDirectory as NSString).appendingPathComponent("\(partner.rawValue)-\(serial.hex)"))
    }

    // MARK: Certificate requests

    /// The partner's side: a new key (written 0600, never leaving the partner) and a certificate request for it, naming
    /// the partner and, when given, the identity URI the site's policy names for it.
    public static func makeRequest(partner: PartnerID, uri: String?, keyPath: String, requestPath: String) throws {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(partner.rawValue) }
        var attributes = CertificateSigningRequest.Attributes()
        if let uri {
            attributes.insert(
                try CertificateSigningRequest.Attribute(
                    ExtensionRequest(
                        extensions: try Certificate.Extensions {
                            SubjectAlternativeNames([.uniformResourceIdentifier(uri)])
                        })))
        }
        let request = try CertificateSigningRequest(
            version: .v1, subject: subject, privateKey: .init(key), attributes: attributes,
            signatureAlgorithm: .ecdsaWithSHA256)
        try SecureFile.writeNew(key.pemRepresentation, to: keyPath)
        try SecureFile.writePublic(try request.serializeAsPEM().pemString, to: requestPath)
    }

    /// The site's side: issues a certificate for the key of the request at `path`, bound to `uri` (the identity the
    /// policy names for the partner). A request whose signature does not verify, or that asks for another identity, is
    /// refused. The key never existed here.
    public func signRequest(
        at path: String, partner: PartnerID, uri: String, days: Int = partnerLifetimeDays,
        now: Date = Date()
    ) throws -> IssuedCertificate {
        let request: CertificateSigningRequest
        do {
            request = try CertificateSigningRequest(pemEncoded: PEMFile.text(at: path))
        } catch let error as FederationError {
            throw error
        } catch {
            throw FederationError(.invalidCertificate, "\(path): not a PEM certificate request")
        }
        guard request.publicKey.isValidSignature(request.signature, for: request) else {
            throw FederationError(
                .invalidCertificate, "\(path): the request's signature does not verify with its own key")
        }
        let requested =
            (try? request.attributes.extensionRequest?.extensions.subjectAlternativeNames)??.compactMap {
                name -> String? in
                if case .uniformResourceIdentifier(let value) = name { return value }
                return nil
            } ?? []
        if let other = requested.first(where: { $0 != uri }) {
            throw FederationError(
                .invalidArgument,
                "\(path) asks for identity \(other.prefix(200)), not \(uri), which the policy names for \(partner.rawValue)"
            )
        }
        let (certificate, base) = try issue(
            publicKey: request.publicKey, partner: partner, uri: uri, days: days, now: now)
        try SecureFile.writePublic(try certificate.serializeAsPEM().pemString, to: base + ".pem")
        return IssuedCertificate(
            partner: partner, certificate: certificate, certificatePath: base + ".pem", keyPath: "")
    }

    // MARK: Revocation

    /// Adds serials to the revocation list; the server reloads it and refuses them at the next handshake.
    /// Returns the serials newly revoked.
    @discardableResult
    public func revoke(serials: [String], now: Date = Date()) throws -> [String] {
        var list = try revocationList()
        var added: [String] = []
        for serial in serials.map({ $0.lowercased() }) where list.entries.allSatisfy({ $0.serial != serial }) {
            guard serial.count <= 64, serial.allSatisfy(\.isHexDigit) else {
                throw FederationError(.invalidArgument, "'\(serial)' is not a certificate serial (hex)")
            }
            list.entries.append(.init(serial: serial, revokedAt: now))
            added.append(serial)
        }
        let data = try JSONEncoder.sorted.encode(list)
        try SecureFile.replacePublic(data, at: revocationListPath)
        return added
    }

    public func revocationList() throws -> RevocationList {
        guard let data = FileManager.default.contents(atPath: revocationListPath) else {
            return RevocationList(entries: [])
        }
        do {
            return try JSONDecoder.iso8601.decode(RevocationList.self, from: data)
        } catch {
            throw FederationError(
                .invalidConfiguration, "\(revocationListPath) is not a revocation list: refusing to start without it")
        }
    }

    // MARK: Listing

    /// Every certificate this site issued, oldest first.
    public func issued() throws -> [IssuedCertificate] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: issuedDirectory)) ?? []
        var result: [IssuedCertificate] = []
        for name in names.sorted() where name.hasSuffix(".pem") {
            let path = (issuedDirectory as NSString).appendingPathComponent(name)
            let certificate = try PEMFile.certificate(at: path)
            let partner = PartnerID(certificate.subject.attribute(.RDNAttributeType.commonName) ?? "?")
            result.append(
                IssuedCertificate(
                    partner: partner, certificate: certificate, certificatePath: path,
                    keyPath: String(path.dropLast(4)) + ".key"))
        }
        return result.sorted { $0.certificate.notValidBefore < $1.certificate.notValidBefore }
    }

    /// The CA certificate alone: all a running server needs (the CA key can stay offline).
    public func caCertificate() throws -> Certificate {
        guard isInitialised else {
            throw FederationError(
                .notInitialised, "no site CA at \(caCertificatePath): run `veilgate certs init` first")
        }
        return try PEMFile.certificate(at: caCertificatePath)
    }

    /// Every certificate in a PEM file (a partner's CA bundle).
    public static func certificates(at path: String) throws -> [Certificate] {
        try PEMFile.certificates(at: path)
    }

    /// The certificates of a PEM file's bytes, read already (and checked) by the caller; `name` names it in errors.
    public static func certificates(pem: Data, named name: String) throws -> [Certificate] {
        try PEMFile.certificates(pem: String(decoding: pem, as: UTF8.self), named: name)
    }

    public func loadCA() throws -> (Certificate, P256.Signing.PrivateKey) {
        guard isInitialised else {
            throw FederationError(
                .notInitialised, "no site CA at \(caCertificatePath): run `veilgate certs init` first")
        }
        let certificate = try PEMFile.certificate(at: caCertificatePath)
        let key = try PEMFile.privateKey(at: caKeyPath)
        return (certificate, key)
    }

    private func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
}

/// A client certificate the site issued, with where its files are.
public struct IssuedCertificate: Sendable {
    public var partner: PartnerID
    public var certificate: Certificate
    public var certificatePath: String
    public var keyPath: String

    public var serial: String { certificate.serialNumber.hex }
    public var uri: String? { certificate.partnerURI }
    public var fingerprint: String { certificate.fingerprint }
}

/// The serials the site revoked. Neither NIOSSL nor swift-certificates reads CRLs, so the list is the
/// site's own JSON file, checked by ``PeerVerifier`` after full chain verification.
public struct RevocationList: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var serial: String
        public var revokedAt: Date
    }

    public var entries: [Entry]
    public var serials: Set<String> { Set(entries.map(\.serial)) }
}
