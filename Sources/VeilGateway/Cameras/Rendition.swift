import Foundation
import VeilCore
import VeilMedia
import VeilVision

/// One audience's encode of a camera: frames redacted as `redaction` says, encoded once as H.264 into fragmented MP4
/// and cut into segments on the camera's clock. Watched live, recorded, or both (two partners with the same grant,
/// and the vault's copy with the same redaction, are the same encode).
struct Rendition {
    let redaction: RedactionSpec
    let redactor: Redactor
    /// Started at the first frame, and again after a failed cut (the encode is then in an unknown state).
    private(set) var encoder: FragmentedMP4Stream?
    /// Time of the first frame in the current segment.
    private(set) var segmentStart: Double?
    /// Partners watch it live.
    var live = false
    /// What the vault keeps of it; nil when nothing is recorded from it.
    var recording: VideoRecordingBatch?

    init(redaction: RedactionSpec) {
        self.redaction = redaction
        redactor = Redactor(spec: redaction)
    }

    /// The initialisation segment of the running encode (nil before the first frame).
    var initSegment: Data? { encoder?.initSegment }

    /// Encodes one (already redacted) picture. Returns the initialisation segment when this picture started a new
    /// encode, for live viewers.
    mutating func encode(_ picture: VideoFrame, settings: EncoderSettings) throws -> Data? {
        var started: Data?
        if encoder == nil {
            // The nominal rate only sizes libx264's rate control; timestamps come from the frames.
            let stream = try FragmentedMP4Stream(
                width: picture.width, height: picture.height, frameRate: 25, settings: settings)
            encoder = stream
            started = stream.initSegment
        }
        if segmentStart == nil { segmentStart = picture.time }
        try encoder?.write(picture)
        return started
    }

    /// Ends the current segment: its bytes and the time of its first frame, or nil when it holds no frame. After a
    /// failed cut the encode is in an unknown state: call ``restartEncode()``.
    mutating func cut() throws -> (bytes: Data, start: Double)? {
        guard let encoder, let start = segmentStart else { return nil }
        segmentStart = nil
        guard let bytes = try encoder.cut() else { return nil }
        return (bytes, start)
    }

    /// Drops the encode; the next frame starts a new one, with a new initialisation segment.
    mutating func restartEncode() {
        encoder = nil
        segmentStart = nil
    }
}

/// The renditions a camera encodes: exactly those partners are watching (``LiveSegmentSink/renditionsWanted(for:)``)
/// and those the vault records. Kept in a fixed order (by redaction) so the frame can be handed, unpainted, to the
/// last one without a copy.
struct RenditionSet {
    private(set) var members: [Rendition] = []

    /// What one ``adopt(wanted:recorded:segmentDuration:)`` changed, for the log and for live viewers.
    enum Change {
        case started(RedactionSpec, live: Bool)
        case stopped(RedactionSpec)
        /// A recorded encode that partners now watch too: they need its initialisation segment.
        case nowLive(RedactionSpec, initSegment: Data)
    }

    var isEmpty: Bool { members.isEmpty }
    var redactions: [RedactionSpec] { members.map(\.redaction) }
    /// The classes any member covers: what detection has to find.
    var classes: Set<RedactionClass> { members.reduce(into: []) { $0.formUnion($1.redaction.classes) } }

    /// Whether the set is what `wanted` (live) and `recorded` (redaction → vault categories) call for.
    func matches(wanted: Set<RedactionSpec>, recorded: [RedactionSpec: [DataCategory]]) -> Bool {
        Set(redactions) == wanted.union(recorded.keys)
            && members.allSatisfy { $0.live == wanted.contains($0.redaction) }
    }

    /// Starts and stops renditions to match live demand and recording.
    mutating func adopt(
        wanted: Set<RedactionSpec>, recorded: [RedactionSpec: [DataCategory]], segmentDuration: Double
    ) -> [Change] {
        let needed = wanted.union(recorded.keys)
        var changes: [Change] = members.filter { !needed.contains($0.redaction) }.map { .stopped($0.redaction) }
        members.removeAll { !needed.contains($0.redaction) }
        for redaction in needed where !members.contains(where: { $0.redaction == redaction }) {
            members.append(Rendition(redaction: redaction))
            changes.append(.started(redaction, live: wanted.contains(redaction)))
        }
        members.sort { $0.redaction.description < $1.redaction.description }
        for index in members.indices {
            let redaction = members[index].redaction, live = wanted.contains(redaction)
            if live, !members[index].live, let initSegment = members[index].initSegment {
                changes.append(.nowLive(redaction, initSegment: initSegment))
            }
            members[index].live = live
            let categories = (recorded[redaction] ?? []).sorted { $0.rawValue < $1.rawValue }
            if categories.isEmpty {
                members[index].recording = nil
            } else if members[index].recording?.categories != categories {
                members[index].recording = VideoRecordingBatch(categories: categories, duration: segmentDuration)
            }
        }
        return changes
    }

    subscript(index: Int) -> Rendition {
        get { members[index] }
        set { members[index] = newValue }
    }

    var indices: Range<Int> { members.indices }
}
