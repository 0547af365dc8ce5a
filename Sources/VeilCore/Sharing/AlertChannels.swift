public import Foundation

// How alerts travel between targets. `VeilAlerts` keeps them (the journal, its broker, the push outbox) and
// implements these; the camera analytics and peer imports write through `AlertSink`, the partner API and push delivery
// read through `AlertSource` and `PushOutbox`. `VeilGateway` connects them.

/// An alert as the journal keeps it: its sequence number is its id on every stream (SSE `id:`, `Last-Event-ID`, push).
public struct JournaledAlert: Sendable, Hashable {
    public var sequence: Int64
    public var alert: Alert

    public init(sequence: Int64, alert: Alert) {
        self.sequence = sequence
        self.alert = alert
    }
}

/// Where raised alerts and counts go: the journal, which the broker fans out to every subscriber.
public protocol AlertSink: Sendable {
    /// Journals an alert; subscribers receive it right after.
    @discardableResult
    func publish(_ alert: Alert) throws -> JournaledAlert
    /// Records minute counts (a minute written again replaces the earlier figure).
    func record(_ counts: [MinuteCount]) throws
    /// Imports a peer site's alert once: nil when that peer's event was imported before.
    @discardableResult
    func importAlert(_ alert: Alert, fromPeer peer: PartnerID, eventID: Int64) throws -> JournaledAlert?
    /// The last event of `peer` imported (0: none yet), to resume its stream after.
    func importCursor(for peer: PartnerID) throws -> Int64
}

/// Counts of a camera's alerts by kind, and its newest crowd count.
public struct AlertStatistics: Sendable, Equatable {
    public var byKind: [String: Int]
    public var latestCrowdCount: Int?

    public init(byKind: [String: Int], latestCrowdCount: Int?) {
        self.byKind = byKind
        self.latestCrowdCount = latestCrowdCount
    }
}

/// What the partner API and push delivery read: the journal, and its live feed.
public protocol AlertSource: Sendable {
    /// The newest sequence number (0: none yet).
    func lastSequence() throws -> Int64
    /// Journaled alerts after `sequence`, in order.
    func entries(after sequence: Int64, limit: Int) throws -> [JournaledAlert]
    /// Alerts journaled from now on. Ends when the subscriber falls behind by more than ``subscriptionBuffer`` alerts
    /// (it resumes from the journal) or at shutdown.
    func subscribe() -> AsyncStream<JournaledAlert>
    var subscriptionBuffer: Int { get }
    var subscriberCount: Int { get }
    /// Ends every live subscription (graceful shutdown of whoever serves them).
    func finishSubscriptions()
    func statistics(camera: CameraID, since: Date) throws -> AlertStatistics
    func minuteCounts(camera: CameraID, from: Date, to: Date) throws -> [MinuteCount]
}

/// One alert waiting to be pushed to a partner's endpoint.
public struct PushDeliveryItem: Sendable {
    public var id: Int64
    public var partner: PartnerID
    public var sequence: Int64
    public var camera: CameraID
    /// Stable across retries: the receiver drops a repeat.
    public var idempotencyKey: String
    /// The JSON body (``PushedAlert``): only the fields the partner's grant allows.
    public var payload: [UInt8]
    public var rules: [RuleID]
    public var attempts: Int
    /// The site's snapshot of the alert, where the partner's grant sends snapshots: its reference and the redaction the
    /// grant demanded when the alert was queued. Put into the body only when it is posted (the outbox keeps no image).
    public var snapshot: (reference: String, required: RedactionSpec)?

    public init(
        id: Int64, partner: PartnerID, sequence: Int64, camera: CameraID, idempotencyKey: String, payload: [UInt8],
        rules: [RuleID], attempts: Int, snapshot: (reference: String, required: RedactionSpec)? = nil
    ) {
        self.snapshot = snapshot
        self.id = id
        self.partner = partner
        self.sequence = sequence
        self.camera = camera
        self.idempotencyKey = idempotencyKey
        self.payload = payload
        self.rules = rules
        self.attempts = attempts
    }
}

/// What a partner's push endpoint receives: the journal sequence and the granted fields.
public struct PushedAlert: Codable, Sendable, Hashable {
    public var id: Int64
    public var alert: GrantedAlert

    public init(id: Int64, alert: GrantedAlert) {
        self.id = id
        self.alert = alert
    }
}

/// The durable queue of alerts to push, per partner: filled from the journal with what the policy in force grants,
/// drained by push delivery with retries.
public protocol PushOutbox: Sendable {
    /// Queues the alerts after the partner's cursor that `authority` lets it receive; returns how many.
    @discardableResult
    func fill(
        partner: PartnerID, from source: any AlertSource, authority: any SharingAuthority, now: Date
    ) throws -> Int
    /// Deliveries due now for a partner, oldest first.
    func due(partner: PartnerID, now: Date, limit: Int) throws -> [PushDeliveryItem]
    func markDelivered(_ delivery: PushDeliveryItem, at time: Date) throws
    func markFailed(_ delivery: PushDeliveryItem, retryAt: Date) throws
    /// How many alerts wait for a partner.
    func pendingCount(partner: PartnerID) throws -> Int
    /// Drops delivered entries older than a moment; returns how many.
    @discardableResult
    func prune(deliveredBefore time: Date) throws -> Int
}

/// Where the snapshots of this site's alerts are kept: encrypted in the vault under the events retention, like
/// segments, never in the alert journal. The camera pipeline stores one redacted with the least revealing profile of
/// the grants that send snapshots; the alert stream reads it back for a partner whose grant sends it.
public protocol AlertSnapshotStore: Sendable {
    /// Stores a redacted JPEG of `camera` taken at `time`; returns its reference.
    func store(jpeg: Data, camera: CameraID, at time: Date, redaction: RedactionSpec) async throws -> String
    /// The JPEG of `reference`, if it is `camera`'s and at least as redacted as `required`; nil otherwise (unknown,
    /// expired, another camera's, or redacted less than the receiving grant demands).
    func snapshot(_ reference: String, camera: CameraID, required: RedactionSpec) async throws -> Data?
}

extension AlertSnapshotStore {
    /// The snapshot `reference` as a partner may get it — base64, if kept, `camera`'s, and at least as redacted as
    /// the partner's grant demands (`required`); nil otherwise, or when there is no reference or no demand (a grant
    /// that does not send snapshots). What the alert stream and push delivery both put in an alert.
    public func granted(_ reference: String?, camera: CameraID, required: RedactionSpec?) async -> String? {
        guard let reference, let required,
            let jpeg = try? await snapshot(reference, camera: camera, required: required)
        else { return nil }
        return jpeg.base64EncodedString()
    }
}
