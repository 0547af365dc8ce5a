import ArgumentParser
import Foundation
import VeilCore
import VeilFederation
import VeilPolicy
import X509

/// `veilgate certs …`: the site's PKI for mutual TLS.
struct CertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "The site CA, the gateway's server certificate and partner client certificates (mutual TLS).",
        discussion: """
            Keys are P-256, written 0600, never overwritten and never committed (certs/.gitignore). \
            A partner's certificate carries the SAN URI its policy entry names; the server maps it to the \
            partner and decides every request by the policy. See docs/federation.md.
            """,
        subcommands: [
            CertsInitCommand.self, CertsIssueCommand.self, CertsSignRequestCommand.self, CertsRevokeCommand.self,
            CertsListCommand.self,
        ]
    )
}

struct CertsInitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the site CA and the gateway's server certificate (refuses to replace an existing CA)."
    )

    @OptionGroup var folder: CertsFolder

    @Option(help: "The site's name, as organisation in every certificate.")
    var site: String = "Veilgate site"

    @Option(name: .customLong("name"), help: ArgumentHelp("A DNS name of the gateway (repeatable).", valueName: "dns"))
    var names: [String] = ["localhost"]

    @Option(
        name: .customLong("address"), help: ArgumentHelp("An IP address of the gateway (repeatable).", valueName: "ip"))
    var addresses: [String] = ["127.0.0.1"]

    func run() async throws {
        let authority = folder.authority
        let (ca, server) = try await federationOperation {
            try authority.initialise(siteName: site, serverNames: names, addresses: addresses)
        }
        print(
            "created site CA \(authority.caCertificatePath) (key \(authority.caKeyPath), 0600), valid until \(ISO8601DateFormatter.veilgate(ca.notValidAfter))"
        )
        print(
            "created server certificate \(authority.serverCertificatePath) for \((names + addresses).joined(separator: ", ")), valid until \(ISO8601DateFormatter.veilgate(server.notValidAfter))"
        )
        print(
            "give partners \(authority.caCertificatePath) to trust this gateway; keep \(authority.caKeyPath) offline if you can"
        )
    }
}

struct CertsIssueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract:
            "Issue a partner's client certificate, bound to the identity the policy names for it, or a console operator's."
    )

    @OptionGroup var folder: CertsFolder
    @OptionGroup var policyLocation: PolicyLocation

    @Option(help: "The partner id, as in the policy.")
    var partner: String?

    @Option(
        name: .customLong("operator"),
        help: ArgumentHelp(
            "A console operator's name, as in the policy's operators: (instead of --partner).", valueName: "name"))
    var operatorName: String?

    @Option(
        help: ArgumentHelp("The SAN URI; default: the identity the policy names for the partner.", valueName: "uri"))
    var uri: String?

    @Option(help: "How long the certificate is valid.")
    var days: Int = SiteAuthority.partnerLifetimeDays

    func validate() throws {
        guard (partner == nil) != (operatorName == nil) else {
            throw ValidationError("give either --partner ID or --operator NAME")
        }
        if operatorName != nil, uri != nil { throw ValidationError("--uri is for partners: an operator's is fixed") }
    }

    func run() async throws {
        if let operatorName {
            let id = try policyOperator(operatorName, in: policyLocation)
            let issued = try await federationOperation {
                try folder.authority.issueOperatorCertificate(operator: id, days: days)
            }
            print(issuedLine(issued))
            print(
                "private key \(issued.keyPath) (0600): hand both to the operator over a secure channel, then delete the key here"
            )
            print(
                "for a browser: openssl pkcs12 -export -in \(issued.certificatePath) -inkey \(issued.keyPath) -out \(id.rawValue).p12, then import it (docs/console.md)"
            )
            return
        }
        let (id, identity) = try policyIdentity(
            of: partner ?? "", in: policyLocation, given: uri, offersURIOption: true)
        let issued = try await federationOperation {
            try folder.authority.issuePartnerCertificate(partner: id, uri: identity, days: days)
        }
        print(issuedLine(issued))
        print(
            "private key \(issued.keyPath) (0600): hand both to the partner over a secure channel, then delete the key here"
        )
    }
}

struct CertsSignRequestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign-request",
        abstract:
            "Issue a partner's certificate from its certificate request: the partner's key never leaves the partner."
    )

    @OptionGroup var folder: CertsFolder
    @OptionGroup var policyLocation: PolicyLocation

    @Argument(help: ArgumentHelp("The request (PEM) from `veilgate partner request`.", valueName: "file"))
    var request: String

    @Option(help: "The partner id, as in the policy.")
    var partner: String

    @Option(help: "How long the certificate is valid.")
    var days: Int = SiteAuthority.partnerLifetimeDays

    func run() async throws {
        let (id, identity) = try policyIdentity(of: partner, in: policyLocation)
        let issued = try await federationOperation {
            try folder.authority.signRequest(at: request, partner: id, uri: identity, days: days)
        }
        print(issuedLine(issued))
        print("send it, and certs/ca.pem, to the partner; its private key stayed with the partner")
    }
}

struct CertsRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract:
            "Revoke certificates by serial, or every certificate of a partner; a running server refuses them after SIGHUP."
    )

    @OptionGroup var folder: CertsFolder

    @Argument(help: ArgumentHelp("Serials (hex, from `veilgate certs list`).", valueName: "serial"))
    var serials: [String] = []

    @Option(help: "Revoke every certificate issued to this partner.")
    var partner: String?

    func validate() throws {
        if serials.isEmpty && partner == nil { throw ValidationError("name serials or --partner") }
    }

    func run() async throws {
        let authority = folder.authority
        var targets = serials
        if let partner {
            let issued = try await federationOperation { try authority.issued() }
            targets += issued.filter { $0.partner.rawValue == partner }.map(\.serial)
            if targets.isEmpty { throw ValidationError("no certificate was issued to '\(partner)'") }
        }
        let added = try await federationOperation { try authority.revoke(serials: targets) }
        for serial in added { print("revoked \(serial)") }
        if added.isEmpty { print("already revoked") }
        print("send SIGHUP to a running `veilgate serve` (or restart it) to apply")
    }
}

struct CertsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the certificates this site issued.")

    @OptionGroup var folder: CertsFolder

    func run() async throws {
        let authority = folder.authority
        let (issued, revoked) = try await federationOperation {
            (try authority.issued(), try authority.revocationList().serials)
        }
        if issued.isEmpty { print("no partner certificates issued yet (veilgate certs issue --partner ID)") }
        let now = Date()
        for item in issued {
            let state =
                revoked.contains(item.serial) ? "revoked" : item.certificate.notValidAfter < now ? "expired" : "valid"
            print(
                "\(item.partner.rawValue)\t\(item.serial)\t\(item.uri ?? "-")\tuntil \(ISO8601DateFormatter.veilgate(item.certificate.notValidAfter))\t\(state)"
            )
        }
    }
}

/// The partner and the identity URI its certificate is bound to: the one the policy names for it (`given`, when passed,
/// must agree with it).
private func policyIdentity(
    of partner: String, in location: PolicyLocation, given: String? = nil, offersURIOption: Bool = false
) throws
    -> (PartnerID, String)
{
    let policy: CompiledPolicy
    do { policy = try location.load(at: Date()) } catch let error as PolicyError { throw reportPolicyError(error) }
    let id = PartnerID(partner)
    guard let entry = policy.document.partners.first(where: { $0.id == id }) else {
        throw ValidationError(
            "the policy has no partner '\(partner)' (it has: \(policy.document.partners.map(\.id.rawValue).joined(separator: ", ")))"
        )
    }
    let named = entry.identity.uri
    guard let identity = given ?? named else {
        throw ValidationError(
            "the policy names no identity uri for '\(partner)'; add one (identity: uri: spiffe://…)"
                + (offersURIOption ? " or pass --uri" : ""))
    }
    if let named, named != identity {
        throw ValidationError("--uri \(identity) is not the identity the policy names for '\(partner)' (\(named))")
    }
    return (id, identity)
}

/// The operator `name` of the policy, which must give them a role.
private func policyOperator(_ name: String, in location: PolicyLocation) throws -> OperatorID {
    let policy: CompiledPolicy
    do { policy = try location.load(at: Date()) } catch let error as PolicyError { throw reportPolicyError(error) }
    let id = OperatorID(name)
    guard !policy.roles(of: id).isEmpty else {
        let known = policy.document.operators.map(\.id.rawValue)
        throw ValidationError(
            "the policy has no operator '\(name)' with a role"
                + (known.isEmpty ? " (it has no operators: section)" : " (it has: \(known.joined(separator: ", ")))"))
    }
    return id
}

private func issuedLine(_ issued: IssuedCertificate) -> String {
    "issued \(issued.certificatePath) for \(issued.partner) (\(issued.uri ?? "-")), serial \(issued.serial), "
        + "valid until \(ISO8601DateFormatter.veilgate(issued.certificate.notValidAfter))"
}
