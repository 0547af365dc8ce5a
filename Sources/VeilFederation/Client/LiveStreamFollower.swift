public import Foundation

/// Follows a camera's live HLS stream on a Veilgate site, as a partner: the initialisation segment once, then every
/// media segment in order from the newest one listed when it joined. `veilgate partner live` writes what it gets to
/// a file; a gateway relaying a peer site's camera decodes it.
///
/// FFmpeg's HLS reader cannot present a client certificate for segments, hence this follower: playlist and
/// segments all go through the same mutual-TLS client.
public struct LiveStreamFollower: Sendable {
    public enum Chunk: Sendable, Equatable {
        /// `ftyp` + `moov`: comes first, once.
        case initialization(Data)
        case segment(sequence: Int, duration: Double, bytes: Data)
    }

    /// The header with which a site says the requesting peer may pass this stream on (its grant's `reshare: true`).
    public static let reshareHeader = "Veilgate-Reshare"

    public let client: PartnerClient
    public let camera: String
    /// Sent with every request (a justification, for grants that require one).
    public var headers: [(String, String)]
    /// How long the site may answer 503 (the stream starting or reconnecting) before following gives up.
    public var patience: Duration
    /// Only follow while the site says the stream may be re-shared (a gateway relaying a peer's camera).
    public var requireReshare: Bool
    /// Told each time the site answers 503, with the answer's body.
    public var onUnavailable: @Sendable (String) -> Void

    public init(client: PartnerClient, camera: String, headers: [(String, String)] = [], patience: Duration = .seconds(60),
                requireReshare: Bool = false, onUnavailable: @escaping @Sendable (String) -> Void = { _ in })
    {
        self.client = client
        self.camera = camera
        self.headers = headers
        self.patience = patience
        self.requireReshare = requireReshare
        self.onUnavailable = onUnavailable
    }

    /// Hands every chunk to `handle` until it returns false. Throws ``FederationError`` with `.refused` when the site
    /// answers anything but 200 or 503 (`HTTP 403 …`), `.unavailable` after ``patience`` of 503s, `.peer` when a
    /// relayed stream may not be re-shared or the playlist is malformed.
    public func follow(_ handle: (Chunk) async throws -> Bool) async throws {
        guard LiveStreamFollower.isCameraID(camera) else { throw FederationError(.invalidArgument, "'\(camera)' is not a camera id") }
        let base = "/v1/cameras/\(camera)/live/"
        var next: Int?
        var unavailableSince: ContinuousClock.Instant?
        var sentInit = false
        while true {
            let answer = try await client.get(base + "index.m3u8", headers: headers, limit: 64 << 10)
            if answer.status == 503 {  // starting or reconnecting: the site asks to come back shortly
                onUnavailable(answer.text)
                let since = unavailableSince ?? .now
                unavailableSince = since
                guard ContinuousClock.now - since < patience else {
                    throw FederationError(.unavailable, "\(camera) has had no live stream for \(patience)")
                }
                try await Task.sleep(for: .seconds(2))
                continue
            }
            guard answer.status == 200 else { throw FederationError(.refused, "HTTP \(answer.status) \(answer.text)") }
            guard let playlist = LivePlaylist(parsing: answer.text) else { throw FederationError(.peer, "HTTP 200 but not a playlist") }
            if requireReshare,
               answer.headers.first(where: { $0.0.lowercased() == Self.reshareHeader.lowercased() })?.1 != "allowed"
            {
                throw FederationError(.refused, "the site does not allow re-sharing \(camera)")
            }
            unavailableSince = nil
            if !sentInit {
                guard let initURI = playlist.initURI, Self.isSegmentName(initURI) else {
                    throw FederationError(.peer, "the playlist has no initialisation segment")
                }
                let initSegment = try await client.get(base + initURI, headers: headers)
                guard initSegment.status == 200 else {
                    try await Task.sleep(for: .seconds(1))
                    continue
                }
                guard try await handle(.initialization(Data(initSegment.body))) else { return }
                sentInit = true
            }
            // Join at the newest segment, then take every one after it.
            let fresh = playlist.entries.filter { $0.sequence >= (next ?? playlist.entries.last?.sequence ?? 0) }
            for entry in fresh where Self.isSegmentName(entry.uri) {
                let segment = try await client.get(base + entry.uri, headers: headers)
                next = entry.sequence + 1
                guard segment.status == 200 else { continue }  // left the window: the next one follows
                guard try await handle(.segment(sequence: entry.sequence, duration: entry.duration, bytes: Data(segment.body))) else {
                    return
                }
            }
            try await Task.sleep(for: .seconds(max(0.5, playlist.targetDuration / 2)))
        }
    }

    /// A URI the follower fetches beside the playlist: a bare name, never a path or another host.
    static func isSegmentName(_ uri: String) -> Bool {
        !uri.isEmpty && !uri.contains("/") && !uri.contains("..") && !uri.contains(":") && !uri.contains("?")
    }

    static func isCameraID(_ text: String) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }
    }
}
