public import Foundation

/// People counted in one minute at one zone or line of a camera: the most in the zone at once, or the crossings of the
/// line each way. Numbers only. Made by the analytics, journaled by the gateway, served to partners with a `counts`
/// grant.
public struct MinuteCount: Sendable, Hashable, Codable {
    public var camera: CameraID
    public var zone: ZoneID
    public var minute: Date
    public var peakOccupancy: Int?
    public var crossingsIn: Int?
    public var crossingsOut: Int?

    public init(
        camera: CameraID, zone: ZoneID, minute: Date, peakOccupancy: Int? = nil, crossingsIn: Int? = nil,
        crossingsOut: Int? = nil
    ) {
        self.camera = camera
        self.zone = zone
        self.minute = minute
        self.peakOccupancy = peakOccupancy
        self.crossingsIn = crossingsIn
        self.crossingsOut = crossingsOut
    }
}
