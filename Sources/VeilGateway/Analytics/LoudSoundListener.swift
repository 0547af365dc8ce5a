public import Foundation
import VeilAnalytics
public import VeilCore
public import VeilMedia

/// `loud-sound` on a camera's audio packets: measured in memory (``AudioLevelMeter``, made at the first packet, when
/// the format is known) and judged against the camera's own baseline (``LoudSoundDetector``). The gateway's analytics
/// sink and `veilgate analyse` both listen through it. One caller at a time (the camera's own thread).
public struct LoudSoundListener: Sendable {
    public let camera: CameraID
    private var meter: AudioLevelMeter?
    private var detector = LoudSoundDetector()

    public init(camera: CameraID) { self.camera = camera }

    /// The alerts the sound demuxed since the previous frame completes; `origin` is the wall-clock time of stream time
    /// 0.
    public mutating func alerts(for audio: [AudioPacket], origin: Date) -> [Alert] {
        guard let first = audio.first else { return [] }
        if meter == nil { meter = AudioLevelMeter(format: first.format) }
        var alerts: [Alert] = []
        for level in meter?.levels(of: audio) ?? [] where detector.observe(level: level.rms, at: level.time) != nil {
            alerts.append(Alert(kind: .loudSound, camera: camera, time: origin.addingTimeInterval(level.time)))
        }
        return alerts
    }
}
