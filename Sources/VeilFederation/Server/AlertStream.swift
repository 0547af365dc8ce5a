import Foundation
import Hummingbird
import NIOCore
import Synchronization
import VeilCore

/// One partner's Server-Sent Events stream: the journal's alerts after `Last-Event-ID`, then live ones,
/// each decided against the current policy (kind, camera, zone) and cut down to the granted fields.
struct AlertStream: Sendable {
    let partner: PartnerID
    let actor: String
    let after: Int64
    let api: PartnerAPI
    /// The connection's close future.
    let closed: EventLoopFuture<Void>

    func run(_ writer: inout any ResponseBodyWriter) async throws {
        let events = AlertReplayThenLive(api.alerts, after: after, keepAlive: PartnerAPI.keepAlive)
        // A connection closed under the stream (a revocation, the partner going away) ends it at once rather than
        // at the next keep-alive.
        closed.whenComplete { _ in events.finish() }
        defer { events.finish() }

        try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
        var replayed = 0
        var replaying = true
        for try await event in events {
            switch event {
            case .alert(let entry):
                if try await send(entry, &writer), replaying { replayed += 1 }
            case .caughtUp(let last):
                replaying = false
                guard replayed > 0 else { continue }
                try await api.audit.record(
                    AccessAuditEntry(
                        action: .share, actor: actor, subject: "alerts/replay", rules: [],
                        details: [
                            "after": String(after), "through": String(last),
                            "alerts": String(replayed),
                        ], at: api.clock()))
            case .keepAlive:
                try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
            }
        }
        try await writer.finish(nil)
    }

    /// Sends one alert if the policy allows it now; returns whether it was sent.
    private func send(_ entry: JournaledAlert, _ writer: inout any ResponseBodyWriter) async throws -> Bool {
        let alert = entry.alert
        // A peer's alert that its site did not allow passing on goes to nobody from here; one for another partner
        // alone (a watchlist match) not to this one.
        guard alert.mayBeShared(with: partner) else { return false }
        let verdict = api.authority.verdict(
            for: AccessRequest(
                partner: partner, camera: alert.camera, action: .alert(alert.kind),
                at: api.clock(), zone: alert.zone))
        guard verdict.isAllowed else { return false }
        var granted = alert.fields(granted: verdict.alertFields, reshare: verdict.reshareAllowed)
        // The site's own snapshot, read from the vault only for a grant that sends snapshots, and only if it is at
        // least as redacted as that grant demands (it was made with the least revealing profile of all such grants).
        var snapshotSent = false
        if verdict.alertFields.contains(.snapshot), granted.snapshot == nil,
            let picture = await api.snapshots?.granted(
                alert.snapshotID, camera: alert.camera, required: verdict.redaction)
        {
            granted.snapshot = picture
            snapshotSent = true
        }
        let data = try JSONEncoder.compact.encode(granted)
        var buffer = ByteBuffer(string: "id: \(entry.sequence)\nevent: alert\ndata: ")
        buffer.writeBytes(data)
        buffer.writeString("\n\n")
        try await writer.write(buffer)
        try await api.audit.record(
            AccessAuditEntry(
                action: .share, actor: actor, subject: "camera:\(alert.camera.rawValue)/alert:\(entry.sequence)",
                rules: verdict.rules,
                details: ["kind": alert.kind.rawValue].merging(snapshotSent ? ["snapshot": "sent"] : [:]) { $1 },
                at: api.clock()))
        return true
    }
}

/// How many alert streams each partner holds open, against a limit.
final class StreamQuota: Sendable {
    let perPartner: Int
    private let open = Mutex<[String: Int]>([:])

    init(perPartner: Int) { self.perPartner = max(1, perPartner) }

    /// One stream for `caller`, or nil when it holds as many as it may.
    func take(for caller: String) -> Ticket? {
        let taken = open.withLock { open -> Bool in
            guard open[caller, default: 0] < perPartner else { return false }
            open[caller, default: 0] += 1
            return true
        }
        return taken ? Ticket(quota: self, caller: caller) : nil
    }

    func count(for caller: String) -> Int { open.withLock { $0[caller, default: 0] } }

    fileprivate func release(_ caller: String) {
        open.withLock { open in
            open[caller, default: 1] -= 1
            if open[caller] ?? 0 <= 0 { open[caller] = nil }
        }
    }

    /// A stream's place in the quota, given back once however many times it is asked to.
    final class Ticket: Sendable {
        private let quota: StreamQuota
        private let caller: String
        private let returned = Atomic<Bool>(false)

        fileprivate init(quota: StreamQuota, caller: String) {
            self.quota = quota
            self.caller = caller
        }

        func giveBack() {
            guard !returned.exchange(true, ordering: .relaxed) else { return }
            quota.release(caller)
        }
    }
}
