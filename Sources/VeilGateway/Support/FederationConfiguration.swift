import Foundation
public import VeilCore
public import VeilFederation
import Yams

/// `--federation FILE`: where this site pushes alerts and which peer sites it subscribes to.
///
/// ```yaml
/// push:                      # alerts POSTed to partners' endpoints (mutual TLS, durable outbox)
///   - partner: police        # a partner of the policy; it receives what its alert grants allow
///     url: https://police.example/veilgate/alerts
///     ca: certs/partners/police-ca.pem          # the CA of the partner's server
///     certificate: certs/site-client.pem        # this site's client certificate for it
///     key: certs/site-client.key
/// peers:                     # other Veilgate sites whose alerts this site imports
///   - id: northtown          # imported cameras are named northtown.CAMERA in this site's policy
///     url: https://northtown.example:8443
///     ca: certs/peers/northtown-ca.pem
///     certificate: certs/peers/northtown-client.pem
///     key: certs/peers/northtown-client.key
/// ```
/// Relative paths are resolved against the file's folder.
public struct FederationConfiguration: Sendable {
    public var push: [PushEndpoint] = []
    public var peers: [PeerSite] = []

    public init() {}

    public static func load(_ path: String, partners: Set<PartnerID>) throws -> FederationConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GatewayError(.invalidConfiguration, "\(path): cannot read")
        }
        let folder = (path as NSString).deletingLastPathComponent
        let node: Node?
        do { node = try Yams.compose(yaml: String(decoding: data, as: UTF8.self)) } catch let error as YamlError {
            throw GatewayError(.invalidConfiguration, "\(path): not YAML (\(error))")
        }
        guard let root = node?.mapping else {
            throw GatewayError(.invalidConfiguration, "\(path): expected a mapping with push: and peers:")
        }
        var configuration = FederationConfiguration()
        for (key, _) in root where !["push", "peers"].contains(key.string ?? "") {
            throw GatewayError(
                .invalidConfiguration,
                "\(path):\(key.mark.map { "\($0.line):\($0.column)" } ?? "?"): unknown key '\(key.string ?? "?")' (expected push or peers)"
            )
        }
        func entries(_ name: String) throws -> [(Node.Mapping, String)] {
            guard let list = root[name] else { return [] }
            guard let sequence = list.sequence else {
                throw GatewayError(.invalidConfiguration, "\(path): \(name) must be a list")
            }
            return try sequence.map { item in
                guard let mapping = item.mapping else {
                    throw GatewayError(
                        .invalidConfiguration,
                        "\(path):\(item.mark.map { "\($0.line):\($0.column)" } ?? "?"): each \(name) entry is a mapping"
                    )
                }
                return (mapping, item.mark.map { "\(path):\($0.line):\($0.column)" } ?? path)
            }
        }
        func field(_ mapping: Node.Mapping, _ key: String, _ where_: String, file: Bool = false) throws -> String {
            guard let value = mapping[key]?.string, !value.isEmpty else {
                throw GatewayError(.invalidConfiguration, "\(where_): missing '\(key)'")
            }
            guard file, !value.hasPrefix("/") else { return value }
            return (folder as NSString).appendingPathComponent(value)
        }
        func remote(_ mapping: Node.Mapping, url: String, _ location: String) throws -> RemoteEndpoint {
            RemoteEndpoint(
                url: url, caPath: try field(mapping, "ca", location, file: true),
                certificatePath: try field(mapping, "certificate", location, file: true),
                keyPath: try field(mapping, "key", location, file: true))
        }
        for (mapping, location) in try entries("push") {
            let partner = PartnerID(try field(mapping, "partner", location))
            guard partners.contains(partner) else {
                throw GatewayError(
                    .invalidConfiguration,
                    "\(location): partner '\(partner)' is not in the policy: pushing to it would share with nobody the policy knows"
                )
            }
            let url = try field(mapping, "url", location)
            guard url.hasPrefix("https://") else {
                throw GatewayError(.invalidConfiguration, "\(location): url must be https://")
            }
            configuration.push.append(PushEndpoint(partner: partner, remote: try remote(mapping, url: url, location)))
        }
        for (mapping, location) in try entries("peers") {
            let id = try field(mapping, "id", location)
            guard PartnerID.isWellFormed(id) else {
                throw GatewayError(.invalidConfiguration, "\(location): '\(id)' is not a well-formed id")
            }
            let url = try field(mapping, "url", location)
            guard url.hasPrefix("https://") else {
                throw GatewayError(.invalidConfiguration, "\(location): url must be https://")
            }
            configuration.peers.append(PeerSite(id: PartnerID(id), remote: try remote(mapping, url: url, location)))
        }
        return configuration
    }
}
