public import Foundation
import Synchronization
public import VeilCore
public import VeilPolicy
public import X509

/// The one owner of the policy in force and the revocation list. Both are swapped together, atomically, and every
/// part of the gateway that acts on them — the TLS verifier, the camera supervisor, the retention sweeper, the vault,
/// the partner API — reads ``current`` or follows ``updates()``; none keeps a copy of its own that a reload would have
/// to update one after another.
///
/// Only the ``PolicyReloader`` (SIGHUP) and start-up write it.
public final class PolicyInForce: Sendable {
    /// What is in force at one moment.
    public struct Snapshot: Sendable {
        public var policy: CompiledPolicy
        /// Serials refused at the handshake and on open connections (lower-case hex).
        public var revokedSerials: Set<String>
        /// Each partner's own CA, read when the policy was accepted (from the signed bundle when bundles are signed).
        public var partnerRoots: [PartnerID: [Certificate]]
        /// Counts the swaps: a subscriber that sees the same generation twice has nothing new to do.
        public var generation: Int
        /// Which DPO key signed the bundle the policy came from (SHA-256 of the public key), nil when unsigned.
        public var signer: String?
        /// When the gateway put the policy in force.
        public var loadedAt = Date()

        public init(
            policy: CompiledPolicy, revokedSerials: Set<String>, partnerRoots: [PartnerID: [Certificate]] = [:],
            generation: Int = 0, signer: String? = nil
        ) {
            self.policy = policy
            self.revokedSerials = revokedSerials
            self.partnerRoots = partnerRoots
            self.generation = generation
            self.signer = signer
        }
    }

    private let state: Mutex<Snapshot>
    private let subscribers = Mutex<[UUID: AsyncStream<Snapshot>.Continuation]>([:])

    public init(_ initial: Snapshot) {
        state = Mutex(initial)
    }

    public var current: Snapshot { state.withLock { $0 } }
    public var policy: CompiledPolicy { current.policy }

    /// Swaps in what `change` makes of the snapshot in force and publishes it to every subscriber.
    @discardableResult
    public func update(_ change: (inout Snapshot) -> Void) -> Snapshot {
        let snapshot = state.withLock { snapshot in
            change(&snapshot)
            snapshot.generation += 1
            return snapshot
        }
        for continuation in subscribers.withLock({ Array($0.values) }) { continuation.yield(snapshot) }
        return snapshot
    }

    /// Every snapshot swapped in from now on, newest only: a subscriber that falls behind skips to the latest (each
    /// snapshot is whole, so nothing in between is needed). Ends when the subscriber's task is cancelled.
    public func updates() -> AsyncStream<Snapshot> {
        let (stream, continuation) = AsyncStream.makeStream(of: Snapshot.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        subscribers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in self?.subscribers.withLock { _ = $0.removeValue(forKey: id) } }
        return stream
    }
}
