import Foundation
import Synchronization
public import VeilCore
public import VeilVault
public import VeilVision

/// Watchlist matching on a camera (`watchlist-match`): the plates its tracker follows are read
/// (``PlateReader``, in memory), compared with the partners' watchlists as keyed hashes (``Watchlists``), and a match
/// raises an alert carrying the owning partner's reference — for that partner alone. Plate text is never kept, logged
/// or sent: a reading is dropped as soon as it is compared.
///
/// Reading costs about 60 ms a plate on one core, so each plate track is read at most ``maximumReads`` times, at most
/// one read every ``readInterval`` seconds and ``readsPerFrame`` reads a frame, and not again once it matched.
public final class PlateWatch: Sendable {
    let camera: CameraID
    let reader: PlateReader
    let watchlists: Watchlists

    static let maximumReads = 6
    static let readInterval = 0.4
    static let readsPerFrame = 2
    /// Smaller plates are not legible (the recogniser reads 48 px high lines).
    static let minimumWidth = 40.0

    private struct Track {
        var reads = 0
        var lastRead = -Double.infinity
        var matched = false
        var lastSeen: Double
    }

    private let tracks = Mutex<[Int: Track]>([:])

    public init(camera: CameraID, reader: PlateReader, watchlists: Watchlists) {
        self.camera = camera
        self.reader = reader
        self.watchlists = watchlists
    }

    /// The alerts for the plates of `frame` that match a watchlist in force.
    public func observe(_ frame: TrackedFrame) -> [Alert] {
        // Asking the watchlists looks at their file: only on frames with a plate in view, never on every frame.
        guard let picture = frame.picture,
            frame.tracks.contains(where: { $0.kind == .plates && $0.unseenFor == 0 }), !watchlists.isEmpty()
        else { return [] }
        let due: [RedactionTracker.Covered] = tracks.withLock { tracks in
            tracks = tracks.filter { frame.time - $0.value.lastSeen < 30 }
            var due: [RedactionTracker.Covered] = []
            for covered in frame.tracks
            where covered.kind == .plates && covered.unseenFor == 0 && covered.box.width >= Self.minimumWidth {
                var track = tracks[covered.track] ?? Track(lastSeen: frame.time)
                track.lastSeen = frame.time
                if !track.matched, track.reads < Self.maximumReads, frame.time - track.lastRead >= Self.readInterval,
                    due.count < Self.readsPerFrame
                {
                    track.reads += 1
                    track.lastRead = frame.time
                    due.append(covered)
                }
                tracks[covered.track] = track
            }
            return due
        }
        var alerts: [Alert] = []
        let time = frame.origin.addingTimeInterval(frame.time)
        for covered in due {
            guard let reading = try? reader.read(picture, box: covered.box) else { continue }
            let matches = watchlists.matches(reading.text, at: time)
            guard !matches.isEmpty else { continue }
            tracks.withLock { $0[covered.track]?.matched = true }
            let box = covered.box
            let normalised = [
                box.x1 / Double(frame.width), box.y1 / Double(frame.height), box.width / Double(frame.width),
                box.height / Double(frame.height),
            ]
            for match in matches {
                alerts.append(
                    Alert(
                        kind: .watchlistMatch, camera: camera, time: time, boxes: [normalised], track: covered.track,
                        reference: match.reference, audience: match.owner))
            }
        }
        return alerts
    }
}
