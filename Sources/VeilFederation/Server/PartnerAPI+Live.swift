import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import VeilCore

/// Live streams as HLS: `/v1/cameras/:camera/live/index.m3u8`, its `init.mp4` and its `N.m4s` segments. Both are
/// decided as `live` on every request (a grant's time window can close mid-stream), and served from a rendition at
/// least as redacted as the grant demands (see ``LiveFeeds``).
extension PartnerAPI {
    /// How long a playlist request waits for a rendition that is just starting (its first segment has to be
    /// cut first) before answering 503 with Retry-After.
    static let liveWarmUp: Duration = .seconds(20)

    func livePlaylist(_ request: Request, _ context: PartnerRequestContext) async throws -> Response {
        let camera = CameraID(context.parameters.get("camera") ?? "")
        guard let (redaction, verdict) = try await decideLive(camera: camera, request, context) else {
            return .forbidden
        }
        guard let live else { return Self.unavailable }
        // A peer site relays the stream to its own partners only while this says so (its grant's `reshare: true`).
        let reshare = HTTPField.Name(LiveStreamFollower.reshareHeader)!
        if Self.isRelay(request), !verdict.reshareAllowed { return .forbidden }  // before any rendition starts for it
        let deadline = ContinuousClock.now + Self.liveWarmUp
        while true {
            switch live.request(camera: camera, redaction: redaction) {
            case .noPipeline:
                return Self.unavailable
            case .ready(_, let segments):
                return Response(
                    status: .ok,
                    headers: [
                        .contentType: "application/vnd.apple.mpegurl", .cacheControl: "no-store",
                        reshare: verdict.reshareAllowed ? "allowed" : "denied",
                    ],
                    body: .init(byteBuffer: ByteBuffer(string: live.playlist(of: segments))))
            case .warmingUp:
                guard ContinuousClock.now < deadline else { return Self.unavailable }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    func liveSegment(_ request: Request, _ context: PartnerRequestContext) async throws -> Response {
        let camera = CameraID(context.parameters.get("camera") ?? "")
        let name = context.parameters.get("segment") ?? ""
        let sequence = name.hasSuffix(".m4s") ? Int(name.dropLast(4)).flatMap { $0 >= 0 ? $0 : nil } : nil
        guard sequence != nil || name == "init.mp4" else { return .forbidden }
        guard let (redaction, verdict) = try await decideLive(camera: camera, request, context) else {
            return .forbidden
        }
        if Self.isRelay(request), !verdict.reshareAllowed { return .forbidden }
        guard let sequence else {
            guard let initSegment = live?.initSegment(camera: camera, redaction: redaction) else {
                return Self.unavailable
            }
            return Response(
                status: .ok, headers: [.contentType: "video/mp4", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: initSegment)))
        }
        guard let segment = live?.segment(camera: camera, redaction: redaction, sequence: sequence) else {
            // Allowed, but the segment has left the window (or never was): the partner knows the camera already.
            return Response(
                status: .notFound, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"error":"no such segment"}"#)))
        }
        if liveLedger.shouldRecord(.share, partner: context.actor, camera: camera, allowed: true, at: clock()) {
            try await audit.record(
                AccessAuditEntry(
                    action: .share, actor: context.actor, subject: "camera:\(camera.rawValue)/live",
                    rules: verdict.rules,
                    details: [
                        "redaction": redaction.description, "segment": String(sequence),
                        "window": "\(Int(LiveAuditLedger.window)) s",
                    ],
                    at: clock()))
        }
        return Response(
            status: .ok, headers: [.contentType: "video/iso.segment", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: segment.bytes)))
    }

    /// Decides a live request. Allowed decisions are audited once a minute per partner and camera (players
    /// poll the playlist every couple of seconds); denials every time.
    private func decideLive(
        camera: CameraID, _ request: Request, _ context: PartnerRequestContext
    ) async throws
        -> (RedactionSpec, SharingVerdict)?
    {
        let ledger = liveLedger, actor = context.actor, now = clock()
        let verdict = try await authorize(
            .camera(camera, .live), request, context, subject: "camera:\(camera.rawValue)/live",
            audit: {
                ledger.shouldRecord(
                    .decision, partner: actor, camera: camera, allowed: $0.isAllowed,
                    at: now)
            })
        guard let redaction = verdict.redaction else { return nil }
        return (redaction, verdict)
    }

    /// A Veilgate site asking in order to relay the stream to its own partners.
    static func isRelay(_ request: Request) -> Bool {
        request.headers[HTTPField.Name(LiveStreamFollower.relayHeader)!] == "true"
    }

    static var unavailable: Response {
        Response(
            status: .serviceUnavailable, headers: [.contentType: "application/json", .retryAfter: "2"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"error":"live stream unavailable"}"#)))
    }
}

/// Decides when a live viewer's activity goes into the audit log: the first decision and the first segment,
/// then at most once per ``window`` per partner and camera — every change from allowed to denied at once.
final class LiveAuditLedger: Sendable {
    static let window: TimeInterval = 60

    private struct Key: Hashable {
        var action: AccessAuditEntry.Action
        var partner: String
        var camera: CameraID
    }

    private let last: Mutex<[Key: (at: Date, allowed: Bool)]> = Mutex([:])

    func shouldRecord(
        _ action: AccessAuditEntry.Action, partner: String, camera: CameraID, allowed: Bool, at now: Date
    ) -> Bool {
        last.withLock { last in
            let key = Key(action: action, partner: partner, camera: camera)
            if let previous = last[key], previous.allowed == allowed, now.timeIntervalSince(previous.at) < Self.window {
                return false
            }
            last[key] = (now, allowed)
            return true
        }
    }
}
