import Foundation
import VeilCore
import VeilMedia

/// The vault tests of the gateway's rights work (subject access, unmasking) store footage under: every category listed
/// is kept three days, nothing else at all.
struct KeepsCategories: RetentionSchedule {
    let kept: Set<DataCategory>
    var policyVersion: String { "rights-test" }
    var legalHoldMaxDuration: PolicyDuration? { .days(30) }
    var legalHoldRequiresCaseReference: Bool { false }

    init(_ kept: Set<DataCategory>) { self.kept = kept }

    func retention(camera: CameraID, category: DataCategory, eventKind: AlertKind?) -> RetentionPeriod? {
        RetentionPeriod(rule: RuleID("keep-\(category.rawValue)"), duration: .days(3))
    }

    func permitsStorage(camera: CameraID, category: DataCategory) -> Bool { kept.contains(category) }
}

/// One decoded frame's luma, packed (no row padding), to compare outputs with originals pixel by pixel.
struct LumaFrame {
    var time: Double
    var width: Int
    var luma: [UInt8]

    /// Every frame of a source, in order.
    static func all(of source: MediaSource) throws -> [LumaFrame] {
        var frames: [LumaFrame] = []
        while let frame = try source.nextFrame() {
            frames.append(
                frame.withPlanes { planes in
                    var luma = [UInt8](repeating: 0, count: planes.width * planes.height)
                    for row in 0..<planes.height {
                        for column in 0..<planes.width {
                            luma[row * planes.width + column] = planes.y[row * planes.yStride + column]
                        }
                    }
                    return LumaFrame(time: frame.time, width: planes.width, luma: luma)
                })
        }
        return frames
    }

    /// Every frame of fragmented MP4 files held in memory (vault segments, export parts), one after the other.
    static func all(of files: [[UInt8]]) throws -> [LumaFrame] {
        try files.flatMap { try all(of: MediaSource(bytes: $0, name: "footage")) }
    }
}
