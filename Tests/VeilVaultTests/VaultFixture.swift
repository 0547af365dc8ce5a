import Foundation
import GRDB
import Testing
import VeilCore

@testable import VeilVault

/// A retention schedule written out in the test, so each test states the rules it relies on.
struct FixedSchedule: RetentionSchedule {
    var policyVersion = "test-1"
    var periods: [DataCategory: PolicyDuration] = [.rawVideo: .hours(72), .redactedVideo: .days(7), .events: .days(30)]
    var eventKinds: [AlertKind: PolicyDuration] = [:]
    var stored: Set<DataCategory> = [.rawVideo, .redactedVideo, .events]
    var legalHoldMaxDuration: PolicyDuration? = .days(180)
    var legalHoldRequiresCaseReference = true

    func retention(camera: CameraID, category: DataCategory, eventKind: AlertKind?) -> RetentionPeriod? {
        if let eventKind, let duration = eventKinds[eventKind] {
            return RetentionPeriod(rule: RuleID("events-\(eventKind)"), duration: duration)
        }
        return periods[category].map { RetentionPeriod(rule: RuleID("\(category.rawValue)-rule"), duration: $0) }
    }

    func permitsStorage(camera: CameraID, category: DataCategory) -> Bool { stored.contains(category) }
}

/// A vault in a fresh temporary state folder.
struct VaultFixture {
    let state: URL
    let configuration: VaultConfiguration

    init() throws {
        state = FileManager.default.temporaryDirectory.appendingPathComponent("veilgate-vault-\(UUID().uuidString)")
        configuration = .standard(stateDirectory: state.path, environment: [:])
        try Vault.initialise(configuration)
    }

    func open(_ schedule: FixedSchedule = FixedSchedule()) throws -> Vault {
        try Vault(configuration: configuration, schedule: schedule)
    }

    /// Edits the index file with SQL behind the vault's back, as someone with write access to the state folder could.
    func tamper(_ statements: (Database) throws -> Void) throws {
        try Self.tamper(index: configuration.indexPath, statements)
    }

    static func tamper(index path: String, _ statements: (Database) throws -> Void) throws {
        let index = try DatabaseQueue(path: path)
        try index.write { try statements($0) }
        try index.close()
    }

    func remove() {
        try? FileManager.default.removeItem(at: state)
        try? FileManager.default.removeItem(atPath: state.path + ".audit-anchor")
    }

    /// 2026-11-25 12:00 UTC.
    static let noon = Date(timeIntervalSince1970: 1_764_072_000)

    static func descriptor(
        _ camera: CameraID = "cam-a", _ category: DataCategory = .redactedVideo, start: Date,
        seconds: Double = 6
    ) -> SegmentDescriptor {
        SegmentDescriptor(
            camera: camera, category: category, start: start, end: start.addingTimeInterval(seconds),
            container: "mp4", policyVersion: "test-1",
            redaction: category == .redactedVideo ? RedactionSpec(classes: [.faces, .plates]) : .unredacted)
    }

    /// Recognisable plaintext: a repeated marker, so a test can search ciphertext for it.
    static func payload(_ size: Int, marker: String = "PLAINTEXT-MARKER") -> [UInt8] {
        let pattern = Array(marker.utf8)
        return (0..<size).map { pattern[$0 % pattern.count] }
    }

    func segmentFile(_ segment: StoredSegment) -> String {
        let day = ISO8601DateFormatter.string(
            from: segment.descriptor.start, timeZone: TimeZone(identifier: "UTC")!,
            formatOptions: [.withFullDate])
        return configuration.vaultDirectory + "/segments/\(segment.descriptor.camera)/\(day)/\(segment.id).vgs"
    }

    var indexPath: String { configuration.vaultDirectory + "/index.sqlite" }
}
