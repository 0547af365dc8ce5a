public import Foundation
public import VeilAnalytics
public import VeilCore
public import VeilFederation
import VeilMedia
public import VeilPolicy
public import VeilVision

/// Which cameras the gateway ingests, and from where: every camera of the policy with a source that some
/// partner may watch live or whose video the policy stores (when recording), with its credentials put into the
/// address at run time (never logged), or the address given with `--camera-source` instead.
///
/// A camera whose source is `peer://PEER/CAMERA`, PEER a peer site of `--federation`, is that site's camera relayed:
/// its live stream, fetched while a partner here watches it and only while the peer allows re-sharing it, redacted
/// again as this site's grants say. It is never recorded here. (Name it `PEER.CAMERA`, as the peer's alerts are.)
public struct CameraFeed: Sendable {
    /// A peer site's camera, and its id there.
    public struct PeerCamera: Sendable {
        public var site: PeerSite
        public var camera: String
    }

    public var camera: CameraID
    /// With credentials: pass to FFmpeg only. For a peer's camera, a description.
    public var address: String
    /// A file: played in real time and looped, like a camera.
    public var isFile: Bool
    public var peer: PeerCamera? = nil
    /// What the policy has this site store of the camera (raw or redacted video, sound); never anything of a peer's.
    public var stores: [DataCategory] = []
    /// The analytics the policy runs on the camera (never on a peer's: the peer analyses its own).
    public var analytics: CameraAnalytics.Setup? = nil
    /// The camera's privacy masks, painted over every frame first.
    public var masks: [PrivacyMasks.Polygon] = []

    /// `overrides` naming a camera the policy does not have are an error, or with `lenient` (a reloaded policy that
    /// dropped the camera) a warning.
    public static func resolve(
        policy: CompiledPolicy, overrides: [String], recording: Bool, analysing: Bool = true, peers: [PeerSite] = [],
        lenient: Bool = false,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        warn: (String) -> Void
    ) throws -> [CameraFeed] {
        var given: [CameraID: String] = [:]
        let known = Set(policy.document.cameras.map(\.id))
        for entry in overrides {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw GatewayError(
                    .invalidConfiguration, "--camera-source '\(redactedAddress(entry))' must be CAMERA=ADDRESS")
            }
            let camera = CameraID(String(entry[..<equals]))
            guard known.contains(camera) else {
                if lenient {
                    warn("--camera-source: '\(camera.rawValue)' is no longer a camera of the policy; not ingested")
                    continue
                }
                throw GatewayError(
                    .invalidConfiguration,
                    "--camera-source: '\(camera.rawValue)' is not a camera of the policy (\(known.map(\.rawValue).sorted().joined(separator: ", ")))"
                )
            }
            given[camera] = String(entry[entry.index(after: equals)...])
        }
        let watchedLive = Set(
            policy.document.partners.flatMap { partner in
                policy.cameras(sharedWith: partner.id).filter { $0.value.contains(.live) }.keys
            })
        var feeds: [CameraFeed] = []
        func stored(_ camera: PolicyDocument.Camera) -> [DataCategory] {
            guard recording else { return [] }
            return [DataCategory.rawVideo, .redactedVideo, .unmaskLayer, .audio].filter {
                camera.produces.contains($0) && policy.permitsStorage(camera: camera.id, category: $0)
                    && ($0 != .audio || camera.audio)
            }
        }
        for camera in policy.document.cameras {
            let stores = stored(camera)
            let analytics =
                !analysing || (camera.source.hasPrefix("peer://") && given[camera.id] == nil)
                ? nil : CameraAnalytics.Setup(camera)
            guard watchedLive.contains(camera.id) || !stores.isEmpty || analytics != nil else { continue }
            if let address = given[camera.id] {
                feeds.append(
                    CameraFeed(
                        camera: camera.id, address: address,
                        isFile: !address.contains("://") || address.hasPrefix("file:"),
                        stores: stores, analytics: analytics))
                continue
            }
            if camera.source.hasPrefix("peer://"), Self.peerSource(camera.source) == nil {
                warn(
                    "camera \(camera.id.rawValue): its source '\(camera.source)' is not peer://PEER/CAMERA; not ingested"
                )
                continue
            }
            if let (peer, remote) = Self.peerSource(camera.source) {
                guard watchedLive.contains(camera.id) else { continue }
                guard let site = peers.first(where: { $0.id.rawValue == peer }) else {
                    warn(
                        "camera \(camera.id.rawValue): its source is peer site '\(peer)', which --federation does not list; not relayed"
                    )
                    continue
                }
                feeds.append(
                    CameraFeed(
                        camera: camera.id, address: "peer \(site.id)'s camera \(remote)", isFile: false,
                        peer: PeerCamera(site: site, camera: remote)))
                continue
            }
            guard !camera.source.isEmpty else { continue }
            var address = camera.source
            if let reference = camera.credentials {
                guard let secret = Self.credentials(reference, environment: environment) else {
                    warn(
                        "camera \(camera.id.rawValue): its credentials (\(Self.describe(reference))) cannot be read; not ingested"
                    )
                    continue
                }
                address = Self.address(camera.source, withCredentials: secret)
            }
            feeds.append(
                CameraFeed(
                    camera: camera.id, address: address, isFile: !address.contains("://"), stores: stores,
                    analytics: analytics))
        }
        // Masks go with the camera wherever its frames come from (its source, --camera-source, a peer's relay).
        let masks = Dictionary(
            uniqueKeysWithValues: policy.document.cameras.map { ($0.id, PrivacyMasks.Polygon.of($0)) })
        return feeds.map { feed in
            var feed = feed
            feed.masks = masks[feed.camera] ?? []
            return feed
        }
    }

    /// `peer://PEER/CAMERA` → (PEER, CAMERA), both well-formed ids; nil for any other source.
    static func peerSource(_ source: String) -> (peer: String, camera: String)? {
        guard source.hasPrefix("peer://") else { return nil }
        let parts = source.dropFirst("peer://".count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, PartnerID.isWellFormed(String(parts[0])), CameraID.isWellFormed(String(parts[1])) else {
            return nil
        }
        return (String(parts[0]), String(parts[1]))
    }

    /// `user:password` from a file (first line) or an environment variable.
    static func credentials(_ reference: PolicyDocument.CredentialReference, environment: [String: String]) -> String? {
        let value: String? =
            switch reference {
            case .file(let path):
                (try? String(contentsOfFile: path, encoding: .utf8))?.split(whereSeparator: \.isNewline).first.map(
                    String.init)
            case .environment(let name): environment[name]
            }
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    static func describe(_ reference: PolicyDocument.CredentialReference) -> String {
        switch reference {
        case .file(let path): "file \(path)"
        case .environment(let name): "environment variable \(name)"
        }
    }

    /// `rtsp://host/…` with `user:password@` after the scheme (replacing any there).
    static func address(_ source: String, withCredentials secret: String) -> String {
        guard let scheme = source.range(of: "://") else { return source }
        var rest = source[scheme.upperBound...]
        if let at = rest.firstIndex(of: "@"), !rest[..<at].contains("/") { rest = rest[rest.index(after: at)...] }
        return source[..<scheme.upperBound] + secret + "@" + rest
    }
}
