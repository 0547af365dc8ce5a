public import Foundation

/// An analytics alert as raised on site, before any partner sees it. What a partner receives is the
/// subset its grant names (``fields(granted:)``); nothing identifying is ever part of an alert.
public struct Alert: Hashable, Sendable, Codable {
    public var kind: AlertKind
    public var camera: CameraID
    public var zone: ZoneID?
    public var time: Date
    /// People or objects counted (crowd counts, line crossings).
    public var count: Int?
    /// Boxes of the objects involved, in frame fractions (x, y, width, height), without identity.
    public var boxes: [[Double]]?
    /// The camera-local track id linking alerts about the same object.
    public var track: Int?
    /// A redacted still of the moment, JPEG, base64 (an alert received from a peer site carries it inline).
    public var snapshot: String?
    /// This site's own alerts keep their snapshot encrypted in the vault, under the events retention, and carry only
    /// its reference; the alert stream puts the picture in for a partner whose grant sends snapshots
    /// (``AlertSnapshotStore``). Never sent itself.
    public var snapshotID: String?
    /// For an alert received from a peer site: that site (as this site's policy names it). Nil for our own.
    public var origin: PartnerID?
    /// For an alert received from a peer site: whether that site allowed passing it on. Anything but an
    /// explicit yes means it goes to nobody from here, whatever this site's policy says.
    public var reshare: Bool?
    /// A watchlist match: the owning partner's reference for the entry that matched (never the plate).
    public var reference: String?
    /// The only partner that may receive this alert (a watchlist match goes to the list's owner alone); nil for any
    /// partner the policy grants it to.
    public var audience: PartnerID?

    /// Whether this site may share the alert at all (its own, or a peer's that allowed re-sharing).
    public var mayBeShared: Bool { origin == nil || reshare == true }

    /// Whether this site may share the alert with `partner`, before its grants are asked: shareable at all, and for
    /// that partner where the alert names its audience.
    public func mayBeShared(with partner: PartnerID) -> Bool {
        mayBeShared && (audience == nil || audience == partner)
    }

    public init(
        kind: AlertKind, camera: CameraID, zone: ZoneID? = nil, time: Date, count: Int? = nil,
        boxes: [[Double]]? = nil, track: Int? = nil, snapshot: String? = nil, snapshotID: String? = nil,
        origin: PartnerID? = nil, reshare: Bool? = nil, reference: String? = nil, audience: PartnerID? = nil
    ) {
        self.reference = reference
        self.audience = audience
        self.snapshotID = snapshotID
        self.origin = origin
        self.reshare = reshare
        self.kind = kind
        self.camera = camera
        self.zone = zone
        self.time = time
        self.count = count
        self.boxes = boxes
        self.track = track
        self.snapshot = snapshot
    }

    /// The alert with every field the grant does not name removed; `reshare` tells a peer site whether it
    /// may pass the alert on.
    public func fields(granted: [AlertField], reshare: Bool = false) -> GrantedAlert {
        let granted = Set(granted)
        return GrantedAlert(
            kind: granted.contains(.kind) ? kind : nil,
            camera: granted.contains(.camera) ? camera : nil,
            zone: granted.contains(.zone) ? zone : nil,
            time: granted.contains(.time) ? time : nil,
            count: granted.contains(.count) ? count : nil,
            boxes: granted.contains(.boxes) ? boxes : nil,
            track: granted.contains(.track) ? track : nil,
            snapshot: granted.contains(.snapshot) ? snapshot : nil,
            // An alert for one partner alone is never passed on.
            reshare: reshare && audience == nil ? true : nil,
            reference: reference)
    }
}

/// The part of an alert a partner may receive; absent fields are not encoded at all.
public struct GrantedAlert: Hashable, Sendable, Codable {
    public var kind: AlertKind?
    public var camera: CameraID?
    public var zone: ZoneID?
    public var time: Date?
    public var count: Int?
    public var boxes: [[Double]]?
    public var track: Int?
    public var snapshot: String?
    /// Present (true) only when the receiving peer site may pass the alert on.
    public var reshare: Bool?
    /// A watchlist match's reference, for the list's owner (the only partner that receives such an alert).
    public var reference: String?
}
