public import Foundation
import Metrics
public import VeilCore
import VeilFederation
public import VeilVault

/// The vault as the federation server's footage archive: descriptions from the index, contents decrypted
/// only after the server has decided and audited.
public struct VaultFootageArchive: FootageArchive {
    let vault: Vault

    public init(vault: Vault) { self.vault = vault }

    public func footage(camera: CameraID, from: Date, to: Date) async throws -> [FootageSegment] {
        try await vault.segments(camera: camera, from: from, to: to).map(Self.describe)
    }

    public func footage(camera: CameraID, id: String) async throws -> FootageSegment? {
        guard let segment = try await vault.segment(id), segment.descriptor.camera == camera else { return nil }
        return Self.describe(segment)
    }

    public func contents(of segment: FootageSegment) async throws -> [UInt8] {
        try await vault.read(segment.id)
    }

    static func describe(_ segment: StoredSegment) -> FootageSegment {
        let descriptor = segment.descriptor
        return FootageSegment(
            id: segment.id, camera: descriptor.camera, category: descriptor.category, start: descriptor.start,
            end: descriptor.end, size: segment.size, container: descriptor.container,
            redaction: descriptor.redaction)
    }
}

/// The vault as the keeper of alert snapshots: each JPEG encrypted and indexed like a segment, in the `events` category
/// (so the events retention removes it with its alert, and no clip ever includes it), with the redaction it was made
/// with.
public struct VaultAlertSnapshots: AlertSnapshotStore {
    let vault: Vault
    /// The policy version in force, recorded with each snapshot.
    let policyVersion: @Sendable () -> String

    public init(vault: Vault, policyVersion: @escaping @Sendable () -> String) {
        self.vault = vault
        self.policyVersion = policyVersion
    }

    public func store(jpeg: Data, camera: CameraID, at time: Date, redaction: RedactionSpec) async throws -> String {
        let descriptor = SegmentDescriptor(
            camera: camera, category: .events, start: time, end: time.addingTimeInterval(0.04), container: "jpg",
            policyVersion: policyVersion(), redaction: redaction)
        let stored = try await vault.store([UInt8](jpeg), as: descriptor)
        Counter(label: "veilgate_alert_snapshots_total", dimensions: [("camera", camera.rawValue)]).increment()
        return stored.id
    }

    public func snapshot(_ reference: String, camera: CameraID, required: RedactionSpec) async throws -> Data? {
        guard let segment = try await vault.segment(reference), segment.descriptor.camera == camera,
            segment.descriptor.category == .events, segment.descriptor.container == "jpg",
            let stored = segment.descriptor.redaction, stored.isAtLeastAsProtective(as: required)
        else { return nil }
        return Data(try await vault.read(reference))
    }
}

/// The vault's hash-chained, signed audit log as the federation server's audit trail.
public struct VaultAuditTrail: AccessAuditTrail {
    let log: AuditLog

    public init(log: AuditLog) { self.log = log }

    public func record(_ entry: AccessAuditEntry) async throws {
        let action: AuditLog.Action = entry.action == .decision ? .decision : .share
        Counter(
            label: "veilgate_access_total",
            dimensions: [("action", action.rawValue), ("effect", entry.details["effect"] ?? "allow")]
        )
        .increment()
        try log.append(
            action, actor: entry.actor, subject: entry.subject, rules: entry.rules.map(\.rawValue),
            details: entry.details, at: entry.at)
    }
}

/// Partners' own watchlists through the partner API, kept by the vault's ``Watchlists`` as keyed hashes only.
struct VaultPartnerWatchlists: PartnerWatchlists {
    let watchlists: Watchlists

    func replace(owner: PartnerID, file: Data, lifetime: TimeInterval) throws -> PartnerWatchlistSummary {
        let now = Date()
        do {
            let entries = try WatchlistFile.parse(file, name: "watchlist")
            return Self.summary(
                try watchlists.replace(
                    owner: owner, entries: entries, expires: now.addingTimeInterval(lifetime), at: now))
        } catch let error as VaultError {
            throw PartnerWatchlistRefusal(message: error.message)
        }
    }

    func summary(owner: PartnerID) -> PartnerWatchlistSummary? {
        watchlists.summaries().first { $0.owner == owner.rawValue }.map(Self.summary)
    }

    func clear(owner: PartnerID) throws -> Bool { try watchlists.clear(owner: owner) }

    static func summary(_ summary: Watchlists.Summary) -> PartnerWatchlistSummary {
        PartnerWatchlistSummary(entries: summary.entries, importedAt: summary.importedAt, expiresAt: summary.expiresAt)
    }
}

/// Why an uploaded watchlist was refused, as the partner reads it (a line and a problem, never a plate).
struct PartnerWatchlistRefusal: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
