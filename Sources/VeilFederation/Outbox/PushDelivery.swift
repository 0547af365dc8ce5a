import Foundation
public import Logging
public import ServiceLifecycle
public import VeilCore

/// Delivers one partner's queued alerts over mutual TLS, with exponential back-off between attempts.
///
/// Wakes when the broker has something new and at least every `tick` for retries; each pass first moves
/// newly journaled alerts into the outbox (decided by the current policy), then posts whatever is due.
public final class PushDelivery: Service, Sendable {
    public let endpoint: PushEndpoint
    let outbox: any PushOutbox
    let alerts: any AlertSource
    /// The policy in force: what the partner may receive is decided afresh for each alert.
    let authority: @Sendable () -> any SharingAuthority
    let audit: any AccessAuditTrail
    /// Where this site's alert snapshots are kept (nil: alerts go without them).
    let snapshots: (any AlertSnapshotStore)?
    let logger: Logger
    let baseDelay: Duration
    let maxDelay: Duration
    let tick: Duration

    public init(
        endpoint: PushEndpoint, outbox: any PushOutbox, alerts: any AlertSource,
        authority: @escaping @Sendable () -> any SharingAuthority,
        audit: any AccessAuditTrail, snapshots: (any AlertSnapshotStore)? = nil, logger: Logger,
        baseDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(300), tick: Duration = .seconds(1)
    ) {
        self.snapshots = snapshots
        self.endpoint = endpoint
        self.outbox = outbox
        self.alerts = alerts
        self.authority = authority
        self.audit = audit
        self.logger = logger
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.tick = tick
    }

    public func run() async throws {
        guard let url = URL(string: endpoint.remote.url), let scheme = url.scheme, scheme == "https",
            let host = url.host
        else {
            throw FederationError(.invalidConfiguration, "push endpoint for \(endpoint.partner) must be an https URL")
        }
        let base = "https://\(host)\(url.port.map { ":\($0)" } ?? "")"
        let path = url.path.isEmpty ? "/" : url.path
        let client = try endpoint.remote.client(baseURL: base)
        let wakeups = alerts.subscribe()
        let (signals, signal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let tick = self.tick
        let forward = Task {
            for await _ in wakeups { signal.yield() }
        }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: tick)
                signal.yield()
            }
        }
        signal.yield()
        await withGracefulShutdownHandler {
            for await _ in signals.cancelOnGracefulShutdown() {
                await pass(client: client, path: path)
            }
        } onGracefulShutdown: {
            signal.finish()
        }
        forward.cancel()
        ticker.cancel()
        await client.shutdown()
    }

    /// One pass: queue what is new, then try everything due, oldest first; stop at the first failure
    /// (the partner is down; the rest would fail the same way).
    func pass(client: PartnerClient, path: String) async {
        let now = Date()
        do {
            try outbox.fill(partner: endpoint.partner, from: alerts, authority: authority(), now: now)
            for delivery in try outbox.due(partner: endpoint.partner, now: now, limit: 100) {
                guard !Task.isShuttingDownGracefully else { return }
                let delivered: Bool
                let (payload, snapshotSent) = await withSnapshot(delivery)
                do {
                    let response = try await client.post(
                        path, json: payload, headers: [("Idempotency-Key", delivery.idempotencyKey)])
                    delivered = (200..<300).contains(response.status)
                    if !delivered {
                        logger.warning(
                            "push refused",
                            metadata: ["partner": "\(endpoint.partner)", "status": "\(response.status)"])
                    }
                } catch {
                    delivered = false
                }
                if delivered {
                    try outbox.markDelivered(delivery, at: Date())
                    try await audit.record(
                        AccessAuditEntry(
                            action: .share, actor: "partner:\(endpoint.partner.rawValue)",
                            subject: "camera:\(delivery.camera.rawValue)/alert:\(delivery.sequence)",
                            rules: delivery.rules,
                            details: ["via": "push", "attempts": String(delivery.attempts + 1)].merging(
                                snapshotSent ? ["snapshot": "sent"] : [:]
                            ) { $1 },
                            at: Date()))
                } else {
                    try outbox.markFailed(
                        delivery, retryAt: Date().addingTimeInterval(retryDelay(after: delivery.attempts + 1)))
                    return
                }
            }
        } catch {
            logger.error("outbox pass failed", metadata: ["partner": "\(endpoint.partner)", "error": "\(error)"])
        }
    }

    /// Exponential back-off with jitter: base × 2^(attempts-1), capped, ±20 %.
    /// The delivery's body with its snapshot put in, where the grant sent snapshots when it was queued and the picture
    /// is still kept and at least as redacted as that grant demanded; otherwise the body as queued.
    func withSnapshot(_ delivery: PushDeliveryItem) async -> (payload: [UInt8], sent: Bool) {
        guard
            let picture = await snapshots?.granted(
                delivery.snapshot?.reference, camera: delivery.camera, required: delivery.snapshot?.required),
            var body = try? JSONDecoder.iso8601.decode(PushedAlert.self, from: Data(delivery.payload))
        else { return (delivery.payload, false) }
        body.alert.snapshot = picture
        guard let encoded = try? JSONEncoder.compact.encode(body) else { return (delivery.payload, false) }
        return ([UInt8](encoded), true)
    }

    func retryDelay(after attempts: Int) -> TimeInterval {
        let base = baseDelay.inSeconds
        let cap = Double(maxDelay.components.seconds)
        let delay = min(cap, base * pow(2, Double(min(attempts - 1, 30))))
        return delay * Double.random(in: 0.8...1.2)
    }
}

/// A partner's endpoint for pushed alerts: the URL alerts are POSTed to (e.g.
/// `https://police.example/veilgate/alerts`) and this site's identity there.
public struct PushEndpoint: Sendable, Hashable {
    public var partner: PartnerID
    public var remote: RemoteEndpoint

    public init(partner: PartnerID, remote: RemoteEndpoint) {
        self.partner = partner
        self.remote = remote
    }
}
