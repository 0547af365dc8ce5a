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
