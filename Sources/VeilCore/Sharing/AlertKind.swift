/// The kind of an analytics alert. Open-ended so that new analytics need no change here;
/// the kinds Veilgate itself raises are the static members.
public struct AlertKind: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public static let restrictedZone = AlertKind("restricted-zone")
    public static let loitering = AlertKind("loitering")
    public static let lineCrossing = AlertKind("line-crossing")
    public static let crowdCount = AlertKind("crowd-count")
    public static let unattendedObject = AlertKind("unattended-object")
    public static let loudSound = AlertKind("loud-sound")
    public static let running = AlertKind("running")
    /// A vehicle stayed in a zone longer than the zone allows (parking overstay, a car left on a fire lane).
    public static let vehicleDwell = AlertKind("vehicle-dwell")
    /// A read plate matched a partner's watchlist: the alert carries that partner's reference and goes to it alone.
    public static let watchlistMatch = AlertKind("watchlist-match")

    /// Every alert kind that Veilgate's analytics can raise.
    public static let known: [AlertKind] = [
        .restrictedZone, .loitering, .lineCrossing, .crowdCount, .unattendedObject, .loudSound, .running,
        .watchlistMatch, .vehicleDwell,
    ]

    public var description: String { rawValue }
    public static func < (lhs: AlertKind, rhs: AlertKind) -> Bool { lhs.rawValue < rhs.rawValue }
    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The analytics a camera may run. Alert-raising analytics share their name with the alert kind;
/// recognition analytics produce personal data (plate text) or special-category data (biometrics).
public enum Analytic: String, Sendable, CaseIterable, Codable, Comparable {
    case restrictedZone = "restricted-zone"
    case loitering
    case lineCrossing = "line-crossing"
    case crowdCount = "crowd-count"
    case unattendedObject = "unattended-object"
    case loudSound = "loud-sound"
    /// Someone moving faster than walking, measured in their own body heights per second (no identity, no zone needed).
    case running
    /// Reads licence-plate text: personal data (a plate identifies a vehicle's keeper).
    case plateRecognition = "plate-recognition"
    /// Matches faces against a watch-list: biometric identification, GDPR Art. 9.
    case faceRecognition = "face-recognition"
    /// Reads plates in memory and compares them with partners' watchlists, kept as keyed hashes; plate text is never
    /// stored. Raises `watchlist-match` for the partner whose list matched.
    case watchlistMatch = "watchlist-match"
    /// Vehicles (boxes only: no make, colour or plate) staying in a zone longer than its threshold.
    case vehicleDwell = "vehicle-dwell"

    /// The alert kind this analytic raises, if it raises one.
    public var alertKind: AlertKind? {
        switch self {
        case .plateRecognition, .faceRecognition: nil
        default: AlertKind(rawValue)
        }
    }

    /// Whether the analytic needs zones drawn on the camera.
    public var needsZones: Bool {
        self == .restrictedZone || self == .loitering || self == .unattendedObject || self == .vehicleDwell
    }
    /// Whether the analytic needs counting lines drawn on the camera.
    public var needsLines: Bool { self == .lineCrossing }

    public static func < (lhs: Analytic, rhs: Analytic) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The fields of an alert that a partner may receive. Anything not granted is stripped before sending.
public enum AlertField: String, Sendable, CaseIterable, Codable, Comparable {
    case kind, camera, zone, time, count
    /// A redacted still image of the moment.
    case snapshot
    /// Boxes of the objects involved, without identity.
    case boxes
    /// The track id linking alerts about the same object on this camera.
    case track

    public static func < (lhs: AlertField, rhs: AlertField) -> Bool { lhs.rawValue < rhs.rawValue }
}
