public import Foundation
public import VeilCore

/// One camera's analytics: tracked objects in, alerts and counts out. Fed frame by frame by the camera pipeline (or
/// `veilgate analyse`); pure state, no I/O, so the same frames always give the same alerts.
///
/// Each analytic runs only when the camera's policy lists it (`analytics:`), on the camera's `zones:` and `lines:`.
/// Every decision carries hysteresis, so a person standing on a zone's edge or a line raises one alert, not fifty.
///
/// (One file of about 440 lines, by intent: the analytics share one private per-track state, which an extension in
/// another file could not reach; each analytic is one `MARK` section.)
public struct CameraAnalytics: Sendable {
    /// When each analytic fires. The defaults suit a city camera; a policy sets them per camera and per zone
    /// (`thresholds:`).
    public struct Thresholds: Sendable {
        /// A person must be in a restricted zone this long (seconds) before the alert…
        public var restrictedDwell = 1.0
        /// …and out of it this long before a new entry alerts again.
        public var restrictedRearm = 3.0
        /// A visit to a zone longer than this (seconds) is loitering.
        public var loiteringAfter = 60.0
        /// A track lost for at most this long (seconds) and found again near where it was lost is the same visit, and a
        /// brief step out of a zone does not end one.
        public var occlusionGap = 2.0
        /// How far (in the person's own heights) a track found again may be from where it was lost.
        public var occlusionReach = 1.5
        /// People in a zone at once that make a crowd…
        public var crowdThreshold = 20
        /// …for this long (seconds) before the alert; it re-arms once the zone holds fewer than 80 % of the threshold
        /// for as long.
        public var crowdHold = 2.0
        /// How far (normalised units) a person must be past a line before the crossing counts (no counting of jitter).
        public var lineMargin = 0.01
        /// Running: a speed of this many of the person's own body heights per second (walking is under one; jogging
        /// is about two and a half)…
        public var runningSpeed = 1.8
        /// …kept up for this long (seconds); it re-arms once the person has been below 60 % of it for three seconds.
        public var runningHold = 1.0
        /// Unattended object: something come to rest in a zone, with nobody near it, for this long (seconds)…
        public var unattendedAfter = 60.0
        /// …where near is within this many of a person's own heights of it (their owner standing beside it, sitting on
        /// the bench it is on).
        public var unattendedReach = 1.0
        /// Vehicle dwell: a vehicle in a zone this long (seconds): ten minutes unless the policy says otherwise.
        public var vehicleDwellAfter = 600.0

        public init() {}
    }

    /// What runs on one camera: its analytics, zones and lines (from its policy entry) and the thresholds.
    public struct Setup: Sendable {
        public var camera: CameraID
        public var analytics: Set<Analytic>
        public var zones: [Zone]
        public var lines: [CountingLine]
        public var thresholds: Thresholds
        /// A zone's own thresholds, where its policy entry sets them (restricted-zone, loitering, crowd-count).
        public var zoneThresholds: [ZoneID: Thresholds]

        /// The analytics that run on a camera; a policy may list others, which callers report rather than fake.
        /// `watchlist-match` runs beside this library (reading plates needs vision: the gateway's plate watch), and
        /// `loud-sound` on sound levels (``LoudSoundDetector``), so ``CameraAnalytics`` itself passes both by.
        public static let supported: Set<Analytic> = [
            .restrictedZone, .loitering, .lineCrossing, .crowdCount, .running, .unattendedObject, .watchlistMatch,
            .loudSound, .vehicleDwell,
        ]

        /// `analytics` cut down to the supported ones.
        public init(
            camera: CameraID, analytics: Set<Analytic>, zones: [Zone], lines: [CountingLine],
            thresholds: Thresholds = Thresholds(), zoneThresholds: [ZoneID: Thresholds] = [:]
        ) {
            self.camera = camera
            self.analytics = analytics.intersection(Self.supported)
            self.zones = zones
            self.lines = lines
            self.thresholds = thresholds
            self.zoneThresholds = zoneThresholds
        }
    }

    public let camera: CameraID
    public let analytics: Set<Analytic>
    public let zones: [Zone]
    public let lines: [CountingLine]
    public let thresholds: Thresholds
    public let zoneThresholds: [ZoneID: Thresholds]
    /// The wall-clock time of video time 0 (alerts carry wall-clock times). The camera pipeline may set it again once
    /// (after its first frame, whose handling took a while), so that alerts are dated when their frames were played.
    public var origin: Date

    /// Crossings so far per line: in and out.
    public private(set) var lineTotals: [ZoneID: (in: Int, out: Int)] = [:]
    /// People in each zone in the last frame.
    public private(set) var occupancy: [ZoneID: Int] = [:]
    /// Closed minutes of counts, oldest first (``takeMinuteCounts()`` hands them over).
    public private(set) var minuteCounts: [MinuteCount] = []

    private var restricted: [Key: ZoneDwell] = [:]
    private var visits: [Visit] = []
    /// Per track and line: the side it was last clearly on, and where.
    private var sides: [Key: (side: Double, point: Point)] = [:]
    /// Each track's smoothed ground point.
    private var footing: [Int: (point: Point, time: Double)] = [:]
    private var crowds: [ZoneID: CrowdState] = [:]
    /// Per track: its recent steps (time, ground point in picture heights, body height) and whether it runs.
    private var strides: [Int: [(time: Double, point: Point, height: Double)]] = [:]
    private var runs: [Int: RunState] = [:]
    /// Per still object: since when nobody has been near it, and whether it raised its alert.
    private var unattended: [Int: (aloneSince: Double, alerted: Bool)] = [:]
    /// Per vehicle and zone: since when it has been in the zone, and whether it raised its alert.
    private var parked: [Key: (since: Double, alerted: Bool)] = [:]
    /// The minute being counted: its start (seconds since 1970, on the minute), each zone's peak and each line's
    /// crossings.
    private var minute: (start: Double, peaks: [ZoneID: Int], crossings: [ZoneID: (in: Int, out: Int)])?

    private struct Key: Hashable {
        var track: Int
        var place: ZoneID
    }

    private struct ZoneDwell {
        var insideSince: Double?
        var outsideSince: Double?
        var alerted = false
    }

    private struct Visit {
        var zone: ZoneID
        var track: Int
        var start: Double
        var lastSeen: Double
        var lastPoint: Point
        var height: Double
        var outsideSince: Double?
        var alerted = false
    }

    private struct RunState {
        var fastSince: Double?
        var slowSince: Double?
        var alerted = false
    }

    private struct CrowdState {
        var aboveSince: Double?
        var belowSince: Double?
        var alerted = false
    }

    public init(_ setup: Setup, origin: Date) {
        self.init(
            camera: setup.camera, analytics: setup.analytics, zones: setup.zones, lines: setup.lines,
            thresholds: setup.thresholds, zoneThresholds: setup.zoneThresholds, origin: origin)
    }

    public init(
        camera: CameraID, analytics: Set<Analytic>, zones: [Zone], lines: [CountingLine],
        thresholds: Thresholds = Thresholds(), zoneThresholds: [ZoneID: Thresholds] = [:], origin: Date
    ) {
        self.camera = camera
        self.analytics = analytics
        self.zones = zones
        self.lines = lines
        self.thresholds = thresholds
        self.zoneThresholds = zoneThresholds
        self.origin = origin
    }

    /// The thresholds that hold in `zone`: its own, else the camera's.
    func limits(_ zone: ZoneID) -> Thresholds { zoneThresholds[zone] ?? thresholds }

    /// Takes one frame's tracked objects; returns the alerts it raises.
    public mutating func observe(_ observation: Observation) -> [Alert] {
        let time = observation.time
        let seen = observation.objects.filter { $0.kind == .person }
        // Where people stand, smoothed per track: a detector's box bottom jumps by a tenth of a person's height from
        // one detection to the next, and an unsmoothed foot point crossed a line back and forth while its owner stood.
        let people = seen.map { person -> TrackedObject in
            var smoothed = person
            if let previous = footing[person.track], time - previous.time <= thresholds.occlusionGap {
                let point = person.groundPoint
                let weight = 0.35
                let x = previous.point.x + weight * (point.x - previous.point.x)
                let y = previous.point.y + weight * (point.y - previous.point.y)
                smoothed.x = x - person.width / 2
                smoothed.y = y - person.height
            }
            footing[person.track] = (smoothed.groundPoint, time)
            return smoothed
        }
        footing = footing.filter { time - $0.value.time <= thresholds.occlusionGap }
        var alerts: [Alert] = []
        if analytics.contains(.restrictedZone) { alerts += restrictedZones(people, at: time) }
        if analytics.contains(.loitering) { alerts += loitering(people, at: time) }
        if analytics.contains(.lineCrossing) { alerts += lineCrossings(people, at: time) }
        // Occupancy is a count of where people are now, which needs no hysteresis and so no smoothing: the smoothed
        // point of someone walking lags a step behind them, and people walking over a zone's edge were counted on the
        // side they had left. Measured on vtest against hand counts: 48 of 48 zone-frames within ±1 person, 35 exact,
        // 13 people miscounted in all, from the detector's own points; 47, 32 and 17 from the smoothed ones.
        if analytics.contains(.crowdCount) { alerts += crowd(seen, at: time) }
        if analytics.contains(.running) { alerts += running(people, at: time, aspectRatio: observation.aspectRatio) }
        if analytics.contains(.unattendedObject) {
            alerts += unattendedObjects(
                observation.stillObjects, people, at: time, aspectRatio: observation.aspectRatio)
        }
        if analytics.contains(.vehicleDwell) {
            alerts += vehicleDwell(observation.objects.filter { $0.kind == .vehicle }, at: time)
        }
        return alerts
    }

    /// Closed minutes of counts since the last call, for the `counts` category.
    public mutating func takeMinuteCounts() -> [MinuteCount] {
        defer { minuteCounts = [] }
        return minuteCounts
    }

    private func alert(
        _ kind: AlertKind, zone: ZoneID?, at time: Double, people: [TrackedObject], count: Int? = nil
    ) -> Alert {
        Alert(
            kind: kind, camera: camera, zone: zone, time: origin.addingTimeInterval(time), count: count,
            boxes: people.isEmpty ? nil : people.map(\.alertBox), track: people.count == 1 ? people[0].track : nil)
    }

    // MARK: Restricted zones

    private mutating func restrictedZones(_ people: [TrackedObject], at time: Double) -> [Alert] {
        var alerts: [Alert] = []
        for zone in zones {
            for person in people {
                let key = Key(track: person.track, place: zone.id)
                var state = restricted[key] ?? ZoneDwell()
                let thresholds = limits(zone.id)
                if zone.contains(person.groundPoint) {
                    state.insideSince = state.insideSince ?? time
                    state.outsideSince = nil
                    if !state.alerted, time - (state.insideSince ?? time) >= thresholds.restrictedDwell {
                        state.alerted = true
                        alerts.append(alert(.restrictedZone, zone: zone.id, at: time, people: [person]))
                    }
                } else {
                    state.outsideSince = state.outsideSince ?? time
                    // A step out shorter than the re-arm time changes nothing: neither a new dwell nor a new alert.
                    if time - (state.outsideSince ?? time) >= thresholds.restrictedRearm {
                        state.insideSince = nil
                        state.alerted = false
                    }
                }
                restricted[key] = state
            }
        }
        restricted = restricted.filter { footing[$0.key.track] != nil }
        return alerts
    }

    // MARK: Vehicle dwell

    /// A vehicle whose ground point stays in a zone longer than the zone's threshold raises one alert for that stay.
    /// The vehicle tracker keeps a parked vehicle's track through passers-by hiding it (``VehicleTracker/keepFor``); a
    /// vehicle that leaves the zone or is dropped by the tracker ends its stay.
    private mutating func vehicleDwell(_ vehicles: [TrackedObject], at time: Double) -> [Alert] {
        var alerts: [Alert] = []
        for zone in zones {
            for vehicle in vehicles {
                let key = Key(track: vehicle.track, place: zone.id)
                guard zone.contains(vehicle.groundPoint) else {
                    parked[key] = nil
                    continue
                }
                var stay = parked[key] ?? (since: time, alerted: false)
                if !stay.alerted, time - stay.since >= limits(zone.id).vehicleDwellAfter {
                    stay.alerted = true
                    alerts.append(alert(.vehicleDwell, zone: zone.id, at: time, people: [vehicle]))
                }
                parked[key] = stay
            }
        }
        let present = Set(vehicles.map(\.track))
        parked = parked.filter { present.contains($0.key.track) }
        return alerts
    }

    // MARK: Loitering

    private mutating func loitering(_ people: [TrackedObject], at time: Double) -> [Alert] {
        var alerts: [Alert] = []
        for zone in zones {
            for person in people {
                let point = person.groundPoint
                let inside = zone.contains(point)
                if let index = visits.firstIndex(where: { $0.zone == zone.id && $0.track == person.track }) {
                    if inside {
                        visits[index].outsideSince = nil
                        visits[index].lastPoint = point
                        visits[index].height = person.height
                    } else {
                        visits[index].outsideSince = visits[index].outsideSince ?? time
                    }
                    visits[index].lastSeen = time
                } else if inside {
                    // A track the tracker lost and found again (as a new track) near where the visit was last seen
                    // continues that visit.
                    let lost = visits.indices.filter { index in
                        let visit = visits[index]
                        return visit.zone == zone.id && time - visit.lastSeen <= thresholds.occlusionGap
                            && !people.contains { $0.track == visit.track }
                            && visit.lastPoint.distance(to: point) <= thresholds.occlusionReach
                                * max(visit.height, person.height)
                    }.min { visits[$0].lastPoint.distance(to: point) < visits[$1].lastPoint.distance(to: point) }
                    if let lost {
                        visits[lost].track = person.track
                        visits[lost].lastSeen = time
                        visits[lost].lastPoint = point
                        visits[lost].outsideSince = nil
                    } else {
                        visits.append(
                            Visit(
                                zone: zone.id, track: person.track, start: time, lastSeen: time, lastPoint: point,
                                height: person.height))
                    }
                }
            }
        }
        for index in visits.indices
        where !visits[index].alerted && visits[index].outsideSince == nil
            && visits[index].lastSeen == time && time - visits[index].start >= limits(visits[index].zone).loiteringAfter
        {
            visits[index].alerted = true
            let person = people.first { $0.track == visits[index].track }
            alerts.append(alert(.loitering, zone: visits[index].zone, at: time, people: person.map { [$0] } ?? []))
        }
        // A visit ends when its person has been out of the zone, or out of sight, for longer than a brief gap.
        visits.removeAll { visit in
            time - visit.lastSeen > thresholds.occlusionGap
                || visit.outsideSince.map { time - $0 > thresholds.occlusionGap } ?? false
        }
        return alerts
    }

    // MARK: Lines

    private mutating func lineCrossings(_ people: [TrackedObject], at time: Double) -> [Alert] {
        var alerts: [Alert] = []
        for line in lines {
            for person in people {
                let key = Key(track: person.track, place: line.id)
                let point = person.groundPoint
                let distance = line.side(of: point)
                // A person the tracker lost and found again as a new track (people crossing each other, a pass that
                // missed them) keeps the side the lost track was last seen on, when found near where it was lost: a
                // crossing made while the tracker switched tracks counts. Each lost track's side is taken once.
                var previous = sides[key]
                if previous == nil {
                    let present = Set(people.map(\.track))
                    let lost = sides.filter { entry in
                        entry.key.place == line.id && !present.contains(entry.key.track)
                            && entry.value.point.distance(to: point) <= thresholds.occlusionReach * person.height
                    }.min { $0.value.point.distance(to: point) < $1.value.point.distance(to: point) }
                    if let lost {
                        previous = lost.value
                        sides[lost.key] = nil
                        sides[key] = lost.value
                    }
                }
                // Only a point clearly on one side (by a fifth of the person's height) sets the side, so jitter on the
                // line counts nothing. (A quarter missed people who turned round 30 px from vtest's line.) Someone
                // first seen on the line — as the camera starts, or stepping out from behind someone — takes the side
                // they are on, so that walking off it to the other side counts as the crossing it is.
                guard abs(distance) >= max(thresholds.lineMargin, 0.2 * person.height) else {
                    if previous == nil, distance != 0 { sides[key] = (distance, point) }
                    continue
                }
                defer { sides[key] = (distance, point) }
                guard let previous, (previous.side > 0) != (distance > 0),
                    line.isCrossedBetweenEnds(from: previous.point, to: point)
                else { continue }
                let inward = distance > 0
                var totals = lineTotals[line.id] ?? (0, 0)
                if inward { totals.in += 1 } else { totals.out += 1 }
                lineTotals[line.id] = totals
                countCrossing(line.id, inward: inward, at: time)
                // The count is the line's running total in that direction.
                let total = inward ? totals.in : totals.out
                alerts.append(alert(.lineCrossing, zone: line.id, at: time, people: [person], count: total))
            }
        }
        sides = sides.filter { footing[$0.key.track] != nil }
        return alerts
    }

    // MARK: Unattended objects

    /// Something come to rest in a zone (a still-object detector's region) raises one alert once it has been still,
    /// with nobody within ``Thresholds/unattendedReach`` of their own heights of it, for
    /// ``Thresholds/unattendedAfter``: a bag set down by someone who walks on. A person who stands still is found as a
    /// still region too, and is never alone with themself. The object keeps its alert while it stays; one found again
    /// later is new.
    private mutating func unattendedObjects(
        _ objects: [StillObject], _ people: [TrackedObject], at time: Double, aspectRatio: Double
    ) -> [Alert] {
        var alerts: [Alert] = []
        var kept: [Int: (aloneSince: Double, alerted: Bool)] = [:]
        for object in objects {
            let centre = Point(x: object.x + object.width / 2, y: object.y + object.height / 2)
            guard let zone = zones.first(where: { $0.contains(centre) }) else { continue }
            let near = people.contains { person in
                let ground = person.groundPoint
                let middle = Point(x: ground.x, y: person.y + person.height / 2)
                let reach = limits(zone.id).unattendedReach * person.height
                // In units of the picture's height, so x and y measure alike; to the nearer of feet and middle.
                func distance(_ point: Point) -> Double {
                    Point(x: point.x * aspectRatio, y: point.y).distance(
                        to: Point(x: centre.x * aspectRatio, y: centre.y))
                }
                return min(distance(ground), distance(middle)) <= reach
            }
            var state = unattended[object.id] ?? (max(object.since, time), false)
            if near { state.aloneSince = time }
            if !state.alerted, time - state.aloneSince >= limits(zone.id).unattendedAfter {
                state.alerted = true
                alerts.append(
                    Alert(
                        kind: .unattendedObject, camera: camera, zone: zone.id, time: origin.addingTimeInterval(time),
                        count: nil, boxes: [[object.x, object.y, object.width, object.height]], track: nil))
            }
            kept[object.id] = state
        }
        unattended = kept
        return alerts
    }

    // MARK: Running

    /// A person's speed, in their own body heights per second (the same for someone near the camera and far from it),
    /// is the lower of two measures over the last second: the median of their steps' speeds — a tracker that jumps once
    /// to a neighbour (one huge step) moves it nothing — and the way actually made — a box that jitters goes nowhere.
    private mutating func running(_ people: [TrackedObject], at time: Double, aspectRatio: Double) -> [Alert] {
        var alerts: [Alert] = []
        for person in people {
            // Ground points in units of the picture's height, so x and y measure alike.
            let ground = person.groundPoint
            let point = Point(x: ground.x * aspectRatio, y: ground.y)
            var steps = strides[person.track] ?? []
            steps.append((time, point, person.height))
            steps.removeAll { time - $0.time > 1.0 }
            strides[person.track] = steps
            guard steps.count >= 4, time - steps[0].time >= 0.5 else { continue }
            let speeds = zip(steps, steps.dropFirst()).compactMap { a, b -> Double? in
                let elapsed = b.time - a.time
                guard elapsed > 0 else { return nil }
                return a.point.distance(to: b.point) / elapsed / max(0.02, (a.height + b.height) / 2)
            }.sorted()
            guard !speeds.isEmpty, let last = steps.last else { continue }
            // And the way actually made over the window: a box that jitters back and forth has fast steps and goes
            // nowhere.
            let made =
                steps[0].point.distance(to: last.point) / (last.time - steps[0].time)
                / max(0.02, steps.map(\.height).reduce(0, +) / Double(steps.count))
            let speed = min(speeds[speeds.count / 2], made)
            var state = runs[person.track] ?? RunState()
            if speed >= thresholds.runningSpeed {
                state.slowSince = nil
                state.fastSince = state.fastSince ?? time
                if !state.alerted, time - (state.fastSince ?? time) >= thresholds.runningHold {
                    state.alerted = true
                    let zone = zones.first { $0.contains(ground) }?.id
                    alerts.append(alert(.running, zone: zone, at: time, people: [person]))
                }
            } else {
                state.fastSince = nil
                if speed < 0.6 * thresholds.runningSpeed {
                    state.slowSince = state.slowSince ?? time
                    if time - (state.slowSince ?? time) >= 3 { state.alerted = false }
                } else {
                    state.slowSince = nil
                }
            }
            runs[person.track] = state
        }
        strides = strides.filter { footing[$0.key] != nil }
        runs = runs.filter { footing[$0.key] != nil }
        return alerts
    }

    // MARK: Crowds and occupancy

    private mutating func crowd(_ people: [TrackedObject], at time: Double) -> [Alert] {
        var alerts: [Alert] = []
        let places: [(ZoneID?, [TrackedObject])] =
            zones.isEmpty
            ? [(nil, people)]
            : zones.map { zone in (zone.id, people.filter { zone.contains($0.groundPoint) }) }
        for (zone, inside) in places {
            let key = zone ?? ZoneID("frame")
            let thresholds = limits(key)
            occupancy[key] = inside.count
            countOccupancy(key, inside.count, at: time)
            var state = crowds[key] ?? CrowdState()
            if inside.count >= thresholds.crowdThreshold {
                state.belowSince = nil
                state.aboveSince = state.aboveSince ?? time
                if !state.alerted, time - (state.aboveSince ?? time) >= thresholds.crowdHold {
                    state.alerted = true
                    alerts.append(alert(.crowdCount, zone: zone, at: time, people: inside, count: inside.count))
                }
            } else {
                state.aboveSince = nil
                if Double(inside.count) < 0.8 * Double(thresholds.crowdThreshold) {
                    state.belowSince = state.belowSince ?? time
                    if time - (state.belowSince ?? time) >= thresholds.crowdHold { state.alerted = false }
                } else {
                    state.belowSince = nil
                }
            }
            crowds[key] = state
        }
        return alerts
    }

    // MARK: Minutes

    /// Minutes are the clock's (09:41:00 to 09:42:00), not counted from when the camera started: a partner's counts
    /// line up across cameras and roll up into hours, and the pipeline setting ``origin`` again after its first frame
    /// does not start a second minute one second after the first.
    private mutating func rollMinute(at time: Double) {
        let start = ((origin.timeIntervalSince1970 + time) / 60).rounded(.down) * 60
        if let current = minute, current.start != start { closeMinute() }
        if minute == nil { minute = (start, [:], [:]) }
    }

    private mutating func closeMinute() {
        minuteCounts += countsInProgress
        minute = nil
    }

    /// The minute in progress so far (a partner asking for counts sees it before it closes).
    public var countsInProgress: [MinuteCount] {
        guard let current = minute else { return [] }
        let date = Date(timeIntervalSince1970: current.start)
        return current.peaks.sorted { $0.key.rawValue < $1.key.rawValue }.map {
            MinuteCount(camera: camera, zone: $0.key, minute: date, peakOccupancy: $0.value)
        }
            + current.crossings.sorted { $0.key.rawValue < $1.key.rawValue }.map {
                MinuteCount(
                    camera: camera, zone: $0.key, minute: date, crossingsIn: $0.value.in, crossingsOut: $0.value.out)
            }
    }

    private mutating func countOccupancy(_ zone: ZoneID, _ count: Int, at time: Double) {
        rollMinute(at: time)
        let peak = max(minute?.peaks[zone] ?? 0, count)
        minute?.peaks[zone] = peak
    }

    private mutating func countCrossing(_ line: ZoneID, inward: Bool, at time: Double) {
        rollMinute(at: time)
        var crossings = minute?.crossings[line] ?? (0, 0)
        if inward { crossings.in += 1 } else { crossings.out += 1 }
        minute?.crossings[line] = crossings
    }

    /// Closes the minute in progress (end of a file, shutdown), so its counts are not lost.
    public mutating func finish() { closeMinute() }
}
