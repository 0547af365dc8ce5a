public import Foundation
import Synchronization
public import VeilCore

/// What an evidence officer or a DPO may take out of the vault now, and until when: an export of redacted footage (at
/// once), an export of original footage or a view of it (once a second person of another role approved). Each is for
/// the operator who asked, for a limited time. In memory: a gateway restart drops them all, which fails closed.
public final class EvidenceGrants: Sendable {
    public struct Grant: Sendable, Codable, Equatable {
        public enum Kind: String, Sendable, Codable {
            /// A signed export bundle of redacted footage.
            case export
            /// A signed export bundle of original (identifiable) footage: approved by a second person.
            case originalExport = "original-export"
            /// Watching original footage in the console: approved by a second person.
            case originalView = "original-view"
        }

        public var id: String
        public var kind: Kind
        public var camera: String
        public var from: Date
        public var to: Date
        public var requestedBy: String
        /// Who approved it (original footage only).
        public var approvedBy: String?
        public var grantedAt: Date
        public var expiresAt: Date
    }

    /// How long an export can be downloaded, and an approved view watched.
    public static let exportLifetime: TimeInterval = 24 * 3600
    public static let viewLifetime: TimeInterval = 30 * 60

    private let granted = Mutex<[String: Grant]>([:])
    private let clock: @Sendable () -> Date

    public init(clock: @escaping @Sendable () -> Date = { Date() }) { self.clock = clock }

    @discardableResult
    public func grant(
        _ kind: Grant.Kind, camera: String, from: Date, to: Date, requestedBy: String, approvedBy: String? = nil
    ) -> Grant {
        let now = clock()
        let grant = Grant(
            id: (kind == .originalView ? "view-" : "export-") + UUID().uuidString.lowercased().prefix(8), kind: kind,
            camera: camera, from: from, to: to, requestedBy: requestedBy, approvedBy: approvedBy, grantedAt: now,
            expiresAt: now.addingTimeInterval(kind == .originalView ? Self.viewLifetime : Self.exportLifetime))
        granted.withLock { granted in
            granted = granted.filter { $0.value.expiresAt > now }
            granted[grant.id] = grant
        }
        return grant
    }

    /// The operator's grants in force, newest first.
    public func grants(of requester: OperatorID) -> [Grant] {
        let now = clock()
        return granted.withLock { granted in
            granted = granted.filter { $0.value.expiresAt > now }
            return granted.values.filter { $0.requestedBy == requester.rawValue }.sorted { $0.grantedAt > $1.grantedAt }
        }
    }

    /// The grant `id` if it is the operator's and still in force.
    public func grant(_ id: String, of requester: OperatorID) -> Grant? {
        grants(of: requester).first { $0.id == id }
    }
}
