import Foundation
public import Logging
public import ServiceLifecycle
public import VeilCore

/// A peer Veilgate site: its id as this site's policy and logs name it (imported cameras become
/// `ID.CAMERA`), and `https://host:port` of its partner API with the certificate it issued to this site.
public struct PeerSite: Sendable, Hashable {
    public var id: PartnerID
    public var remote: RemoteEndpoint

    public init(id: PartnerID, remote: RemoteEndpoint) {
        self.id = id
        self.remote = remote
    }
}

/// Subscribes to a peer site's alert stream and imports what that site grants into this site's journal.
///
/// Imported alerts carry their origin and the peer's re-share flag; one the peer did not allow passing on
/// is never sent to anyone from here (``Alert/mayBeShared``), and one it did allow is decided by this
/// site's own policy like any local alert, under the camera id `PEER.CAMERA`. The import and the cursor
/// move in one transaction, so reconnects and restarts neither lose nor repeat an alert.
public final class PeerSubscription: Service, Sendable {
    public let peer: PeerSite
    /// Where imported alerts go: this site's journal.
    let alerts: any AlertSink
    let logger: Logger
    let maxBackoff: Duration

    public init(peer: PeerSite, alerts: any AlertSink, logger: Logger, maxBackoff: Duration = .seconds(60)) {
        self.peer = peer
        self.alerts = alerts
        self.logger = logger
        self.maxBackoff = maxBackoff
    }

    public func run() async throws {
        var backoff = Duration.milliseconds(500)
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                let client = try peer.remote.client()
                // Shutting down waits for a stream left open (seconds); the next attempt need not wait for it.
                defer { Task { await client.shutdown() } }
                let before = try alerts.importCursor(for: peer.id)
                defer {
                    // A connection that delivered something was healthy: start backing off afresh.
                    if (try? alerts.importCursor(for: peer.id)) ?? before > before { backoff = .milliseconds(500) }
                }
                try await cancelWhenGracefulShutdown {
                    try await client.events("/v1/alerts", lastEventID: before) { event in
                        try self.importEvent(event)
                        return true
                    }
                }
                if Task.isShuttingDownGracefully { return }
                logger.notice("peer stream ended; reconnecting", metadata: ["peer": "\(peer.id)"])
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                logger.warning(
                    "peer unreachable; retrying",
                    metadata: [
                        "peer": "\(peer.id)", "error": "\(error)",
                        "retry-in": "\(backoff)",
                    ])
            }
            let pause = backoff
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            backoff = min(backoff * 2, maxBackoff)
        }
    }

    func importEvent(_ event: PartnerClient.Event) throws {
        guard event.event == "alert", let id = event.id else { return }
        guard let granted = try? JSONDecoder.iso8601.decode(GrantedAlert.self, from: Data(event.data.utf8)),
            let kind = granted.kind
        else {
            logger.warning(
                "peer sent an alert without a kind; skipped", metadata: ["peer": "\(peer.id)", "event": "\(id)"])
            return
        }
        let camera = CameraID("\(peer.id.rawValue).\(granted.camera?.rawValue ?? "unknown")")
        let alert = Alert(
            kind: kind, camera: camera, zone: granted.zone, time: granted.time ?? Date(), count: granted.count,
            boxes: granted.boxes, track: granted.track, snapshot: granted.snapshot, origin: peer.id,
            reshare: granted.reshare ?? false)
        try alerts.importAlert(alert, fromPeer: peer.id, eventID: id)
    }
}
