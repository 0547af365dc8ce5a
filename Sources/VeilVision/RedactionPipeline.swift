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
        // A lost track whose cover has grown as far as it may asks for a detection rather than more blur.
        let triggered = !scheduled && (moved || tracker.wantsDetection(at: frame.time)) && !triggeredSinceSchedule
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
        // get faces covered without people, and a head box inside a covered person changes nothing. A person
        // whose face was found needs no head region: the face is covered as it is.
        if options.coverHeadsOfPeople, redactor.spec.classes.contains(.faces) {
            let faces = detections.filter { $0.kind == .faces }.map(\.box)
            let people = detections.filter { $0.kind == .persons }
            let withFaces = people.map(\.box).filter { Self.hasFace($0, among: faces) }
            detections += people.filter { person in
                !Self.hasFace(person.box, among: faces) && !withFaces.contains { Self.isPart(person.box, of: $0) }
            }.compactMap(Self.head)
        }
        return tracker.update(with: detections, at: frame.time)
    }

    /// Whether one of `faces` is the face of `person`: its centre in the upper half of the person's box.
    static func hasFace(_ person: Box, among faces: [Box]) -> Bool {
        faces.contains { face in
            face.centreX >= person.x1 && face.centreX <= person.x2 && face.centreY >= person.y1
                && face.centreY <= person.y1 + person.height / 2
        }
    }

    /// Whether `part` is a second, partial box of `whole` (its legs, its torso): mostly inside it and starting
    /// lower. Only asked of people whose face was found, so nobody standing in front of them loses a head region
    /// unless their own face was found too.
    static func isPart(_ part: Box, of whole: Box) -> Bool {
        let overlap = Box(x1: max(part.x1, whole.x1), y1: max(part.y1, whole.y1), x2: min(part.x2, whole.x2), y2: min(part.y2, whole.y2))
        let shared = overlap.x2 > overlap.x1 && overlap.y2 > overlap.y1 ? overlap.area : 0
        return part != whole && shared >= 0.7 * part.area && part.y1 > whole.y1 + whole.height * 0.1
    }

    /// The head region of a person box: head-sized, never the person. The top of the box (a little above it, where
    /// a box cuts the hair) down to a fifth of its height, 60 % of its width around the centre; a head is about a
    /// seventh of a standing person's height and half the width of their shoulders, so this covers a head turned,
    /// bent or a little off the box's centre line. A box wider than a standing person (several people merged into
    /// one, someone sitting or bending) gets its whole top fifth covered, since a head can be anywhere across it. A
    /// box more than 1.2 times as wide as tall (wider than three people side by side) is no person's (the network's guess at a stand of spectators,
    /// a bench, a car): it gets no head region — people in it large enough to identify are detected one by one.
    static func head(of person: Detection) -> Detection? {
        let box = person.box
        guard box.width <= box.height * 1.2 else { return nil }
        let halfWidth = box.width > box.height * 0.6 ? box.width / 2 : box.width * 0.3
        return Detection(kind: .faces, box: Box(x1: box.centreX - halfWidth, y1: box.y1 - box.height * 0.03,
                                                x2: box.centreX + halfWidth, y2: box.y1 + box.height * 0.2),
                         score: person.score)
    }
}
