internal import CSodium
import Foundation

/// Someone whose approval unmasking needs: a role the policy names, and the X25519 key its holder keeps
/// (`veilgate vault approver-key`). Unmasking needs two of them, of different roles.
public struct UnmaskApprover: Sendable, Equatable {
    public var role: String
    public var key: RecipientPublicKey

    public init(role: String, key: RecipientPublicKey) {
        self.role = role
        self.key = key
    }
}

/// The original pixels of what a camera's redacted recording covers, kept instead of raw video ("unmask layer"): for
/// each track the redaction tracker covered in a segment, where its cover was in each frame, and the original pixels
/// there (a small video the gateway encodes; opaque here). Each track's pixels are encrypted with a key of their own,
/// and that key opens only with two approvals of different roles (``TwoPersonSealed``): the vault's own keys — and so
/// anyone with the gateway's state — read where covers were, never what was under them.
///
/// Stored as one vault segment (category `unmask-layer`) beside the redacted segment of the same time: a JSON header
/// (length-prefixed), then each track's ciphertext.
public struct UnmaskLayer: Sendable, Equatable {
    public static let format = "veilgate-unmask-layer/v1"
    /// The container name the vault records for a layer segment.
    public static let container = "unmask"

    /// One covered area in one frame: when (seconds since 1970, the frame's wall-clock time) and where (pixels). Stored
    /// as `[milliseconds, x, y, width, height]`: a layer lists hundreds a second.
    public struct Crop: Sendable, Equatable, Codable {
        public var time: Double
        public var x: Int, y: Int, width: Int, height: Int

        public init(time: Double, x: Int, y: Int, width: Int, height: Int) {
            self.time = time
            self.x = x
            self.y = y
            self.width = width
            self.height = height
        }

        public init(from decoder: any Decoder) throws {
            var values = try decoder.unkeyedContainer()
            time = Double(try values.decode(Int64.self)) / 1000
            (x, y, width, height) = (
                try values.decode(Int.self), try values.decode(Int.self), try values.decode(Int.self),
                try values.decode(Int.self)
            )
        }

        public func encode(to encoder: any Encoder) throws {
            var values = encoder.unkeyedContainer()
            try values.encode(Int64((time * 1000).rounded()))
            for value in [x, y, width, height] { try values.encode(value) }
        }
    }

    public struct Track: Sendable, Equatable {
        /// The tracker's number for it in this segment, and what it is (`faces`, `plates`, …).
        public var track: Int
        public var kind: String
        /// The size of the canvas each crop is drawn on at its top left, in the track's video.
        public var canvasWidth: Int, canvasHeight: Int
        public var crops: [Crop]
        public var sealed: TwoPersonSealed

        public init(
            track: Int, kind: String, canvasWidth: Int, canvasHeight: Int, crops: [Crop], sealed: TwoPersonSealed
        ) {
            self.track = track
            self.kind = kind
            self.canvasWidth = canvasWidth
            self.canvasHeight = canvasHeight
            self.crops = crops
            self.sealed = sealed
        }
    }

    /// The picture the crops belong to.
    public var width: Int, height: Int
    public var tracks: [Track]

    public init(width: Int, height: Int, tracks: [Track]) {
        self.width = width
        self.height = height
        self.tracks = tracks
    }

    private struct Header: Codable {
        struct TrackHeader: Codable {
            var track: Int
            var kind: String
            var canvasWidth: Int, canvasHeight: Int
            var crops: [Crop]
            var shares: [TwoPersonSealed.Share]
            var length: Int
        }
        var format: String
        var width: Int, height: Int
        var tracks: [TrackHeader]
    }

    /// The bytes stored in the vault.
    public func encoded() throws -> [UInt8] {
        let header = Header(
            format: Self.format, width: width, height: height,
            tracks: tracks.map {
                .init(
                    track: $0.track, kind: $0.kind, canvasWidth: $0.canvasWidth, canvasHeight: $0.canvasHeight,
                    crops: $0.crops, shares: $0.sealed.shares, length: $0.sealed.ciphertext.count)
            })
        let json: [UInt8]
        do { json = [UInt8](try JSONEncoder().encode(header)) } catch {
            throw VaultError(.io, "cannot encode an unmask layer", underlying: error)
        }
        var bytes = withUnsafeBytes(of: UInt32(json.count).bigEndian) { [UInt8]($0) } + json
        for track in tracks { bytes += track.sealed.ciphertext }
        return bytes
    }

    /// Reads stored bytes; refuses anything malformed by name (`segment`).
    public init(decoding bytes: [UInt8], segment: String) throws {
        func invalid(_ why: String) -> VaultError { VaultError(.authenticationFailed, "segment \(segment): \(why)") }
        guard bytes.count >= 4 else { throw invalid("not an unmask layer") }
        let length = Int(bytes[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard length <= bytes.count - 4 else { throw invalid("not an unmask layer (header length)") }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: Data(bytes[4..<4 + length])) } catch {
            throw invalid("not an unmask layer (header)")
        }
        guard header.format == Self.format else { throw invalid("unknown unmask layer format") }
        var offset = 4 + length
        var tracks: [Track] = []
        for track in header.tracks {
            guard track.length >= 0, offset + track.length <= bytes.count else { throw invalid("truncated") }
            tracks.append(
                Track(
                    track: track.track, kind: track.kind, canvasWidth: track.canvasWidth,
                    canvasHeight: track.canvasHeight, crops: track.crops,
                    sealed: TwoPersonSealed(
                        shares: track.shares, ciphertext: [UInt8](bytes[offset..<offset + track.length]))))
            offset += track.length
        }
        guard offset == bytes.count else { throw invalid("trailing bytes") }
        self.init(width: header.width, height: header.height, tracks: tracks)
    }

    /// The layer without some tracks: what is stored again when a data subject's regions are erased (Art. 17). The
    /// removed tracks' ciphertext and key shares are gone with the old segment's key.
    public func removing(tracks removed: Set<Int>) -> UnmaskLayer {
        UnmaskLayer(width: width, height: height, tracks: tracks.filter { !removed.contains($0.track) })
    }
}

/// Bytes encrypted so that they open only with two approvals of different roles: a fresh content key encrypts them
/// (secretstream, XChaCha20-Poly1305, bound to what they are), and the key is split in two — a random pad, and the key
/// XOR the pad — each half sealed to one approver's X25519 key. Either half alone is uniformly random: one approval, or
/// the vault's own keys, learn nothing.
public struct TwoPersonSealed: Sendable, Equatable {
    public struct Share: Sendable, Equatable, Codable {
        public var role: String
        /// The approver key's fingerprint (``RecipientPublicKey/fingerprint``).
        public var recipient: String
        /// The half, sealed to that key, hex.
        public var sealed: String
    }

    public var shares: [Share]
    public var ciphertext: [UInt8]

    /// Seals `plaintext` for two approvers of different roles and keys. `binding` names what it is (segment and track),
    /// so ciphertexts cannot be swapped.
    public static func seal(
        _ plaintext: [UInt8], for approvers: [UnmaskApprover], binding: String
    ) throws
        -> TwoPersonSealed
    {
        guard approvers.count == 2, approvers[0].role != approvers[1].role, approvers[0].key != approvers[1].key
        else {
            throw VaultError(
                .invalidArgument, "unmasking needs two approvers of different roles with different keys")
        }
        let key = try SecretKey()
        var keyBytes = key.exportBytes()
        defer { Sodium.wipe(&keyBytes) }
        var pad = [UInt8](repeating: 0, count: keyBytes.count)
        randombytes_buf(&pad, pad.count)
        var other = zip(keyBytes, pad).map { $0 ^ $1 }
        defer {
            Sodium.wipe(&pad)
            Sodium.wipe(&other)
        }
        let ciphertext = try SegmentCipher.encrypt(plaintext, key: key, binding: Array(binding.utf8))
        // Each half travels with what it opens (camera, segment start, track), sealed together: an approver sees what a
        // request really asks of them, whatever the request says.
        var first = pad + Array(binding.utf8), second = other + Array(binding.utf8)
        defer {
            Sodium.wipe(&first)
            Sodium.wipe(&second)
        }
        return TwoPersonSealed(
            shares: [
                Share(
                    role: approvers[0].role, recipient: approvers[0].key.fingerprint,
                    sealed: approvers[0].key.seal(first).hex),
                Share(
                    role: approvers[1].role, recipient: approvers[1].key.fingerprint,
                    sealed: approvers[1].key.seal(second).hex),
            ], ciphertext: [UInt8](ciphertext))
    }

    /// The length of a key half; what follows it in a sealed share is the binding it belongs to.
    static let halfLength = 32

    /// Opens with both halves (in either order); throws when they do not open it.
    func open(halves first: [UInt8], _ second: [UInt8], binding: String, what: String) throws -> [UInt8] {
        guard first.count == second.count else { throw VaultError(.authenticationFailed, "\(what): malformed share") }
        var keyBytes = zip(first, second).map { $0 ^ $1 }
        defer { Sodium.wipe(&keyBytes) }
        let key = try SecretKey(copying: keyBytes)
        return [UInt8](
            try SegmentCipher.decrypt(Data(ciphertext), key: key, binding: Array(binding.utf8), segment: what))
    }
}
