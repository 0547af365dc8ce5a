public import Foundation
public import VeilCore

/// A request to unmask a camera's footage in a range: the halves of the keys each approver is asked to open, and the
/// public half of a key made for this request alone, to which approvals seal what they open. Signed by the gateway, so
/// an approver can check what they approve (camera, range, reason, who asks) came from it.
public struct UnmaskRequest: Codable, Sendable, Equatable {
    public static let currentFormat = "veilgate-unmask-request/v1"

    public struct Share: Codable, Sendable, Equatable {
        public var segment: String
        public var track: Int
        public var role: String
        public var recipient: String
        public var sealed: String
    }

    public var format: String
    public var id: String
    public var camera: String
    public var from: String
    public var to: String
    public var reason: String
    public var requestedBy: String
    public var createdAt: String
    /// The request's own X25519 public key, hex: approvals are sealed to it, and only this gateway holds its secret
    /// half (until the request is used).
    public var requestKey: String
    /// The roles asked, each with the fingerprints of its keys (more than one where the policy changed a key within the
    /// range).
    public var approvers: [String: [String]]
    /// The request opens nothing after this (a week after it was made).
    public var expires: String
    public var shares: [Share]
}

/// One approver's approval of an ``UnmaskRequest``: their halves of the keys, opened with their own key and sealed to
/// the request's key, so that it serves this request only and reveals nothing on the way.
public struct UnmaskApproval: Codable, Sendable, Equatable {
    public static let currentFormat = "veilgate-unmask-approval/v1"

    public struct Share: Codable, Sendable, Equatable {
        public var segment: String
        public var track: Int
        public var sealed: String
    }

    public var format: String
    public var request: String
    public var role: String
    /// The approver key's fingerprint.
    public var approver: String
    public var approvedAt: String
    public var shares: [Share]

    /// Reads an approval file an approver handed over.
    public static func load(from path: String) throws -> UnmaskApproval {
        guard let data = FileManager.default.contents(atPath: path),
            let approval = try? JSONDecoder().decode(UnmaskApproval.self, from: data),
            approval.format == currentFormat
        else { throw VaultError(.invalidArgument, "\(path): not an unmask approval") }
        return approval
    }
}

/// What an approved unmask request opens: a layer segment's track and its decrypted pixels (the video of its crops).
public struct UnmaskedTrack: Sendable {
    public var segment: StoredSegment
    public var width: Int, height: Int
    public var track: UnmaskLayer.Track
    public var pixels: [UInt8]
}

extension Vault {
    /// Open requests and their keys, beside the vault's other keys.
    var unmaskDirectory: String { configuration.keystoreDirectory + "/unmask-requests" }

    /// How long a request can be approved and used.
    static let unmaskRequestLifetime: TimeInterval = 7 * 86_400

    /// Prepares a request to unmask a camera's footage in a range: writes it (signed) to `path` for the approvers,
    /// keeps the request key's secret half in the state folder, and audits it. Throws when the range holds no unmask
    /// layer.
    @discardableResult
    public func requestUnmask(
        camera: CameraID, from: Date, to: Date, reason: String, by actor: String, writingTo path: String,
        at now: Date = Date()
    ) throws -> UnmaskRequest {
        guard let signingKey else {
            throw VaultError(.notFound, "\(configuration.signingKeyPath): requests need the gateway signing key")
        }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw VaultError(.invalidArgument, "an unmask request needs a reason (--reason): the approvers read it")
        }
        guard !FileManager.default.fileExists(atPath: path) else {
            throw VaultError(.invalidArgument, "\(path) already exists; choose a new file for the request")
        }
        let layers = try segments(camera: camera, from: from, to: to).filter { $0.descriptor.category == .unmaskLayer }
        guard !layers.isEmpty else {
            throw VaultError(
                .notFound,
                "no unmask layer of \(camera) in that range: the camera keeps one only where its policy has it produce unmask-layer"
            )
        }
        var shares: [UnmaskRequest.Share] = []
        var approvers: [String: Set<String>] = [:]
        for segment in layers {
            let layer = try UnmaskLayer(decoding: try read(segment.id), segment: segment.id)
            for track in layer.tracks {
                for share in track.sealed.shares {
                    approvers[share.role, default: []].insert(share.recipient)
                    shares.append(
                        .init(
                            segment: segment.id, track: track.track, role: share.role, recipient: share.recipient,
                            sealed: share.sealed))
                }
            }
        }
        let id = "unmask-" + UUID().uuidString.lowercased().prefix(8)
        try FileManager.default.createDirectory(
            atPath: unmaskDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let requestKey = try RecipientKey.generate(writingTo: unmaskDirectory + "/" + id)
        let request = UnmaskRequest(
            format: UnmaskRequest.currentFormat, id: id, camera: camera.rawValue, from: Timestamp.precise(from),
            to: Timestamp.precise(to), reason: reason, requestedBy: actor, createdAt: Self.timestamp(now),
            requestKey: requestKey.bytes.hex, approvers: approvers.mapValues { $0.sorted() },
            expires: Self.timestamp(now.addingTimeInterval(Self.unmaskRequestLifetime)), shares: shares)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(request) } catch {
            throw VaultError(.io, "cannot encode the request", underlying: error)
        }
        try Self.writeDurably(data, to: path)
        try Self.writeDurably(Data((signingKey.sign([UInt8](data)).hex + "\n").utf8), to: path + ".sig")
        try Self.writeDurably(data, to: unmaskDirectory + "/" + id + ".json")
        _ = try audit.append(
            AuditLog.Action("unmask-requested"), actor: actor, subject: camera.rawValue,
            details: [
                "request": id, "from": Self.timestamp(from), "to": Self.timestamp(to), "segments": String(layers.count),
                "roles": approvers.keys.sorted().joined(separator: ","),
            ], at: now)
        return request
    }

    /// Opens what an unmask request covers with two approvals: of this request, of different roles, by different keys —
    /// one approval, or one person approving twice, opens nothing. Audited with the roles and keys that approved. The
    /// request is used up: its key is destroyed, so its approvals open nothing again.
    public func unmask(
        request id: String, approvals: [UnmaskApproval], by actor: String, at now: Date = Date()
    ) throws -> (UnmaskRequest, [UnmaskedTrack]) {
        let base = unmaskDirectory + "/" + id
        guard id.hasPrefix("unmask-"), !id.contains("/"),
            let data = FileManager.default.contents(atPath: base + ".json")
        else {
            throw VaultError(.notFound, "no open unmask request \(id) (requests are used once)")
        }
        let request: UnmaskRequest
        do { request = try JSONDecoder().decode(UnmaskRequest.self, from: data) } catch {
            throw VaultError(.authenticationFailed, "\(base).json: malformed request")
        }
        if let expires = ISO8601DateFormatter().date(from: request.expires), now > expires {
            for suffix in [".key", ".pub", ".json"] { unlink(base + suffix) }
            throw VaultError(.twoPersonRule, "unmask request \(id) expired at \(request.expires); make a new one")
        }
        for approval in approvals where approval.request != request.id {
            throw VaultError(
                .twoPersonRule, "an approval is for request \(approval.request.prefix(40)), not \(request.id)")
        }
        guard approvals.count == 2 else {
            throw VaultError(
                .twoPersonRule,
                "unmasking needs two approvals, of two roles (\(request.approvers.keys.sorted().joined(separator: " and "))); got \(approvals.count)"
            )
        }
        guard approvals[0].role != approvals[1].role, approvals[0].approver != approvals[1].approver else {
            throw VaultError(
                .twoPersonRule,
                "both approvals are from \(approvals[0].role.prefix(40)) (key \(approvals[0].approver.prefix(16))): the two-person rule needs two people of different roles"
            )
        }
        for approval in approvals where !(request.approvers[approval.role] ?? []).contains(approval.approver) {
            throw VaultError(
                .twoPersonRule,
                "the approval of \(approval.role.prefix(40)) is by key \(approval.approver.prefix(16)), not the key the layer was sealed to"
            )
        }
        let requestKey = try RecipientKey.load(from: base + ".key")
        var halves = try approvals.map { approval in
            try Dictionary(
                approval.shares.map { share -> (String, [UInt8]) in
                    guard let sealed = [UInt8](hex: share.sealed), let half = requestKey.open(sealed) else {
                        throw VaultError(
                            .twoPersonRule, "the approval of \(approval.role.prefix(40)) does not open for this request"
                        )
                    }
                    return ("\(share.segment)/\(share.track)", half)
                }, uniquingKeysWith: { first, _ in first })
        }
        defer {
            for index in halves.indices {
                for item in halves[index].keys { Sodium.wipe(&halves[index][item]!) }
            }
        }
        var opened: [UnmaskedTrack] = []
        let segmentIDs = Array(Set(request.shares.map(\.segment))).sorted()
        for segmentID in segmentIDs {
            guard let segment = try segment(segmentID) else {
                throw VaultError(
                    .notFound, "segment \(segmentID) of the request is no longer in the vault (expired or erased)")
            }
            let layer = try UnmaskLayer(decoding: try read(segmentID), segment: segmentID)
            for track in layer.tracks {
                let item = "\(segmentID)/\(track.track)"
                guard let first = halves[0][item], let second = halves[1][item] else {
                    throw VaultError(
                        .twoPersonRule, "the approvals do not cover track \(track.track) of segment \(segmentID)")
                }
                let pixels = try track.sealed.open(
                    halves: first, second, binding: Self.unmaskBinding(segment: segment, track: track.track),
                    what: "segment \(segmentID) track \(track.track)")
                opened.append(
                    UnmaskedTrack(
                        segment: segment, width: layer.width, height: layer.height, track: track, pixels: pixels))
            }
        }
        _ = try audit.append(
            AuditLog.Action("unmask"), actor: actor, subject: request.camera,
            details: [
                "request": request.id, "from": request.from, "to": request.to, "tracks": String(opened.count),
                "approvals": approvals.map { "\($0.role):\($0.approver)" }.sorted().joined(separator: ","),
            ], at: now)
        // Used once: the request's key goes, and with it every approval made for it.
        for suffix in [".key", ".pub", ".json"] { unlink(base + suffix) }
        return (request, opened)
    }

    /// What a track's pixels are bound to: the camera, the layer's start and the track, so ciphertexts cannot be moved.
    public static func unmaskBinding(segment: StoredSegment, track: Int) -> String {
        unmaskBinding(camera: segment.descriptor.camera, start: segment.descriptor.start, track: track)
    }

    public static func unmaskBinding(camera: CameraID, start: Date, track: Int) -> String {
        "veilgate-unmask:\(camera.rawValue):\(Int((start.timeIntervalSince1970 * 1000).rounded())):\(track)"
    }
}

/// The approver's side of an unmask request.
public enum UnmaskApprovals {
    /// Checks the request's signature with the gateway's public key, opens the halves asked of `key`, and seals them to
    /// the request's key: the approval to hand back. Refuses a request that asks nothing of this key.
    public static func approve(
        requestAt path: String, publicKey: GatewayPublicKey, key: RecipientKey, at now: Date = Date()
    ) throws -> (UnmaskRequest, UnmaskApproval) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VaultError(.notFound, "\(path): no such request")
        }
        guard let signatureData = FileManager.default.contents(atPath: path + ".sig"),
            let signature = [UInt8](
                hex: String(decoding: signatureData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
            publicKey.isValidSignature(signature, for: [UInt8](data))
        else {
            throw VaultError(
                .authenticationFailed,
                "\(path): its signature (\(path).sig) is missing or does not verify with gateway key \(publicKey.fingerprint); do not approve it"
            )
        }
        let request: UnmaskRequest
        do { request = try JSONDecoder().decode(UnmaskRequest.self, from: data) } catch {
            throw VaultError(.authenticationFailed, "\(path): malformed request")
        }
        guard request.format == UnmaskRequest.currentFormat, let requestKeyBytes = [UInt8](hex: request.requestKey),
            requestKeyBytes.count == 32
        else { throw VaultError(.authenticationFailed, "\(path): unknown request format") }
        let requestKey = RecipientPublicKey(bytes: requestKeyBytes)
        let mine = request.shares.filter { $0.recipient == key.publicKey.fingerprint }
        guard let role = mine.first?.role else {
            throw VaultError(
                .wrongKeyEncryptionKey,
                "request \(request.id) asks nothing of key \(key.publicKey.fingerprint); it asks "
                    + request.approvers.sorted { $0.key < $1.key }.map {
                        "\($0.key.prefix(40)) (key \($0.value.joined(separator: " or ")))"
                    }.joined(separator: " and "))
        }
        // What each half really opens travels sealed with it (camera, segment start, track): a request that says one
        // camera and time and carries halves of another — made with a stolen gateway key — is refused here.
        guard let from = Timestamp.parse(request.from), let to = Timestamp.parse(request.to) else {
            throw VaultError(.authenticationFailed, "\(path): malformed range")
        }
        let shares = try mine.map { share -> UnmaskApproval.Share in
            guard let sealed = [UInt8](hex: share.sealed), var opened = key.open(sealed),
                opened.count > TwoPersonSealed.halfLength
            else {
                throw VaultError(
                    .authenticationFailed, "request \(request.id): a share for this key does not open (changed?)")
            }
            defer { Sodium.wipe(&opened) }
            var half = Array(opened.prefix(TwoPersonSealed.halfLength))
            defer { Sodium.wipe(&half) }
            let binding = String(decoding: opened.dropFirst(TwoPersonSealed.halfLength), as: UTF8.self)
            let parts = binding.split(separator: ":")
            guard parts.count == 4, parts[0] == "veilgate-unmask", parts[1] == request.camera,
                let milliseconds = Double(parts[2]), Int(parts[3]) == share.track
            else {
                throw VaultError(
                    .authenticationFailed,
                    "request \(request.id) carries a share that is not of camera \(request.camera.prefix(60)) as it says; do not approve it"
                )
            }
            let start = Date(timeIntervalSince1970: milliseconds / 1000)
            // A layer segment starts at most a recording file's length (seconds) before the range.
            guard start >= from.addingTimeInterval(-60), start <= to else {
                throw VaultError(
                    .authenticationFailed,
                    "request \(request.id) carries a share of footage from \(Vault.timestamp(start)), outside \(request.from) – \(request.to) as it says; do not approve it"
                )
            }
            return .init(segment: share.segment, track: share.track, sealed: requestKey.seal(half).hex)
        }
        return (
            request,
            UnmaskApproval(
                format: UnmaskApproval.currentFormat, request: request.id, role: role,
                approver: key.publicKey.fingerprint, approvedAt: Vault.timestamp(now), shares: shares)
        )
    }
}

extension Vault {
    /// A track of one unmask-layer segment. Track numbers are the tracker's, unique within one run of a camera's
    /// pipeline only (they start again after a restart or a policy reload), so a track is always named with its
    /// segment.
    public struct LayerTrack: Hashable, Sendable {
        public var segment: String
        public var track: Int
    }

    /// The unmask-layer tracks covering a point at a moment — what a data subject asking for erasure points at (their
    /// face in a still of the redacted recording) — followed into the layer segments before and after in the range
    /// where the same track goes on (same number, within a second, nearby). `x`, `y` in pixels, or normalised when both
    /// are at most 1. Where the covers were is readable with the vault's keys; what was under them is not needed.
    public func unmaskTracks(
        camera: CameraID, from: Date, to: Date, at date: Date, x: Double, y: Double
    ) throws -> Set<LayerTrack> {
        let layers = try unmaskLayers(camera: camera, from: from, to: to)
        var found = Set<LayerTrack>()
        for (segment, layer) in layers {
            let (px, py) = x <= 1 && y <= 1 ? (x * Double(layer.width), y * Double(layer.height)) : (x, y)
            for track in layer.tracks {
                guard
                    let crop = track.crops.min(by: {
                        abs($0.time - date.timeIntervalSince1970) < abs($1.time - date.timeIntervalSince1970)
                    }), abs(crop.time - date.timeIntervalSince1970) <= 0.5
                else { continue }
                if Double(crop.x) <= px, px <= Double(crop.x + crop.width), Double(crop.y) <= py,
                    py <= Double(crop.y + crop.height)
                {
                    found.insert(LayerTrack(segment: segment.id, track: track.track))
                }
            }
        }
        return Self.continued(found, through: layers)
    }

    /// The tracks numbered `numbers` in the first layer segment of the range that has any of them, followed into the
    /// segments after as ``unmaskTracks(camera:from:to:at:x:y:)`` follows them. The same number later in the range, not
    /// connected to these (the pipeline restarted and numbers began again), is someone else and is left alone — which
    /// is why pointing at the subject is the better way to name them.
    public func unmaskTracks(
        camera: CameraID, from: Date, to: Date, numbered numbers: Set<Int>
    ) throws
        -> Set<LayerTrack>
    {
        let layers = try unmaskLayers(camera: camera, from: from, to: to)
        guard let seed = layers.first(where: { $0.1.tracks.contains { numbers.contains($0.track) } }) else { return [] }
        let found = Set(
            seed.1.tracks.filter { numbers.contains($0.track) }.map { LayerTrack(segment: seed.0.id, track: $0.track) })
        return Self.continued(found, through: layers)
    }

    private func unmaskLayers(camera: CameraID, from: Date, to: Date) throws -> [(StoredSegment, UnmaskLayer)] {
        try segments(camera: camera, from: from, to: to).filter { $0.descriptor.category == .unmaskLayer }
            .sorted { $0.descriptor.start < $1.descriptor.start }
            .map { ($0, try UnmaskLayer(decoding: try read($0.id), segment: $0.id)) }
    }

    /// The tracks found, and the same tracks in the neighbouring segments where they go straight on: the same number,
    /// its first crop within a second of its last crop in the segment before, and near it.
    static func continued(_ found: Set<LayerTrack>, through layers: [(StoredSegment, UnmaskLayer)]) -> Set<LayerTrack> {
        var result = found
        let index = Dictionary(layers.enumerated().map { ($1.0.id, $0) }, uniquingKeysWith: { first, _ in first })
        func goesOn(_ a: UnmaskLayer.Crop, _ b: UnmaskLayer.Crop) -> Bool {
            let dx = Double(a.x + a.width / 2 - b.x - b.width / 2), dy = Double(a.y + a.height / 2 - b.y - b.height / 2)
            return abs(b.time - a.time) <= 1 && (dx * dx + dy * dy).squareRoot() <= Double(max(a.width, a.height)) * 2
        }
        for seed in found {
            guard let start = index[seed.segment] else { continue }
            for step in [1, -1] {
                var position = start
                while true {
                    let next = position + step
                    guard next >= 0, next < layers.count,
                        let here = layers[position].1.tracks.first(where: { $0.track == seed.track }),
                        let there = layers[next].1.tracks.first(where: { $0.track == seed.track }),
                        let a = step == 1 ? here.crops.last : there.crops.last,
                        let b = step == 1 ? there.crops.first : here.crops.first, goesOn(a, b)
                    else { break }
                    result.insert(LayerTrack(segment: layers[next].0.id, track: seed.track))
                    position = next
                }
            }
        }
        return result
    }

    /// Erases a data subject's regions from a camera's unmask layers in a range (GDPR Art. 17), where the redacted
    /// footage must otherwise be kept: every layer segment holding one of `tracks` is stored again without them, and
    /// the old segment's key destroyed — their original pixels and key shares go with it, and nobody, whatever they
    /// approve, can unmask them again. Refused under a legal hold, like any erasure. Audited.
    @discardableResult
    public func eraseFromUnmaskLayers(
        camera: CameraID, from: Date, to: Date, tracks: Set<LayerTrack>, by actor: String, at now: Date = Date()
    ) throws -> (segments: Int, regions: Int) {
        guard !tracks.isEmpty else {
            throw VaultError(.notFound, "no unmask layer of \(camera) in that range holds those tracks")
        }
        var scratch = RetentionPlan(now: now, policyVersion: schedule?.policyVersion ?? "")
        let holds = try activeHolds(at: now, plan: &scratch)
        guard
            (holds[camera] ?? []).allSatisfy({
                !($0.start < to.timeIntervalSince1970 && $0.end > from.timeIntervalSince1970)
            })
        else {
            throw VaultError(
                .onHold,
                "footage of \(camera) in this range is under a legal hold; release it first (veilgate vault hold list)")
        }
        var rewritten: [String] = []
        var regions = 0
        for segment in try segments(camera: camera, from: from, to: to)
        where segment.descriptor.category == .unmaskLayer {
            let layer = try UnmaskLayer(decoding: try read(segment.id), segment: segment.id)
            let numbers = Set(tracks.filter { $0.segment == segment.id }.map(\.track))
            let removed = layer.tracks.filter { numbers.contains($0.track) }
            guard !removed.isEmpty else { continue }
            regions += removed.map(\.crops.count).reduce(0, +)
            let kept = layer.removing(tracks: numbers)
            if !kept.tracks.isEmpty { try store(try kept.encoded(), as: segment.descriptor) }
            rewritten.append(segment.id)
        }
        guard !rewritten.isEmpty else {
            throw VaultError(.notFound, "no unmask layer of \(camera) in that range holds those tracks")
        }
        try destroySegments(
            rewritten,
            audit: (
                .erasure, actor, camera.rawValue, [],
                [
                    "kind": "subject-regions", "from": Self.timestamp(from), "to": Self.timestamp(to),
                    "segments": String(rewritten.count), "tracks": String(Set(tracks.map(\.track)).count),
                    "regions": String(regions),
                ]
            ))
        return (rewritten.count, regions)
    }
}
