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
        /// Look for plates on every Nth scheduled detection only — and on every pass triggered by something new moving
        /// or by a plate's track, and on every pass while a plate is seen moving (not on passes lost people ask for). A
        /// parked car's plate stays where it is, and its cover stays until passes that looked for plates have missed
        /// it; the plate detector is the costliest of the default profile's (112 ms a 720p frame on one core, against
        /// 15 for faces in video). A pipeline short of CPU (economising) looks on every 2Nth.
        public var plateEvery: Int
        public var tracker: RedactionTracker.Configuration
        /// Economise on every pass, as a camera short of CPU does after putting off a detection (``track(_:behind:)``):
        /// the people detector looks at part of its tile grid per pass, and plates are looked for on a frame of their
        /// own.
        public var economical: Bool

        public init(
            detectEvery: Int = 1, coverHeadsOfPeople: Bool = true, detectOnMotion: Bool = true, plateEvery: Int = 2,
            tracker: RedactionTracker.Configuration = RedactionTracker.Configuration(), economical: Bool = false
        ) {
            self.economical = economical
            self.detectEvery = max(1, detectEvery)
            self.coverHeadsOfPeople = coverHeadsOfPeople
            self.detectOnMotion = detectOnMotion
            self.plateEvery = max(1, plateEvery)
            self.tracker = tracker
        }
    }

    public let redactor: Redactor
    public let options: Options
    private let detectors: [any ObjectDetector]
    /// The face network's input width (nil without a face detector): which people are too small for it.
    private let faceInputWidth: Int?
    /// The people detector, which knows which parts of the frame it looked at closely (its tiles).
    private let people: PersonDetector?
    private var tracker: RedactionTracker
    public private(set) var framesProcessed = 0
    public private(set) var detectionsPerClass: [RedactionClass: Int] = [:]
    /// Detections run because something new moved, between scheduled ones.
    public private(set) var detectionsOnMotion = 0
    /// Frames the detectors ran on (scheduled or on motion).
    public private(set) var detectionPasses = 0
    /// Passes that looked for each class.
    public private(set) var passesPerClass: [RedactionClass: Int] = [:]
    private var scheduledPasses = 0
    /// What the detectors found the last time they ran (before head regions are derived), for diagnostics.
    public private(set) var lastDetections: [Detection] = []
    private let motion = MotionTrigger()
    private var framesSinceDetection = 0
    private var triggeredSinceSchedule = false
    /// Something new moved while detection was put off: the next pass the camera can afford looks for it.
    private var pendingTrigger = false
    /// Wall-clock seconds each detector took, by its type's name (for benchmarks and `--verbose`).
    public private(set) var secondsPerDetector: [String: Double] = [:]
    /// Frames on which a due detection was put off because the camera was behind real time (``track(_:behind:)``).
    public private(set) var framesDeferred = 0
    /// A pass left plates for the next frame the camera can afford (``Options/economical``).
    private var platesOwed = false
    /// The plate detector, if the pipeline has one.
    private let plateDetector: (any ObjectDetector)?
    /// When (video time) a detection was last put off.
    private var lastDeferred: Double?
    /// How long after a detection was put off the pipeline economises (seconds of video).
    static let economyFor = 5.0
    public var tracksStarted: Int { tracker.tracksStarted }

    /// Detection passes in a line, for benchmarks and `--verbose` output: how many, how many on motion, per class.
    public var passSummary: String {
        let classes = passesPerClass.sorted { $0.key.rawValue < $1.key.rawValue }.map {
            "\($0.key.rawValue) \($0.value)"
        }
        return "\(detectionPasses) passes (\(detectionsOnMotion) triggered; \(classes.joined(separator: ", ")))"
    }

    public init(spec: RedactionSpec, detectors: [any ObjectDetector], options: Options = Options()) {
        redactor = Redactor(spec: spec)
        self.detectors = detectors
        faceInputWidth = detectors.lazy.compactMap { ($0 as? FaceDetector)?.inputWidth }.first
        people = detectors.lazy.compactMap { $0 as? PersonDetector }.first
        plateDetector = detectors.first { $0.classes == [.plates] }
        self.options = options
        tracker = RedactionTracker(configuration: options.tracker)
    }

    /// Redacts a frame in place; returns the boxes covered in it. `behind`: as for ``track(_:behind:)``.
    @discardableResult
    public func process(_ frame: any YUVImage, behind: Bool = false) throws -> [RedactionTracker.Covered] {
        let covered = try track(frame, behind: behind)
        redactor.apply(to: frame, boxes: covered.map { ($0.kind, $0.box) })
        return covered.filter { redactor.spec.classes.contains($0.kind) }
    }

    /// Detects (on every Nth frame) and tracks, without painting: every box to cover in this frame, of every
    /// class the detectors find. A camera with several audiences tracks once and paints each audience's copy
    /// of the frame with its own ``Redactor``.
    ///
    /// `behind`: the camera is behind real time (a live pipeline sharing the cores with others). A detection due on
    /// this frame is then put off until the camera has caught up — the detection rate follows the CPU there is, and
    /// no frame waits for a pass it cannot afford. Failing closed all the same: every cover stays (a pass that does
    /// not run misses nothing, so nothing is uncovered), and something new that moved meanwhile is looked for by the
    /// first pass that runs. The first frame is always looked at.
    public func track(_ frame: any YUVImage, behind: Bool = false) throws -> [RedactionTracker.Covered] {
        defer { framesProcessed += 1 }
        let scheduled = framesProcessed == 0 || framesSinceDetection + 1 >= options.detectEvery
        let covered = tracker.covered(at: frame.time)
        // Something new moved while detection was put off: the pass that runs looks for it as a triggered one would.
        let movedWhileDeferred = pendingTrigger
        // The trigger sees every frame (it compares each with the one before); it may add one detection per scheduled
        // interval, so it can double the detectors' work, never more.
        let moved =
            (options.detectOnMotion && motion.somethingNew(in: frame, outside: covered.map(\.box))) || pendingTrigger
        // A pass short of CPU left plates for a frame of their own: their turn comes first, on the first frame the
        // camera can afford it (a pass due meanwhile waits a frame, its covers kept).
        if platesOwed, framesProcessed > 0, let plates = plateDetector {
            framesSinceDetection += 1
            pendingTrigger = moved
            guard !behind else {
                framesDeferred += 1
                lastDeferred = frame.time
                return covered
            }
            platesOwed = false
            let found = try timed(plates, on: frame)
            detectionPasses += 1
            passesPerClass[.plates, default: 0] += 1
            detectionsPerClass[.plates, default: 0] += found.count
            return tracker.update(with: found, at: frame.time, lookedFor: [.plates])
        }
        // A lost track whose cover has grown as far as it may asks for a detection rather than more blur.
        let wanting = scheduled ? [] : tracker.kindsWantingDetection(at: frame.time)
        let triggered = !scheduled && (moved || !wanting.isEmpty) && !triggeredSinceSchedule
        guard scheduled || triggered else {
            framesSinceDetection += 1
            return covered
        }
        if behind, framesProcessed > 0 {
            framesDeferred += 1
            lastDeferred = frame.time
            pendingTrigger = moved
            framesSinceDetection += 1
            return covered
        }
        pendingTrigger = false
        // Short of CPU lately: the people detector looks at part of its tile grid per pass, and plates wait for a frame
        // of their own, so that no one frame holds the camera up for long and it catches up sooner.
        let economical =
            options.economical
            || lastDeferred.map { frame.time >= $0 && frame.time - $0 < Self.economyFor } ?? false
        people?.economical = economical
        if triggered { detectionsOnMotion += 1 }
        triggeredSinceSchedule = triggered
        framesSinceDetection = 0
        if !triggered { scheduledPasses += 1 }
        // A pass asked for by lost people and faces does not look for plates (nine in ten triggered passes are, on a
        // busy pavement; the plate network is the costliest): one triggered by something new moving does (a car
        // arriving), as does one a plate asked for, one that runs after something new moved while passes were put off,
        // every other scheduled one, and every one while a plate moves. Short of CPU, every fourth scheduled one: a
        // still plate's cover stays until passes that looked for it miss it, so looking less often uncovers nothing,
        // and at four cameras on two cores the plate passes saved took the alerts' p99 tail under 500 ms
        // (`VeilBench cameras`; the figures are in docs/analytics.md).
        let platesDue =
            (triggered && (moved || wanting.contains(.plates))) || movedWhileDeferred
            || (!triggered && (scheduledPasses - 1) % (options.plateEvery * (economical ? 2 : 1)) == 0)
            || tracker.hasMovingTrack(of: .plates)
        var detections: [Detection] = []
        var lookedFor = Set<RedactionClass>()
        platesOwed = economical && platesDue && detectors.count > 1 && framesProcessed > 0
        var moving: [Detection] = []
        for detector in detectors {
            if detector.classes == [.plates], !platesDue || platesOwed { continue }
            if detector is MotionDetector {
                moving = try timed(detector, on: frame)
            } else {
                detections += try timed(detector, on: frame)
            }
            lookedFor.formUnion(detector.classes)
        }
        // What moves is covered as a person where the network found nobody there; a moving region the people it
        // found explain (a group walking, found one by one) would only add a head region as wide as the group, which
        // lingered over the ground they had left.
        let found = detections.filter { $0.kind == .persons }.map(\.box)
        detections += moving.filter { !Self.isExplained($0.box, by: found) }
        for kind in lookedFor { passesPerClass[kind, default: 0] += 1 }
        lastDetections = detections
        detectionPasses += 1
        for detection in detections { detectionsPerClass[detection.kind, default: 0] += 1 }
        // Heads are added even when whole people are covered too: another audience of the same camera may
        // get faces covered without people, and a head box inside a covered person changes nothing.
        if options.coverHeadsOfPeople, redactor.spec.classes.contains(.faces) {
            let faces = detections.filter { $0.kind == .faces }.map(\.box)
            let people = detections.filter { $0.kind == .persons }
            let withFaces = people.compactMap { person in
                Self.face(of: person.box, among: faces).map { (person: person, face: $0) }
            }
            // A person's own head region gives way to their face only where the face is large enough for the detector
            // to be sure where it is; a face of a few pixels in a wide shot may be a shoulder or half the head.
            let sure = withFaces.filter { $0.face.height >= Self.sureFaceHeight }
            // Head regions stand in for faces too small for the face network: a person tall enough that their face
            // would be found (a head of 24 px or more at the network's input) gets none — a close-up's face is found
            // and covered as a face, and a head seen from behind identifies no one.
            let largest = faceInputWidth.map { Self.headedPersonLimit * Double(frame.width) / Double($0) } ?? .infinity
            detections += people.filter { person in
                person.box.height < largest && !sure.contains { $0.person == person }
                    && !sure.contains { Self.isPart(person.box, of: $0.person.box) }
            }.compactMap(Self.head)
            // A face found in a person is covered with the rest of its head: hair, ears, the brow a detector's box
            // leaves out — within the head-sized allowance around a face.
            detections += Set(withFaces.map(\.face)).map {
                Detection(kind: .faces, box: Self.head(around: $0), score: 1)
            }
        }
        // Heads derived from people count as faces looked for: only a pass that looked for faces and people can miss
        // one.
        if lookedFor.contains(.persons) { lookedFor.insert(.faces) }
        let people = self.people
        return tracker.update(with: detections, at: frame.time, lookedFor: lookedFor) { kind, box in
            switch kind {
            case .plates: true
            // Whether a head was looked at closely enough is a question about its person: a head region of someone the
            // whole frame finds is missed by every pass that misses them, not only by those that look at their tile.
            case .faces: people?.lookedClosely(at: Self.person(ofHead: box)) ?? true
            default: people?.lookedClosely(at: box) ?? true
            }
        }
    }

    /// A standing person's head region (``head(of:)``), in fractions of the person's box: from this far above its top,
    /// to this far down it, this far either side of its centre.
    static let headAbove = 0.15, headBelow = 0.27, headHalfWidth = 0.42

    /// The person a head region (``head(of:)``) was made from: its box is the top 42 % of the person's height (15 %
    /// above the box to 27 % down) and 84 % of the person's width. For a face's head (``head(around:)``), smaller
    /// against its person, this is a smaller person than the real one: a pass is taken to have looked at it only where
    /// it looked at people that small.
    static func person(ofHead head: Box) -> Box {
        let height = head.height / (headAbove + headBelow), width = head.width / (2 * headHalfWidth)
        let top = head.y1 + headAbove * height
        return Box(x1: head.centreX - width / 2, y1: top, x2: head.centreX + width / 2, y2: top + height)
    }

    /// Runs one detector on the frame, adding its time to ``secondsPerDetector``.
    private func timed(_ detector: any ObjectDetector, on frame: any YUVImage) throws -> [Detection] {
        let started = ContinuousClock.now
        defer {
            secondsPerDetector[String(describing: type(of: detector)), default: 0] +=
                (ContinuousClock.now - started).inSeconds
        }
        return try detector.detect(in: frame)
    }

    /// The tallest person, in pixels at the face network's input, whose head is covered by a head region: a head is a
    /// seventh of a person, and CenterFace finds faces of 24 px and more at its input reliably.
    static let headedPersonLimit = 7.0 * 24

    /// The height from which a face found in a person replaces the person's head region (pixels).
    static let sureFaceHeight = 20.0

    /// The face of `person` among `faces`: its centre in the upper half of the person's box, and as wide as a face of
    /// that body could be (0.15 of the shoulders' width or more — the box's width, or 0.4 of its height for a box wider
    /// than a standing person: arms out, a group). A smaller "face" — a print on a jacket, a distant face behind —
    /// leaves the person's head region in place.
    static func face(of person: Box, among faces: [Box]) -> Box? {
        faces.first { face in
            face.centreX >= person.x1 && face.centreX <= person.x2 && face.centreY >= person.y1
                && face.centreY <= person.y1 + person.height / 2
                && face.width >= min(person.width, person.height * 0.4) * 0.15
        }
    }

    /// The head around a face: 1.5 × its width, from 0.4 of its height above it (hair) to a tenth below (chin) —
    /// inside the 2× allowance around a face that the collateral measure grants.
    static func head(around face: Box) -> Box {
        Box(
            x1: face.centreX - face.width * 0.75, y1: face.y1 - face.height * 0.4, x2: face.centreX + face.width * 0.75,
            y2: face.y2 + face.height * 0.1)
    }

    /// Whether `part` is a second, partial box of `whole` (its legs, its torso): mostly inside it and starting
    /// lower. Only asked of people whose face was found, so nobody standing in front of them loses a head region
    /// unless their own face was found too.
    static func isPart(_ part: Box, of whole: Box) -> Bool {
        part != whole && part.fraction(inside: whole) >= 0.7 && part.y1 > whole.y1 + whole.height * 0.1
    }

    /// Whether a moving region is explained by the people found in it: half its area or more lies in person boxes
    /// that are mostly (60 %) inside it.
    static func isExplained(_ region: Box, by people: [Box]) -> Bool {
        guard region.area > 0 else { return true }
        let inside = people.filter { $0.fraction(inside: region) >= 0.6 }
        return inside.map { $0.overlapArea(region) }.reduce(0, +) >= 0.5 * region.area
    }

    /// The head region of a person box: the top of the person, never the whole. From 15 % of its height above the box
    /// (a detector's box often starts at the brow or the shoulders) down to 27 % of it, 84 % of its width around the
    /// centre; a head is about a seventh of a standing person's height and half the width of their shoulders, but a
    /// detector's box is loose about where the head is (vtest: a region down to a fifth and 60 % wide left heads partly
    /// visible). A box wider than a standing
    /// person (several people merged into one, someone sitting or bending) gets its whole top band covered (a tenth
    /// above the box to 22 % down), since a head can be anywhere across it. A box more than 1.2 times as wide as tall
    /// (wider than three people side by side) is no person's (the network's guess at a stand of spectators, a bench, a
    /// car): it gets no head region — people in it large enough to identify are detected one by one.
    static func head(of person: Detection) -> Detection? {
        let box = person.box
        guard box.width <= box.height * 1.2 else { return nil }
        // A group's band: its heads are at its top, but its box is as loose as one person's, so less above and below.
        let group = box.width > box.height * 0.6
        let halfWidth = group ? box.width / 2 : box.width * Self.headHalfWidth
        let above = box.height * (group ? 0.1 : Self.headAbove), below = box.height * (group ? 0.22 : Self.headBelow)
        return Detection(
            kind: .faces,
            box: Box(
                x1: box.centreX - halfWidth, y1: box.y1 - above, x2: box.centreX + halfWidth,
                y2: box.y1 + below),
            score: person.score, isFallback: person.isFallback)
    }
}
