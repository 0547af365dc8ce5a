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
    /// Sent by a relaying site: a site answers it 403 at once, without starting a rendition, where the grant does not
    /// allow re-sharing.
    public static let relayHeader = "Veilgate-Relay"
    /// Largest initialisation and media segment accepted (a hostile or broken site cannot make this side buffer more).
    public static let initLimit = 1 << 20
    public static let segmentLimit = 32 << 20

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

    public init(
        client: PartnerClient, camera: String, headers: [(String, String)] = [], patience: Duration = .seconds(60),
        requireReshare: Bool = false, onUnavailable: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.client = client
        self.camera = camera
        self.headers = headers
        self.patience = patience
        self.requireReshare = requireReshare
        self.onUnavailable = onUnavailable
    }

    /// Hands every chunk to `handle` until it returns false. Throws ``FederationError`` with `.refused` when the site
    /// answers anything but 200 or 503 (`HTTP 403 …`) or, with ``requireReshare``, does not allow re-sharing;
    /// `.unavailable` after ``patience`` of 503s or of no new segment; `.peer` when the playlist or a segment is
    /// malformed or too large, or the stream restarted (its numbers went back: a new initialisation segment is needed).
    public func follow(_ handle: (Chunk) async throws -> Bool) async throws {
        guard LiveStreamFollower.isCameraID(camera) else {
            throw FederationError(.invalidArgument, "'\(camera)' is not a camera id")
        }
        let base = "/v1/cameras/\(camera)/live/"
        let headers = self.headers + (requireReshare ? [(Self.relayHeader, "true")] : [])
        var next: Int?
        var unavailableSince: ContinuousClock.Instant?
        var lastSegmentAt = ContinuousClock.now
        var sentInit = false
        while true {
            let answer = try await client.get(base + "index.m3u8", headers: headers, limit: 64 << 10)
            if answer.status == 503 {  // starting or reconnecting: the site asks to come back shortly
                onUnavailable(Self.printable(answer.text))
                let since = unavailableSince ?? .now
                unavailableSince = since
                guard ContinuousClock.now - since < patience else {
                    throw FederationError(.unavailable, "\(camera) has had no live stream for \(patience)")
                }
                try await Task.sleep(for: .seconds(2))
                continue
            }
            guard answer.status == 200 else {
                throw FederationError(.refused, "HTTP \(answer.status) \(Self.printable(answer.text))")
            }
            guard let playlist = LivePlaylist(parsing: answer.text) else {
                throw FederationError(.peer, "HTTP 200 but not a playlist")
            }
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
                let initSegment = try await client.get(base + initURI, headers: headers, limit: Self.initLimit)
                guard initSegment.status == 200 else {
                    try await Task.sleep(for: .seconds(1))
                    continue
                }
                guard try await handle(.initialization(Data(initSegment.body))) else { return }
                sentInit = true
            }
            if let next, let last = playlist.entries.last?.sequence, last < next - 1 {
                // The numbers went back: the site's stream restarted, with a new encode this side must start over with.
                throw FederationError(.peer, "the live stream of \(camera) restarted")
            }
            if let last = playlist.entries.last?.sequence, last >= (next ?? 0) {
                lastSegmentAt = .now
            } else if ContinuousClock.now - lastSegmentAt > .seconds(max(30, 5 * playlist.targetDuration)) {
                // Generous: a site redacting slower than real time (an overloaded machine) still delivers, late.
                throw FederationError(.unavailable, "the live stream of \(camera) stalled")
            }
            // Join at the newest segment, then take every one after it.
            let fresh = playlist.entries.filter { $0.sequence >= (next ?? playlist.entries.last?.sequence ?? 0) }
            for entry in fresh where Self.isSegmentName(entry.uri) {
                let segment = try await client.get(base + entry.uri, headers: headers, limit: Self.segmentLimit)
                next = entry.sequence + 1
                guard segment.status == 200 else { continue }  // left the window: the next one follows
                guard
                    try await handle(
                        .segment(sequence: entry.sequence, duration: entry.duration, bytes: Data(segment.body)))
                else {
                    return
                }
            }
            try await Task.sleep(for: .seconds(max(0.5, playlist.targetDuration / 2)))
        }
    }

    /// A site's answer as it may appear in a message: the first 200 characters, control characters replaced.
    static func printable(_ text: String) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.prefix(200).map { $0.properties.generalCategory == .control ? " " : $0 }))
    }

    /// A URI the follower fetches beside the playlist: a bare name, never a path or another host.
    static func isSegmentName(_ uri: String) -> Bool {
        !uri.isEmpty && !uri.contains("/") && !uri.contains("..") && !uri.contains(":") && !uri.contains("?")
    }

    static func isCameraID(_ text: String) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }
    }
}
