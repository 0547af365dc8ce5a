import Foundation

/// An HLS media playlist as a site serves it (``LiveFeeds/playlist(of:)``), read by a partner's client. The text
/// comes from the network: anything that is not a well-formed entry is ignored, and sizes are bounded.
public struct LivePlaylist: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        /// The segment number (HLS media sequence).
        public var sequence: Int
        public var duration: Double
        /// As written in the playlist, relative to it.
        public var uri: String
    }

    public var targetDuration: Double
    public var entries: [Entry]
    /// The `EXT-X-MAP` initialisation segment's URI, for fMP4 segments.
    public var initURI: String?

    /// Parses a playlist; nil when it is not one (no `#EXTM3U` header, or larger than 64 KiB).
    public init?(parsing text: String) {
        guard text.utf8.count <= 64 << 10 else { return nil }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard lines.first == "#EXTM3U" else { return nil }
        var sequence = 0
        var target = 2.0
        var pending: Double?
        var entries: [Entry] = []
        var initURI: String?
        for line in lines.dropFirst() {
            if let value = Self.value(of: "#EXT-X-MEDIA-SEQUENCE:", in: line) {
                // Bounded, so a client's arithmetic on numbers from the network cannot overflow.
                sequence = Int(value).map { min(max(0, $0), Self.maximumSequence) } ?? sequence
            } else if let value = Self.value(of: "#EXT-X-TARGETDURATION:", in: line) {
                target = Double(value).map { min(max($0, 0.1), 60) } ?? target
            } else if let value = Self.value(of: "#EXT-X-MAP:", in: line) {
                if let start = value.range(of: "URI=\""), let end = value[start.upperBound...].firstIndex(of: "\""),
                    end > start.upperBound, value.distance(from: start.upperBound, to: end) <= 256
                {
                    initURI = String(value[start.upperBound..<end])
                }
            } else if let value = Self.value(of: "#EXTINF:", in: line) {
                pending = Double(value.split(separator: ",", maxSplits: 1).first ?? "").flatMap {
                    $0.isFinite && $0 >= 0 ? $0 : nil
                }
            } else if !line.isEmpty, !line.hasPrefix("#") {
                if let duration = pending, line.count <= 256, entries.count < 1000 {
                    entries.append(Entry(sequence: sequence, duration: duration, uri: line))
                }
                pending = nil
                sequence = min(sequence + 1, Self.maximumSequence)
            }
        }
        targetDuration = target
        self.entries = entries
        self.initURI = initURI
    }

    /// The largest segment number read (2⁵³: decades of 2-second segments).
    public static let maximumSequence = 1 << 53

    private static func value(of tag: String, in line: String) -> Substring? {
        line.hasPrefix(tag) ? line.dropFirst(tag.count) : nil
    }
}
