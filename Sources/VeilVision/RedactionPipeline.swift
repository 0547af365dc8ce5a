public import VeilCore

/// Detect → track → redact, one frame at a time: the building block the gateway runs once per camera and
/// audience, and that `veilgate redact` drives over files.
///
/// `@unchecked Sendable`: a pipeline belongs to one camera task; its detectors are not shared.
public final class RedactionPipeline: @unchecked Sendable {
    public struct Options: Sendable {
        /// Run the detectors on every Nth frame; the tracker carries boxes in between.
        public var detectEvery: Int
        /// Cover the heads of detected people, for faces too small for the face detector (wide CCTV shots).
        public var coverHeadsOfPeople: Bool
        /// Also detect at once, between scheduled detections, when something new starts moving (``MotionTrigger``).
        public var detectOnMotion: Bool
        public var tracker: RedactionTracker.Configuration

        public init(detectEvery: Int = 1, coverHeadsOfPeople: Bool = true, detectOnMotion: Bool = true,
                    tracker: RedactionTracker.Configuration = RedactionTracker.Configuration())
        {
            self.detectEvery = max(1, detectEvery)
            self.coverHeadsOfPeople = coverHeadsOfPeople
            self.detectOnMotion = detectOnMotion
            self.tracker = tracker
        }
    }

    public let redactor: Redactor
    public let options: Options
    private let detectors: [any ObjectDetector]
    private var tracker: RedactionTracker
    public private(set) var framesProcessed = 0
    public private(set) var detectionsPerClass: [RedactionClass: Int] = [:]
    /// Detections run because something new moved, between scheduled ones.
    public private(set) var detectionsOnMotion = 0
    private let motion = MotionTrigger()
    private var framesSinceDetection = 0
    private var triggeredSinceSchedule = false
    public var tracksStarted: Int { tracker.tracksStarted }

    public init(spec: RedactionSpec, detectors: [any ObjectDetector], options: Options = Options()) {
        redactor = Redactor(spec: spec)
        self.detectors = detectors
        self.options = options
        tracker = RedactionTracker(configuration: options.tracker)
    }

    /// Redacts a frame in place; returns the boxes covered in it.
    @discardableResult
    public func process(_ frame: any YUVImage) throws -> [RedactionTracker.Covered] {
        let covered = try track(frame)
        redactor.apply(to: frame, boxes: covered.map { ($0.kind, $0.box) })
        return covered.filter { redactor.spec.classes.contains($0.kind) }
    }

    /// Detects (on every Nth frame) and tracks, without painting: every box to cover in this frame, of every
    /// class the detectors find. A camera with several audiences tracks once and paints each audience's copy
    /// of the frame with its own ``Redactor``.
    public func track(_ frame: any YUVImage) throws -> [RedactionTracker.Covered] {
        defer { framesProcessed += 1 }
        let scheduled = framesProcessed == 0 || framesSinceDetection + 1 >= options.detectEvery
        let covered = scheduled ? [] : tracker.covered(at: frame.time)
        // The trigger sees every frame (it compares each with the one before); it may add one detection per scheduled
        // interval, so it can double the detectors' work, never more.
        let moved = options.detectOnMotion && motion.somethingNew(in: frame, outside: covered.map(\.box))
        let triggered = !scheduled && moved && !triggeredSinceSchedule
        guard scheduled || triggered else {
            framesSinceDetection += 1
            return covered
        }
        if triggered { detectionsOnMotion += 1 }
        triggeredSinceSchedule = triggered
        framesSinceDetection = 0
        var detections: [Detection] = []
        for detector in detectors { detections += try detector.detect(in: frame) }
        for detection in detections { detectionsPerClass[detection.kind, default: 0] += 1 }
        // Heads are added even when whole people are covered too: another audience of the same camera may
        // get faces covered without people, and a head box inside a covered person changes nothing.
        if options.coverHeadsOfPeople, redactor.spec.classes.contains(.faces) {
            detections += detections.filter { $0.kind == .persons }.map(Self.head)
        }
        return tracker.update(with: detections, at: frame.time)
    }

    /// The head region of a person box: the top third, the middle 80 % across, reaching a little above the
    /// box. Generous on purpose: person boxes are loose about where the head is (SSD boxes hug the body,
    /// HOG's are padded), and a head turned, bent or half out of the box must stay covered.
    static func head(of person: Detection) -> Detection {
        let box = person.box
        return Detection(kind: .faces, box: Box(x1: box.x1 - box.width * 0.10, y1: box.y1 - box.height * 0.15,
                                                x2: box.x2 + box.width * 0.10, y2: box.y1 + box.height * 0.35),
                         score: person.score)
    }
}
