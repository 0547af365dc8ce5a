public import Foundation
public import VeilCore
public import VeilMedia
public import VeilVision

// Where a camera pipeline's output goes. The pipeline knows nothing of partners, the vault or analytics: it writes
// through these three sinks, which the gateway connects to `LiveFeeds` (VeilFederation), the vault and the camera's
// analytics — and a test connects to memory.

/// The live side: which redactions partners are watching now, and their segments as the camera's clock cuts them.
/// ``LiveFeeds`` is the gateway's.
public protocol LiveSegmentSink: Sendable {
    /// The redactions partners asked for lately (a pipeline encodes exactly these live).
    func renditionsWanted(for camera: CameraID) -> Set<RedactionSpec>
    /// A rendition's initialisation segment, whenever its encode (re)starts.
    func publish(initSegment: Data, camera: CameraID, redaction: RedactionSpec)
    /// One media segment of a rendition, numbered on the camera's clock.
    func publish(segment: LiveSegment, camera: CameraID, redaction: RedactionSpec)
    /// The camera's feed starts (again) under a new pipeline.
    func open(camera: CameraID)
    /// The feed broke off: what was published so far is no longer continuous with what comes next.
    func interrupt(camera: CameraID)
    /// The camera is no longer ingested.
    func retire(camera: CameraID)
}

/// One live media segment: fragmented MP4 (`moof` + `mdat`) starting with a keyframe.
public struct LiveSegment: Sendable, Hashable {
    /// The camera's segment number: segment N of every rendition covers the same moments.
    public var sequence: Int
    public var duration: Double
    public var bytes: Data

    public init(sequence: Int, duration: Double, bytes: Data) {
        self.sequence = sequence
        self.duration = duration
        self.bytes = bytes
    }
}

/// The recording side: self-contained MP4 files, each of one category, to keep under the policy's retention.
/// The gateway's stores them in the vault (``VaultRecordingSink``).
public protocol RecordingSink: Sendable {
    /// Stores one segment. Never throws: a sink that cannot store says so in its own log and metrics, and the camera
    /// carries on (its live view must not stop because a disk filled up).
    func store(_ segment: RecordedSegment) async
}

/// One recorded segment as a camera pipeline hands it over.
public struct RecordedSegment: Sendable {
    public var camera: CameraID
    public var category: DataCategory
    /// What was redacted in it: `.unredacted` for original footage and for sound.
    public var redaction: RedactionSpec
    public var start: Date
    public var end: Date
    /// A whole MP4 file (initialisation segment and fragments, or an audio MP4).
    public var bytes: Data

    public init(camera: CameraID, category: DataCategory, redaction: RedactionSpec, start: Date, end: Date, bytes: Data)
    {
        self.camera = camera
        self.category = category
        self.redaction = redaction
        self.start = start
        self.end = end
        self.bytes = bytes
    }
}

/// The analysis side: every frame's tracked objects, with their stable track ids, as the redaction tracker follows
/// them. The gateway's runs the camera's analytics (``CameraAnalyticsSink``).
///
/// Called on the camera's own thread, once per frame in order; it must return quickly (the camera waits).
public protocol TrackSink: Sendable {
    func observe(_ frame: TrackedFrame)
    /// What the sink does, to tell whether two pipelines of one camera are the same (compared in memory only).
    var fingerprint: String { get }
    /// What the tracker must detect for it, whatever the renditions hide: people by default.
    var detects: Set<RedactionClass> { get }
    /// Whether it listens to the camera's sound (``TrackedFrame/audio``): the source then passes its audio on.
    var hearsAudio: Bool { get }
}

extension TrackSink {
    public var detects: Set<RedactionClass> { [.persons] }
    public var hearsAudio: Bool { false }
}

/// One frame's tracks.
public struct TrackedFrame: Sendable {
    public var camera: CameraID
    /// Stream time of the frame, in seconds.
    public var time: Double
    /// Wall-clock time of stream time 0: `origin + time` is when the frame was seen.
    public var origin: Date
    public var width: Int
    public var height: Int
    /// Every track the tracker holds, seen in this frame or coasting (``RedactionTracker/Covered/unseenFor``).
    public var tracks: [RedactionTracker.Covered]
    /// The frame itself, privacy masks painted and nothing else yet — for an alert's snapshot, which the sink redacts
    /// in a copy of its own before anything leaves. Valid only during ``TrackSink/observe(_:)``: keep a copy, never the
    /// frame (the pipeline paints it next).
    public var picture: VideoFrame?
    /// The sound demuxed since the previous frame, compressed as it came (``TrackSink/hearsAudio``), else empty.
    public var audio: [AudioPacket]

    public init(
        camera: CameraID, time: Double, origin: Date, width: Int, height: Int, tracks: [RedactionTracker.Covered],
        picture: VideoFrame? = nil, audio: [AudioPacket] = []
    ) {
        self.picture = picture
        self.audio = audio
        self.camera = camera
        self.time = time
        self.origin = origin
        self.width = width
        self.height = height
        self.tracks = tracks
    }
}
