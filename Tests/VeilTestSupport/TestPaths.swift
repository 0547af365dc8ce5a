public import Foundation

/// Where tests find things: the repository, the shared media beside it (`../shared/data`, see `MEDIA.md`; never copied
/// into the repository), the models `make setup` fetched, and fresh temporary folders.
public enum TestPaths {
    /// The repository's folder, found from this file's path (`Tests/VeilTestSupport/TestPaths.swift`).
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    /// `../shared/data`.
    public static let sharedData = repository.deletingLastPathComponent().appendingPathComponent("shared/data")
    /// The models folder: `$VEILGATE_MODELS`, else `.cache/models` in the repository.
    public static let models =
        ProcessInfo.processInfo.environment["VEILGATE_MODELS"]
        ?? repository.appendingPathComponent(".cache/models").path
    /// OpenCV's `vtest.avi`: 795 frames of 768×576 at 10 fps, people walking.
    public static let vtest = sharedData.appendingPathComponent("video/vtest.avi").path
    public static let megamind = sharedData.appendingPathComponent("video/Megamind.avi").path

    /// A shared media file by its path under `shared/data`.
    public static func media(_ relative: String) -> String { sharedData.appendingPathComponent(relative).path }

    /// A new empty folder under the system's temporary folder; the caller removes it.
    public static func temporaryFolder(_ prefix: String = "veilgate-test") throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }
}

/// A small deterministic generator (SplitMix64), so a failing property or fuzz case can be replayed from its seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
