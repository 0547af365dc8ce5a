/// Follows vehicles from one look to the next for vehicle-dwell: a detector's sightings (looked for every few seconds:
/// parked vehicles are what matter) matched to the vehicles already known by overlap, each with a track number of its
/// own. A vehicle unseen for up to ``keepFor`` seconds is kept where it was last seen — people walking past a parked
/// car hide it from the detector — and dropped after that. Pure state: no pixels, no plates, no identity.
public struct VehicleTracker: Sendable {
    /// How long (seconds) a vehicle nobody sees is kept.
    public var keepFor: Double
    /// The least overlap (intersection over union) for a sighting to be a known vehicle.
    public var matchOverlap: Double

    private struct Track {
        var id: Int
        var box: TrackedObject
        var lastSeen: Double
    }

    private var tracks: [Track] = []
    /// Vehicle track numbers start far above the people tracker's, so an alert's `track` never names a person and a
    /// vehicle alike.
    private var nextID = 1_000_000

    public init(keepFor: Double = 30, matchOverlap: Double = 0.3) {
        self.keepFor = keepFor
        self.matchOverlap = matchOverlap
    }

    /// Takes the sightings of one look at `time` (normalised boxes; their track numbers are ignored).
    public mutating func update(with sightings: [TrackedObject], at time: Double) {
        // A time that went back is a new source: nothing known of it.
        if let latest = tracks.map(\.lastSeen).max(), time < latest { tracks = [] }
        var pairs: [(track: Int, sighting: Int, overlap: Double)] = []
        for (trackIndex, track) in tracks.enumerated() {
            for (sightingIndex, sighting) in sightings.enumerated() {
                let overlap = Self.overlap(track.box, sighting)
                if overlap >= matchOverlap { pairs.append((trackIndex, sightingIndex, overlap)) }
            }
        }
        var usedTracks = Set<Int>(), usedSightings = Set<Int>()
        for pair in pairs.sorted(by: { $0.overlap > $1.overlap })
        where !usedTracks.contains(pair.track) && !usedSightings.contains(pair.sighting) {
            usedTracks.insert(pair.track)
            usedSightings.insert(pair.sighting)
            var box = sightings[pair.sighting]
            box.track = tracks[pair.track].id
            box.kind = .vehicle
            tracks[pair.track].box = box
            tracks[pair.track].lastSeen = time
        }
        for (index, sighting) in sightings.enumerated() where !usedSightings.contains(index) {
            var box = sighting
            box.track = nextID
            box.kind = .vehicle
            tracks.append(Track(id: nextID, box: box, lastSeen: time))
            nextID += 1
        }
        tracks.removeAll { time - $0.lastSeen > keepFor }
    }

    /// The vehicles known at `time`: seen in the last ``keepFor`` seconds, where they were last seen.
    public func vehicles(at time: Double) -> [TrackedObject] {
        tracks.filter { time - $0.lastSeen <= keepFor }.map(\.box)
    }

    static func overlap(_ a: TrackedObject, _ b: TrackedObject) -> Double {
        let width = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
        let height = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
        guard width > 0, height > 0 else { return 0 }
        let shared = width * height
        return shared / (a.width * a.height + b.width * b.height - shared)
    }
}
