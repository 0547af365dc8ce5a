public import Foundation
import Synchronization
public import VeilCore
public import VeilMedia
public import VeilVault
public import VeilVision

/// The person a subject-access request is about, as the DPO points at them: a point on the person at a moment, or a
/// person's track number from a first run's `--detections` list.
public struct SubjectSelection: Sendable, Hashable, CustomStringConvertible {
    public enum Target: Sendable, Hashable {
        /// A point on the person (normalised 0–1 when both coordinates are at most 1, else pixels) at a moment.
        case point(x: Double, y: Double, at: Date)
        /// A person's track, numbered as the `--detections` list of the same footage numbers them.
        case track(Int)
    }

    public var target: Target

    public init(_ target: Target) { self.target = target }

    /// Parses `X,Y@TIME` (TIME an ISO 8601 time, or seconds after `rangeStart` written `+12.5`) or `track:N`.
    public static func parse(_ text: String, rangeStart: Date) throws -> SubjectSelection {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("track:") {
            guard let number = Int(trimmed.dropFirst("track:".count)), number >= 0 else {
                throw GatewayError(.invalidConfiguration, "--select \(trimmed): a track is written track:N")
            }
            return SubjectSelection(.track(number))
        }
        let parts = trimmed.split(separator: "@", maxSplits: 1).map(String.init)
        let coordinates = parts.first?.split(separator: ",").compactMap {
            Double($0.trimmingCharacters(in: .whitespaces))
        }
        guard parts.count == 2, let coordinates, coordinates.count == 2, coordinates.allSatisfy({ $0 >= 0 }) else {
            throw GatewayError(
                .invalidConfiguration,
                "--select \(trimmed): write X,Y@TIME (a point on the person, e.g. 0.42,0.61@2026-12-01T10:00:05Z or 320,410@+5) or track:N"
            )
        }
        let time = parts[1]
        let date: Date
        if time.hasPrefix("+"), let seconds = Double(time.dropFirst()), seconds >= 0 {
            date = rangeStart.addingTimeInterval(seconds)
        } else if let parsed = Timestamp.parse(time) {
            date = parsed
        } else {
            throw GatewayError(
                .invalidConfiguration,
                "--select \(trimmed): '\(time)' is neither an ISO 8601 time nor +SECONDS after --from")
        }
        return SubjectSelection(.point(x: coordinates[0], y: coordinates[1], at: date))
    }

    public var description: String {
        switch target {
        case .track(let number): "track:\(number)"
        case .point(let x, let y, let date):
            "\(Self.number(x)),\(Self.number(y))@\(Timestamp.precise(date))"
        }
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.3f", value)
    }
}

/// A camera's original footage in a range, with everyone in it followed: the first of a subject access's two passes
/// over the footage. Every frame keeps what the tracker covers there (people, faces and heads, plates), with track
/// numbers; the second pass (``SubjectAccessTransform``) paints all of it but the subject.
public struct FollowedFootage: Sendable {
    public struct Frame: Sendable {
        /// When the frame was recorded.
        public var date: Date
        public var covered: [RedactionTracker.Covered]
    }

    /// The segments read, in time order, and each one's frames in decode order.
    public let segments: [(id: String, frames: [Frame])]
    public let width: Int
    public let height: Int
    /// How long a person may go unseen by the detectors and still count as seen (the interval between passes).
    public let seenWithin: Double
    /// What was read: the original footage, or the redacted recording with the original pixels of an approved unmask
    /// request drawn back (a camera that keeps an unmask layer instead of raw video).
    public let category: DataCategory

    public var frameCount: Int { segments.map(\.frames.count).reduce(0, +) }

    /// One person's stretch of a track: sightings (frames seen by the detectors) that follow on from each other. The
    /// redaction tracker keeps covers, not identities: its track may jump to someone else nearby when a person is lost,
    /// so a track is cut wherever it moves further than a walking person could, or changes size.
    public struct Tracklet: Sendable, Hashable {
        public var track: Int
        /// Frame numbers over the whole footage, and boxes, in order.
        public var frames: [Int]
        public var boxes: [Box]
        public var first: Date, last: Date
    }

    /// A sighting of the subject: which track covers them in which frame (numbered over the whole footage).
    public struct Sighting: Hashable, Sendable {
        public var frame: Int
        public var track: Int
    }

    /// Whether `other`, `seconds` later, can be the same person as `box`: within twice the size either way (a
    /// detector's box of someone walking loses and regains their legs), the top of the box (the head) no further than
    /// one and a half body heights for each second between — a quarter of a height at least, less than the gap between
    /// two people walking side by side, so that a track the tracker moved onto a neighbour is cut there.
    static func isContinuation(of box: Box, _ other: Box, seconds: Double) -> Bool {
        let ratio = other.height / max(box.height, 1)
        let dx = other.centreX - box.centreX, dy = other.y1 - box.y1
        return ratio >= 0.5 && ratio <= 2
            && (dx * dx + dy * dy).squareRoot() <= min(box.height, other.height) * max(0.25, seconds * 1.5)
    }

    /// Every person's stretches of track, in the order they start.
    public let tracklets: [Tracklet]

    init(
        segments: [(id: String, frames: [Frame])], width: Int, height: Int, seenWithin: Double, category: DataCategory
    ) {
        (self.segments, self.width, self.height, self.seenWithin, self.category) = (
            segments, width, height, seenWithin, category
        )
        tracklets = Self.stretches(of: segments.flatMap(\.frames), seenWithin: seenWithin)
    }

    /// Every person's stretches of track, in the order they start (computed once: selections and chaining read them).
    static func stretches(of frames: [Frame], seenWithin: Double) -> [Tracklet] {
        var open: [Int: Tracklet] = [:]
        var done: [Tracklet] = []
        for (number, frame) in frames.enumerated() {
            for person in frame.covered where person.kind == .persons && person.unseenFor <= seenWithin {
                if var current = open[person.track], let box = current.boxes.last,
                    Self.isContinuation(of: box, person.box, seconds: frame.date.timeIntervalSince(current.last))
                {
                    current.frames.append(number)
                    current.boxes.append(person.box)
                    current.last = frame.date
                    open[person.track] = current
                } else {
                    if let current = open[person.track] { done.append(current) }
                    open[person.track] = Tracklet(
                        track: person.track, frames: [number], boxes: [person.box], first: frame.date, last: frame.date)
                }
            }
        }
        return (done + open.values).sorted { ($0.frames[0], $0.track) < ($1.frames[0], $1.track) }
    }

    /// The stretches of track the selections name. A point names the smallest person seen around it at its moment; a
    /// track number its longest stretch. A point on nobody, a moment outside the footage or an unknown track is
    /// refused, saying what there is.
    public func selectedTracklets(_ selections: [SubjectSelection]) throws -> [Tracklet] {
        let all = tracklets
        var chosen: [Tracklet] = []
        for selection in selections {
            switch selection.target {
            case .track(let number):
                guard let longest = all.filter({ $0.track == number }).max(by: { $0.frames.count < $1.frames.count })
                else {
                    let known = Set(all.map(\.track)).sorted().map(String.init).joined(separator: ", ")
                    throw GatewayError(
                        .invalidConfiguration,
                        "--select track:\(number): no person has that track in this footage (tracks: \(known))")
                }
                chosen.append(longest)
            case .point(let x, let y, let date):
                let frames = segments.flatMap(\.frames)
                guard
                    let number = frames.indices.min(by: {
                        abs(frames[$0].date.timeIntervalSince(date)) < abs(frames[$1].date.timeIntervalSince(date))
                    }), abs(frames[number].date.timeIntervalSince(date)) <= 1
                else {
                    throw GatewayError(
                        .invalidConfiguration, "--select \(selection): there is no footage of that moment in the range")
                }
                let normalised = x <= 1 && y <= 1
                let (px, py) = normalised ? (x * Double(width), y * Double(height)) : (x, y)
                let there = all.compactMap { tracklet in
                    tracklet.frames.firstIndex(of: number).map { (tracklet, tracklet.boxes[$0]) }
                }
                let around = there.filter { $0.1.x1 <= px && px <= $0.1.x2 && $0.1.y1 <= py && py <= $0.1.y2 }
                guard let person = around.min(by: { $0.1.area < $1.1.area }) else {
                    let list = there.map { tracklet, box in
                        "track:\(tracklet.track) at \(Self.share(box.x1, width))–\(Self.share(box.x2, width)) across, \(Self.share(box.y1, height))–\(Self.share(box.y2, height)) down"
                    }
                    throw GatewayError(
                        .invalidConfiguration,
                        "--select \(selection): nobody was found at that point then; "
                            + (list.isEmpty
                                ? "nobody was found in that frame" : "people then: " + list.joined(separator: "; ")))
                }
                chosen.append(person.0)
            }
        }
        return chosen
    }

    /// The subject's sightings: the selected stretches of track, and the stretches chained to them where the tracker
    /// lost the subject for a moment and took them up again under a new number, or carried their number on to someone
    /// else. A stretch that begins within ``chainGap`` seconds of a subject's stretch ending, where the subject could
    /// have got to by then, is the subject's — if it is the only one that could be; the same backwards, for the
    /// stretches before a selected one. A stretch the tracker started inside the subject's own while it still ran, and
    /// that outlasts it, is theirs too (``handOver(from:forward:among:chain:)``). Fails closed on doubt: with two
    /// people near, neither is chained, and the subject stays hidden until the DPO selects them again.
    public func subjectSightings(_ selected: [Tracklet]) -> (sightings: Set<Sighting>, chained: Int) {
        let all = tracklets
        let frames = segments.flatMap(\.frames)
        var chain = Set(selected)
        var grew = true
        while grew {
            grew = false
            for tracklet in chain {
                for forward in [true, false] {
                    let (endFrame, endBox) =
                        forward
                        ? (tracklet.frames.last!, tracklet.boxes.last!)
                        : (tracklet.frames.first!, tracklet.boxes.first!)
                    let endDate = frames[endFrame].date
                    // The stretch that takes the subject up first; one that begins later is someone else's (the
                    // subject was taken up by then), but two that begin together are a doubt.
                    let possible = all.filter { other in
                        guard !chain.contains(other) else { return false }
                        let edge = forward ? other.first : other.last
                        let seconds = forward ? edge.timeIntervalSince(endDate) : endDate.timeIntervalSince(edge)
                        return seconds > 0 && seconds <= Self.chainGap
                            && Self.isContinuation(
                                of: endBox, forward ? other.boxes.first! : other.boxes.last!, seconds: seconds)
                    }.sorted { forward ? $0.frames.first! < $1.frames.first! : $0.frames.last! > $1.frames.last! }
                    let candidates = possible.filter {
                        forward
                            ? $0.frames.first! == possible[0].frames.first!
                            : $0.frames.last! == possible[0].frames.last!
                    }
                    // Anyone else seen where the subject could have got to before the candidate took them up makes it
                    // doubtful.
                    let bystanders =
                        candidates.count != 1
                        ? []
                        : all.filter { other in
                            let candidate = candidates[0]
                            let until = forward ? candidate.first : candidate.last
                            return !chain.contains(other) && other != candidate
                                && zip(other.frames, other.boxes).contains { number, box in
                                    let date = frames[number].date
                                    let seconds =
                                        forward ? date.timeIntervalSince(endDate) : endDate.timeIntervalSince(date)
                                    let beforeCandidate = forward ? date <= until : date >= until
                                    // A box around the subject's last place (moving pixels around them) is nobody else.
                                    let around = endBox.fraction(inside: box) >= 0.6 && box.area >= endBox.area * 1.5
                                    return seconds > 0 && beforeCandidate && !around
                                        && Self.isContinuation(of: endBox, box, seconds: seconds)
                                }
                        }
                    if candidates.count == 1, bystanders.isEmpty, let next = candidates.first {
                        chain.insert(next)
                        grew = true
                    } else if let next = Self.handOver(from: tracklet, forward: forward, among: all, chain: chain) {
                        chain.insert(next)
                        grew = true
                    }
                }
                if grew { break }
            }
        }
        var sightings = Set<Sighting>()
        for tracklet in chain {
            for number in tracklet.frames { sightings.insert(Sighting(frame: number, track: tracklet.track)) }
        }
        return (sightings, chain.count - Set(selected).count)
    }

    /// The stretch the tracker handed the subject on to while their own still ran: a box the tracker started inside
    /// the subject's (a tight one within a loose one, the network's box within a moving region around them) that goes
    /// on after the subject's stretch ends (`forward`; before it begins, backwards). On the frames both have, two at
    /// least, it must overlap the subject's box on every one and lie mostly (60 %) inside it on two in three; and
    /// nobody else's stretch may lie inside it on any of the subject's frames — a loose box holding two people hands
    /// over to neither.
    static func handOver(
        from tracklet: Tracklet, forward: Bool, among all: [Tracklet], chain: Set<Tracklet>
    )
        -> Tracklet?
    {
        guard let start = tracklet.frames.first, let end = tracklet.frames.last else { return nil }
        let boxes = Dictionary(zip(tracklet.frames, tracklet.boxes)) { first, _ in first }
        /// The frames `other` shares with the subject's stretch; on how many it lies mostly inside the subject's box;
        /// and whether it overlaps it on all of them (by a third of its area at least).
        func inside(_ other: Tracklet) -> (shared: Int, within: Int, always: Bool) {
            var shared = 0, within = 0, always = true
            for (frame, box) in zip(other.frames, other.boxes) {
                guard let subject = boxes[frame] else { continue }
                shared += 1
                let fraction = box.fraction(inside: subject)
                if fraction >= 0.6 { within += 1 }
                always = always && fraction >= 0.3
            }
            return (shared, within, always)
        }
        let nested = all.filter { other in
            guard !chain.contains(other), let first = other.frames.first, let last = other.frames.last else {
                return false
            }
            let overlaps =
                forward ? first > start && first <= end && last > end : last < end && last >= start && first < start
            guard overlaps else { return false }
            // Mostly inside on two frames in three: a detector's boxes of one person do not nest on every frame.
            let (shared, within, always) = inside(other)
            return shared >= 2 && always && 3 * within >= 2 * shared
        }
        guard nested.count == 1, let next = nested.first else { return nil }
        let others = all.filter { !chain.contains($0) && $0 != next && inside($0).within > 0 }
        return others.isEmpty ? next : nil
    }

    /// The longest a subject may go unseen between two stretches chained as theirs (seconds).
    static let chainGap = 2.0

    static func share(_ value: Double, _ size: Int) -> String { String(format: "%.2f", value / Double(max(size, 1))) }

    /// The settings of the first pass.
    public struct Settings: Sendable {
        /// Detect on every Nth frame; the tracker carries everyone between.
        public var detectEvery: Int
        public init(detectEvery: Int = 2) { self.detectEvery = max(1, detectEvery) }
    }

    /// Reads a camera's original footage in a range from the vault and follows everyone in it. `progress` hears the
    /// frames done so far. With `originals` (what an approved unmask request opened), the
    /// redacted recording is read instead, with the original pixels drawn back: a camera that keeps an unmask layer
    /// instead of raw video.
    public static func follow(
        vault: Vault, camera: CameraID, from: Date, to: Date, models: VisionModels, settings: Settings = Settings(),
        originals: OriginalPixels? = nil,
        progress: ((_ frames: Int) -> Void)? = nil
    ) async throws -> FollowedFootage {
        try await DedicatedThreadExecutor.run(named: "subject access") {
            try await followed(
                vault: vault, camera: camera, from: from, to: to, models: models, settings: settings,
                originals: originals, progress: progress)
        }
    }

    private static func followed(
        vault: Vault, camera: CameraID, from: Date, to: Date, models: VisionModels, settings: Settings,
        originals: OriginalPixels?, progress: ((_ frames: Int) -> Void)?
    ) async throws -> FollowedFootage {
        let category: DataCategory = originals == nil ? .rawVideo : .redactedVideo
        let stored = try await vault.segments(camera: camera, from: from, to: to)
            .filter { $0.descriptor.category == category }
            .sorted { $0.descriptor.start < $1.descriptor.start }
        guard !stored.isEmpty else {
            throw GatewayError(
                .invalidConfiguration,
                originals == nil
                    ? "no original footage of \(camera) in that range: a subject access needs the original video (raw-video, or an unmask layer opened with --unmask-request and two approvals), since the subject is hidden in the redacted one too"
                    : "no redacted recording of \(camera) in that range")
        }
        let spec = SubjectAccessTransform.othersCovered(mode: .blur)
        let pipeline = RedactionPipeline(
            spec: spec, detectors: try models.detectors(for: spec.classes, headsOfPeople: true).detectors,
            options: .init(detectEvery: settings.detectEvery, coverHeadsOfPeople: true))
        var segments: [(id: String, frames: [Frame])] = []
        var size: (Int, Int)?
        var frameRate = 25.0
        var done = 0
        for segment in stored {
            let source = try MediaSource(bytes: try await vault.read(segment.id), name: "segment \(segment.id)")
            if source.frameRate > 0 { frameRate = source.frameRate }
            size = size ?? (source.width, source.height)
            var frames: [Frame] = []
            var firstTime: Double?
            while let frame = try source.nextFrame() {
                let offset = frame.time - (firstTime ?? frame.time)
                firstTime = firstTime ?? frame.time
                let date = segment.descriptor.start.addingTimeInterval(offset)
                _ = try originals?.restore(
                    into: frame, at: date.timeIntervalSince1970,
                    tolerance: 0.5 / (source.frameRate > 0 ? source.frameRate : 25))
                // One clock over every segment (each may start its own at zero), so tracks carry across them.
                frame.time = date.timeIntervalSince(from)
                frames.append(Frame(date: date, covered: try pipeline.track(frame)))
                done += 1
                progress?(done)
            }
            segments.append((segment.id, frames))
        }
        return FollowedFootage(
            segments: segments, width: size?.0 ?? 0, height: size?.1 ?? 0,
            seenWithin: Double(settings.detectEvery) / frameRate + 0.01, category: category)
    }
}

/// The second pass of a subject access (GDPR Art. 15): each original segment redrawn with every person, face and plate
/// covered but the subject's own, as ``FollowedFootage`` found them. Fails closed: in a frame where the subject's track
/// is not seen (lost, or coasting between detections for longer than a pass), the subject is covered like everyone
/// else, so that a wrong person is never shown in their place; someone else's cover overlapping the subject is painted
/// over the subject.
public final class SubjectAccessTransform: SegmentTransform {
    private struct Counts {
        var shown = 0, hidden = 0, frames = 0
    }

    /// Each followed segment's frames, and where they start in the footage's numbering (which sightings use).
    private let segments: [String: (first: Int, frames: [FollowedFootage.Frame])]
    /// The subject's sightings: the stretches of track the selections name, and those chained to them.
    private let subject: Set<FollowedFootage.Sighting>
    private let chainedCount: Int
    private let originals: OriginalPixels?
    private let redactor: Redactor
    /// Covers the picture around the subject, in tiles.
    private let background: Redactor
    private let encoder: EncoderSettings
    private let counts = Mutex(Counts())
    private let selections: [SubjectSelection]
    private let request: String?

    /// What is covered for everyone but the subject: whole people, faces and plates, boxes (an ellipse leaves a
    /// person's shoulders and feet outside it).
    public static func othersCovered(mode: RedactionMode) -> RedactionSpec {
        RedactionSpec(classes: [.faces, .persons, .plates], mode: mode, shape: .box, margin: 0.1)
    }

    /// `originals`: for footage followed with an unmask request's pixels (``FollowedFootage/follow``), a second copy of
    /// them (``OriginalPixels`` are read once, in time order).
    public init(
        footage: FollowedFootage, selections: [SubjectSelection], request: String?, mode: RedactionMode = .blur,
        originals: OriginalPixels? = nil, encoder: EncoderSettings = EncoderSettings(preset: "veryfast", crf: 20)
    ) throws {
        self.originals = originals
        self.selections = selections
        self.request = request
        (subject, chainedCount) = footage.subjectSightings(try footage.selectedTracklets(selections))
        var segments: [String: (first: Int, frames: [FollowedFootage.Frame])] = [:]
        var first = 0
        for segment in footage.segments {
            segments[segment.id] = segments[segment.id] ?? (first, segment.frames)
            first += segment.frames.count
        }
        self.segments = segments
        redactor = Redactor(spec: Self.othersCovered(mode: mode))
        background = Redactor(spec: RedactionSpec(classes: [.persons], mode: mode, shape: .box, margin: 0))
        self.encoder = encoder
    }

    public var summary: String {
        "subject access (GDPR Art. 15): the picture covered (\(redactor.spec.mode.rawValue)) but for the subject, who is followed by the tracker and covered too wherever it lost them; every other face, person and plate the detectors found covered again on top"
    }

    public var redactionLabel: String? { "all but the subject: " + redactor.spec.description }

    /// How coarse the cover of the picture around the subject is (pixels, at least; a 36th of the picture's height on
    /// larger pictures): fine enough that the scene stays legible (where the subject was, what was around), coarse
    /// enough that no face or plate in it is.
    static let backgroundBlock = 16

    /// Paints a frame for the subject: the whole picture covered, the subject's own region put back, and every face,
    /// person and plate of anyone else the detectors found covered again on top — over the subject too. Returns whether
    /// the subject was shown.
    func redraw(_ frame: VideoFrame, _ followed: FollowedFootage.Frame, number: Int) throws -> Bool {
        let keep = subjectBoxes(in: followed, number: number)
        let regions = keep.map { PictureRegion(copying: $0.box.expanded(by: 0.05), of: frame) }
        background.coverAll(of: frame, block: max(Self.backgroundBlock, frame.height / 36))
        for region in regions { region.paste(into: frame) }
        // Not a cover that holds the subject whole (a moving region around them, a second box of their own), which
        // identifies no one else and would hide the subject, nor a head band that holds their head (derived from such a
        // box). Everywhere else, everyone else's covers go over the background's: on a large picture a face away from
        // the subject is covered as strongly as a redaction covers it.
        let subjectBoxes = keep.filter { $0.kind == .persons }.map(\.box)
        let others = followed.covered.filter { cover in
            !keep.contains(cover)
                && !subjectBoxes.contains { subject in
                    switch cover.kind {
                    case .persons:
                        (subject.fraction(inside: cover.box) >= 0.6 && cover.box.area >= subject.area * 1.5)
                            || subject.intersectionOverUnion(cover.box) >= 0.6
                    case .faces: Self.holdsHead(of: subject, cover.box)
                    default: false
                    }
                }
        }
        redactor.apply(to: frame, boxes: others.map { ($0.kind, $0.box) })
        return keep.contains { $0.kind == .persons }
    }

    public var record: [String: String] {
        let counts = self.counts.withLock { $0 }
        var record = [
            "kind": "subject-access",
            "selections": selections.map(\.description).joined(separator: " "),
            "subject-tracks": Set(subject.map(\.track)).sorted().map(String.init).joined(separator: ","),
            "subject-stretches-chained": String(chainedCount),
            "frames": String(counts.frames),
            "frames-subject-shown": String(counts.shown),
            "frames-subject-hidden": String(counts.hidden),
        ]
        if let request { record["request"] = request }
        return record
    }

    /// Whether a face or head cover holds the whole head of a person box (its top sixth, the middle half across) and is
    /// larger: a band derived from a box around the subject and whoever is beside them, which would hide the subject's
    /// head. A neighbour's own face cover never holds the subject's head.
    static func holdsHead(of person: Box, _ cover: Box) -> Bool {
        let head = Box(
            x1: person.x1 + person.width * 0.25, y1: person.y1, x2: person.x2 - person.width * 0.25,
            y2: person.y1 + person.height / 6)
        return head.fraction(inside: cover) >= 0.8 && cover.area >= head.area * 1.5
    }

    /// The subject's boxes in a frame: their person box while the tracker sees them, and the one face or head region
    /// where the head of that body is (a neighbour's face in the top of the box stays covered).
    func subjectBoxes(in frame: FollowedFootage.Frame, number: Int) -> [RedactionTracker.Covered] {
        let persons = frame.covered.filter {
            $0.kind == .persons && subject.contains(FollowedFootage.Sighting(frame: number, track: $0.track))
        }
        var shown = persons
        for person in persons {
            let box = person.box
            let head = (x: box.centreX, y: box.y1 + box.height * 0.08)
            func distance(_ face: RedactionTracker.Covered) -> Double {
                ((face.box.centreX - head.x) * (face.box.centreX - head.x)
                    + (face.box.centreY - head.y) * (face.box.centreY - head.y)).squareRoot()
            }
            let face = frame.covered.filter { face in
                face.kind == .faces && abs(face.box.centreX - box.centreX) <= box.width * 0.25
                    && face.box.centreY >= box.y1 - box.height * 0.1 && face.box.centreY <= box.y1 + box.height * 0.3
                    && face.box.fraction(inside: box.expanded(by: 0.15)) >= 0.6
            }.min { distance($0) < distance($1) }
            if let face { shown.append(face) }
        }
        return shown
    }

    public func transform(_ segment: [UInt8], id: String, container: String) async throws -> [UInt8] {
        try await DedicatedThreadExecutor.run(named: "subject access") { try redrawn(segment, id: id) }
    }

    private func redrawn(_ segment: [UInt8], id: String) throws -> [UInt8] {
        guard let (offset, followed) = segments[id] else {
            throw GatewayError(.footageChanged, "segment \(id) was not in the footage followed for this request")
        }
        let source = try MediaSource(bytes: segment, name: "segment \(id)")
        let output = try FragmentedMP4Stream(
            width: source.width - source.width % 2, height: source.height - source.height % 2,
            frameRate: source.frameRate > 0 ? source.frameRate : 25, settings: encoder)
        var index = 0
        var shown = 0
        while let frame = try source.nextFrame() {
            guard index < followed.count else {
                throw GatewayError(.footageChanged, "segment \(id) has more frames than when it was followed")
            }
            _ = try originals?.restore(
                into: frame, at: followed[index].date.timeIntervalSince1970,
                tolerance: 0.5 / (source.frameRate > 0 ? source.frameRate : 25))
            if try redraw(frame, followed[index], number: offset + index) { shown += 1 }
            try output.write(frame)
            index += 1
        }
        guard index == followed.count else {
            throw GatewayError(.footageChanged, "segment \(id) has fewer frames than when it was followed")
        }
        counts.withLock {
            $0.frames += index
            $0.shown += shown
            $0.hidden += index - shown
        }
        return try output.finishedFile()
    }
}
