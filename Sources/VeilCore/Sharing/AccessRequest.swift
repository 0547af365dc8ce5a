public import Foundation

/// A partner's request, as the federation API or `policy explain` puts it to the policy.
public struct AccessRequest: Hashable, Sendable {
    public var partner: PartnerID
    public var camera: CameraID
    public var action: SharingAction
    /// The moment of the request: evaluation never reads a clock.
    public var at: Date
    /// For clips: the start of the requested footage, checked against the grant's `max-age`.
    public var footageStart: Date?
    /// Whether the request carries a justification (a case or warrant reference). Only its presence is
    /// decided on; its text goes to the audit log, never into a decision.
    public var hasJustification: Bool
    /// For alerts: the zone or line the alert concerns.
    public var zone: ZoneID?

    public init(
        partner: PartnerID, camera: CameraID, action: SharingAction, at: Date, footageStart: Date? = nil,
        hasJustification: Bool = false, zone: ZoneID? = nil
    ) {
        self.partner = partner
        self.camera = camera
        self.action = action
        self.at = at
        self.footageStart = footageStart
        self.hasJustification = hasJustification
        self.zone = zone
    }
}
