public import Foundation
import Synchronization
public import VeilCore

/// What each camera pipeline is doing now, for the console: its feed's state, the frames it processes per second, and
/// when its detectors last ran and what they see (a count, never who). Written by the pipelines, read on request.
public final class CameraStatusBoard: Sendable {
    public struct Status: Sendable, Equatable {
        /// `connecting`, `streaming` or `unavailable`.
        public var state: String
        public var since: Date
        /// Over the last five seconds.
        public var framesPerSecond: Double
        public var lastFrame: Date?
        /// When a detection pass last ran on the camera's frames (detection follows the CPU: not every frame).
        public var lastDetection: Date?
        /// Objects the tracker follows in the newest frame (people, faces, plates): a number.
        public var objectsInView: Int
    }

    private struct Entry {
        var status: Status
        var recentFrames: [Date] = []
    }

    private let entries = Mutex<[CameraID: Entry]>([:])
    private let clock: @Sendable () -> Date

    public init(clock: @escaping @Sendable () -> Date = { Date() }) { self.clock = clock }

    public func status(of camera: CameraID) -> Status? {
        let now = clock()
        return entries.withLock { entries in
            guard var entry = entries[camera] else { return nil }
            entry.recentFrames.removeAll { now.timeIntervalSince($0) > 5 }
            entry.status.framesPerSecond = Double(entry.recentFrames.count) / 5
            entries[camera] = entry
            return entry.status
        }
    }

    func connection(_ camera: CameraID, state: String) {
        let now = clock()
        entries.withLock { entries in
            var entry =
                entries[camera] ?? Entry(status: Status(state: state, since: now, framesPerSecond: 0, objectsInView: 0))
            if entry.status.state != state {
                entry.status.state = state
                entry.status.since = now
            }
            if state != "streaming" {
                entry.recentFrames = []
                entry.status.objectsInView = 0
            }
            entries[camera] = entry
        }
    }

    func frame(_ camera: CameraID, detected: Bool, objects: Int) {
        let now = clock()
        entries.withLock { entries in
            var entry =
                entries[camera]
                ?? Entry(status: Status(state: "streaming", since: now, framesPerSecond: 0, objectsInView: 0))
            entry.recentFrames.append(now)
            if entry.recentFrames.count > 300 { entry.recentFrames.removeFirst(entry.recentFrames.count - 300) }
            entry.status.lastFrame = now
            entry.status.objectsInView = objects
            if detected { entry.status.lastDetection = now }
            entries[camera] = entry
        }
    }

    /// A camera whose pipeline stopped is forgotten.
    func remove(_ camera: CameraID) { _ = entries.withLock { $0.removeValue(forKey: camera) } }
}
