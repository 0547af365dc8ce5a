import Foundation
import VeilCore

// The rows of the vault's index, as every `VaultIndexStore` keeps them. Each row a vault acts on carries a MAC (see
// `IndexAuthenticator`) over `authenticatedFields`, so a store — SQLite here, another database later — is trusted to
// keep rows, never to vouch for them.

struct SegmentRow: Codable, Sendable {
    var id: String
    var camera: String
    var category: String
    var start: Double
    var end: Double
    var bucket: String
    var container: String
    var size: Int64
    /// SHA-256 over the file's header and every chunk's authentication tag: cheap to check, and any change to
    /// the file that survives it fails authentication anyway.
    var fingerprint: String
    var state: String
    var policyVersion: String
    /// The redaction in words (``RedactionSpec/storageLabel(for:)``), which the MAC covers.
    var redaction: String
    /// The redaction as a typed value, stored as JSON; it counts only where it matches `redaction` (which the MAC
    /// covers), so an edited value is treated as unknown and never shared.
    var redactionSpec: RedactionSpec?
    var createdAt: Double
    var mac = ""

    /// The fields the row's MAC covers: everything the vault acts on.
    var authenticatedFields: [String] {
        [
            "segment", id, camera, category, Canonical.number(start), Canonical.number(end), bucket, container,
            String(size), fingerprint, state, policyVersion, redaction,
        ]
    }

    /// Where the file lives, derived from authenticated fields (never stored, so never redirected).
    var relativePath: String {
        let day = bucket.split(separator: "/").last.map { String($0.prefix(10)) } ?? "unknown"
        return "segments/\(camera)/\(day)/\(id).vgs"
    }

    /// Every row written today is complete: a segment is recorded only once its file is whole on disk.
    static let complete = "complete"
}

struct BucketRow: Codable, Sendable {
    var id: String
    var camera: String
    var category: String
    var dayStart: Double
    var dayEnd: Double
    var state: String
    var createdAt: Double
    var destroyedAt: Double?
    var destroyedBy: String?
    var mac = ""

    var authenticatedFields: [String] {
        [
            "bucket", id, camera, category, Canonical.number(dayStart), Canonical.number(dayEnd), state,
            Canonical.number(destroyedAt), destroyedBy ?? "-",
        ]
    }

    static let active = "active"
    static let destroyed = "destroyed"
}

struct HoldRow: Codable, Sendable {
    var id: String
    var camera: String
    var start: Double
    var end: Double
    var caseReference: String?
    var placedAt: Double
    var placedBy: String
    var expiresAt: Double?
    var releasedAt: Double?
    var releasedBy: String?
    var mac = ""

    var authenticatedFields: [String] {
        [
            "hold", id, camera, Canonical.number(start), Canonical.number(end), caseReference ?? "-",
            Canonical.number(placedAt),
            placedBy, Canonical.number(expiresAt), Canonical.number(releasedAt), releasedBy ?? "-",
        ]
    }
}

/// One audit entry; the hash chain (``AuditLog``) is what protects it.
struct AuditRow: Codable, Sendable {
    var seq: Int64
    var time: Double
    var action: String
    var actor: String
    var subject: String
    var rules: String
    var details: String
    var previousHash: String
    var hash: String
}

/// A signed head of the audit chain.
struct CheckpointRow: Codable, Sendable {
    var seq: Int64
    var hash: String
    var time: Double
    var signer: String
    var signature: String
}

/// Complete segments of one camera and category, for `vault list` and retention.
struct SegmentSummary: Sendable {
    var camera: String
    var category: String
    var count: Int
    var first: Double
    var last: Double
}
