public import Foundation
import Synchronization
public import VeilCore

/// Live video for partners: per camera, the last few HLS segments of each redaction it is being watched with.
///
/// The two sides never meet directly. A camera pipeline (run by the executable, which alone sees both media and
/// federation) asks ``renditionsWanted(for:)`` as it goes and ``publish(_:camera:redaction:)``es a segment per
/// rendition each time its segment clock ticks. The partner API asks for a rendition with
/// ``request(camera:redaction:)``, which also records the demand, so a pipeline only redacts and encodes for audiences
/// someone is watching, and stops a rendition nobody has asked for in ``idleAfter`` seconds.
///
/// Segment numbers come from the camera's clock, not the rendition's, so segment N of every rendition covers the
/// same moments, and a partner may be served N from a stricter rendition than N−1 without a gap.
public final class LiveFeeds: Sendable {
    /// One HLS media segment (fragmented MP4: `moof` + `mdat`, starting with a keyframe).
    public struct Segment: Sendable, Hashable {
        public var sequence: Int
        public var duration: Double
        public var bytes: Data

        public init(sequence: Int, duration: Double, bytes: Data) {
            self.sequence = sequence
            self.duration = duration
            self.bytes = bytes
        }
    }

    /// What a partner asking for a camera's live stream gets.
    public enum Selection: Sendable, Equatable {
        /// The gateway runs no pipeline for this camera (no source, or live disabled).
        case noPipeline
        /// The rendition is being started (or the camera is reconnecting): no segment yet.
        case warmingUp
        /// The rendition to serve: the asked-for redaction or a stricter one, with its segments, oldest first.
        case ready(RedactionSpec, [Segment])
    }

    struct Rendition {
        /// `ftyp` + `moov` of the rendition's encode, which every segment needs first.
        var initSegment: Data?
        var segments: [Segment] = []
        var lastDemand: Date
    }

    struct Feed {
        var renditions: [RedactionSpec: Rendition] = [:]
    }

    /// Segments kept per rendition: the playlist lists the newest ``segmentsListed``; the older ones stay
    /// fetchable for a player that read the previous playlist.
    public let segmentsKept: Int
    public let segmentsListed: Int
    /// A rendition nobody asked for in this many seconds is stopped.
    public let idleAfter: TimeInterval
    private let feeds: Mutex<[CameraID: Feed]>
    private let clock: @Sendable () -> Date

    public init(
        cameras: [CameraID], segmentsKept: Int = 6, segmentsListed: Int = 4, idleAfter: TimeInterval = 60,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.segmentsKept = max(segmentsListed, segmentsKept)
        self.segmentsListed = max(1, segmentsListed)
        self.idleAfter = idleAfter
        self.clock = clock
        feeds = Mutex(Dictionary(uniqueKeysWithValues: cameras.map { ($0, Feed()) }))
    }

    /// The cameras with a pipeline.
    public var cameras: [CameraID] { feeds.withLock { $0.keys.sorted() } }

    // MARK: Pipeline side

    /// The redactions someone watched this camera with in the last ``idleAfter`` seconds. Renditions idle for
    /// longer are forgotten here, segments and all.
    public func renditionsWanted(for camera: CameraID) -> Set<RedactionSpec> {
        let now = clock()
        return feeds.withLock { feeds in
            guard var feed = feeds[camera] else { return [] }
            feed.renditions = feed.renditions.filter { now.timeIntervalSince($0.value.lastDemand) <= idleAfter }
            feeds[camera] = feed
            return Set(feed.renditions.keys)
        }
    }

    /// Sets a rendition's initialisation segment (when its encoder starts).
    public func publish(initSegment: Data, camera: CameraID, redaction: RedactionSpec) {
        feeds.withLock { feeds in
            guard feeds[camera]?.renditions[redaction] != nil else { return }
            feeds[camera]!.renditions[redaction]!.initSegment = initSegment
        }
    }

    /// Adds a finished segment to a rendition (ignored if the rendition was stopped meanwhile).
    public func publish(_ segment: Segment, camera: CameraID, redaction: RedactionSpec) {
        feeds.withLock { feeds in
            guard var rendition = feeds[camera]?.renditions[redaction] else { return }
            rendition.segments.append(segment)
            if rendition.segments.count > segmentsKept {
                rendition.segments.removeFirst(rendition.segments.count - segmentsKept)
            }
            feeds[camera]!.renditions[redaction] = rendition
        }
    }

    /// The source dropped: what was published no longer continues, so players wait for the reconnect
    /// instead of replaying stale segments.
    public func interrupt(camera: CameraID) {
        feeds.withLock { feeds in
            guard var feed = feeds[camera] else { return }
            for spec in feed.renditions.keys { feed.renditions[spec]!.segments = [] }
            feeds[camera] = feed
        }
    }

    /// A camera gets a pipeline (at start-up, or when a reloaded policy adds it).
    public func open(camera: CameraID) {
        feeds.withLock { feeds in
            if feeds[camera] == nil { feeds[camera] = Feed() }
        }
    }

    /// The camera's pipeline has stopped for good (a model missing, say): partners get 503 at once instead of
    /// waiting for segments that will not come.
    public func retire(camera: CameraID) {
        _ = feeds.withLock { $0.removeValue(forKey: camera) }
    }

    // MARK: Partner side

    /// Records that a partner watches `camera` with at least `redaction`, and picks what to serve: the exact
    /// rendition when it has segments, else the least strict rendition that is still at least as protective.
    public func request(camera: CameraID, redaction: RedactionSpec) -> Selection {
        let now = clock()
        return feeds.withLock { feeds in
            guard var feed = feeds[camera] else { return .noPipeline }
            feed.renditions[redaction, default: Rendition(lastDemand: now)].lastDemand = now
            feeds[camera] = feed
            let candidates = feed.renditions
                .filter {
                    !$0.value.segments.isEmpty && $0.value.initSegment != nil
                        && $0.key.isAtLeastAsProtective(as: redaction)
                }
                .sorted { Self.strictness($0.key) < Self.strictness($1.key) }
            if let exact = feed.renditions[redaction], !exact.segments.isEmpty, exact.initSegment != nil {
                return .ready(redaction, exact.segments)
            }
            guard let best = candidates.first else { return .warmingUp }
            return .ready(best.key, best.value.segments)
        }
    }

    /// One segment by number, from the asked-for rendition or a stricter one.
    public func segment(camera: CameraID, redaction: RedactionSpec, sequence: Int) -> Segment? {
        guard case .ready(let spec, _) = request(camera: camera, redaction: redaction) else { return nil }
        return feeds.withLock { feeds in
            if let segment = feeds[camera]?.renditions[spec]?.segments.first(where: { $0.sequence == sequence }) {
                return segment
            }
            // Not in the chosen rendition (it started later): any other rendition that is protective enough.
            for (other, rendition) in feeds[camera]?.renditions ?? [:] where other.isAtLeastAsProtective(as: redaction)
            {
                if let segment = rendition.segments.first(where: { $0.sequence == sequence }) { return segment }
            }
            return nil
        }
    }

    /// The initialisation segment of the rendition a partner with `redaction` is served.
    public func initSegment(camera: CameraID, redaction: RedactionSpec) -> Data? {
        guard case .ready(let spec, _) = request(camera: camera, redaction: redaction) else { return nil }
        return feeds.withLock { $0[camera]?.renditions[spec]?.initSegment }
    }

    /// An HLS media playlist (RFC 8216, version 7: fMP4 segments after the `EXT-X-MAP` initialisation segment) of
    /// the newest segments; URIs are relative (`init.mp4`, `N.m4s`), so they resolve beside the playlist.
    public func playlist(of segments: [Segment]) -> String {
        let listed = segments.suffix(segmentsListed)
        let target = Int((listed.map(\.duration).max() ?? 1).rounded(.up))
        var text = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:\(target)\n"
        text += "#EXT-X-MEDIA-SEQUENCE:\(listed.first?.sequence ?? 0)\n#EXT-X-MAP:URI=\"init.mp4\"\n"
        var previous: Int?
        for segment in listed {
            if let previous, segment.sequence != previous + 1 { text += "#EXT-X-DISCONTINUITY\n" }
            text += String(format: "#EXTINF:%.3f,\n", segment.duration) + "\(segment.sequence).m4s\n"
            previous = segment.sequence
        }
        return text
    }

    /// Orders renditions from least to most revealing-proof: more classes, then stronger mode and shape.
    static func strictness(_ spec: RedactionSpec) -> Int {
        spec.classes.count * 100 + spec.mode.strength * 10 + spec.shape.strength
    }
}
