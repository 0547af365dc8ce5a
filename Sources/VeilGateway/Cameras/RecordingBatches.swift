import Foundation
import Logging
import VeilCore
import VeilMedia

/// A batch of one rendition's live segments on their way into the vault: every few live segments (each a couple of
/// seconds) become one vault segment of about `duration` seconds — the rendition's initialisation segment and the
/// fragments, one self-contained MP4 — for each category recorded from the rendition.
struct VideoRecordingBatch {
    /// The vault categories stored from the rendition (original footage, redacted video).
    let categories: [DataCategory]
    let duration: Double
    private var gathered = Data()
    private var from: Double?
    private var to = 0.0

    init(categories: [DataCategory], duration: Double) {
        self.categories = categories
        self.duration = duration
    }

    /// Adds one live segment covering `start` to `end` (stream times).
    mutating func add(_ segment: Data, start: Double, end: Double) {
        gathered += segment
        from = from ?? start
        to = end
    }

    /// With `force` (shutting down) or once enough is gathered: what has been gathered as one file per category, with
    /// the rendition's `initSegment` in front; the batch starts again empty.
    mutating func take(initSegment: Data?, redaction: RedactionSpec, force: Bool) -> [PendingRecording] {
        guard let initSegment, let from, !gathered.isEmpty, force || to - from >= duration else { return [] }
        defer {
            gathered = Data()
            self.from = nil
        }
        return categories.map {
            PendingRecording(bytes: initSegment + gathered, category: $0, redaction: redaction, start: from, end: to)
        }
    }
}

/// A camera's sound on its way into the vault, stored as it came (compressed, never re-encoded) in MP4 files of its
/// own, category `audio`: one every `duration` seconds, and at once when the sound's format changes or its time jumps.
struct AudioRecordingBatch {
    let duration: Double
    private var packets: [AudioPacket] = []
    /// Said once per pipeline: a codec MP4 cannot carry is dropped (the video is recorded all the same).
    private(set) var refusedCodec: String?

    init(duration: Double) { self.duration = duration }

    /// Adds the packets of one frame; returns what became whole files.
    mutating func add(_ incoming: [AudioPacket], logger: Logger, camera: CameraID) -> [PendingRecording] {
        var done: [PendingRecording] = []
        for packet in incoming {
            if let first = packets.first, !first.format.isSame(as: packet.format) {
                done += take(force: true, logger: logger, camera: camera)
            }
            // Time that jumps (back, or far ahead: a reconnect, a clock reset) starts a new file, so each stored one is
            // continuous and its times in the vault are right.
            if let last = packets.last,
                packet.time <= last.time || packet.time - last.time > 5 || packets.count >= 20_000
            {
                done += take(force: true, logger: logger, camera: camera)
            }
            if packets.isEmpty, !packet.format.fitsMP4 {
                if refusedCodec == nil {
                    logger.warning(
                        "camera audio cannot be stored as it is; dropped",
                        metadata: ["camera": "\(camera.rawValue)", "codec": "\(packet.format.codecName)"])
                }
                refusedCodec = packet.format.codecName
                continue
            }
            packets.append(packet)
        }
        return done + take(force: false, logger: logger, camera: camera)
    }

    /// With `force` or once enough is gathered: the sound so far as one MP4.
    mutating func take(force: Bool, logger: Logger, camera: CameraID) -> [PendingRecording] {
        guard let first = packets.first, let last = packets.last,
            force || last.time + last.duration - first.time >= duration
        else {
            return []
        }
        defer { packets = [] }
        do {
            return [
                PendingRecording(
                    bytes: try AudioMP4.file(of: packets), category: .audio, redaction: .unredacted, start: first.time,
                    end: max(last.time + last.duration, first.time + 0.001))
            ]
        } catch {
            logger.error("audio segment failed", metadata: ["camera": "\(camera.rawValue)", "error": "\(error)"])
            return []
        }
    }
}

/// A recorded file in stream time, before the pipeline dates it and hands it to its ``RecordingSink``.
struct PendingRecording {
    var bytes: Data
    var category: DataCategory
    var redaction: RedactionSpec
    var start: Double
    var end: Double
}
