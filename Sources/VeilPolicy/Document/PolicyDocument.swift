public import Foundation
public import VeilCore

/// A policy exactly as a DPO wrote it, with the source position of every element, before compilation.
///
/// The parser fills it leniently (collecting every error rather than stopping at the first); the linter
/// checks it; ``CompiledPolicy`` indexes it for evaluation.
public struct PolicyDocument: Sendable {
    public var file: String
    public var metadata: Metadata
    public var purposes: [Purpose] = []
    public var cameras: [Camera] = []
    public var retention = RetentionSection()
    public var redaction = RedactionSection()
    public var partners: [Partner] = []
    public var denies: [DenyRule] = []
    /// The people who use the console, and their roles (`operators:`).
    public var operators: [Operator] = []

    public init(file: String, metadata: Metadata) {
        self.file = file
        self.metadata = metadata
    }
}

extension PolicyDocument {
    public struct Metadata: Sendable {
        public var controller = ""
        public var dpoName = ""
        public var dpoEmail = ""
        /// Reference of the data-protection impact assessment (Art. 35).
        public var dpia: String?
        public var version = ""
        public var effective: CalendarDate?
        public var site = ""
        /// The time zone that time windows and expiry dates are read in (IANA name).
        public var timeZone: TimeZone = TimeZone(identifier: "UTC")!
        /// Technical and organisational measures (Art. 32) for the record of processing.
        public var securityMeasures: [String] = []
        /// Transfers to third countries or international organisations (Art. 30(1)(e)), with their safeguards.
        public var transfers: [String] = []
        /// The site's map tiles for the console's camera map (`map:`); nil draws positions without a background.
        public var map: SiteMap?
        public var location: SourceLocation

        public init(location: SourceLocation) { self.location = location }
    }

    /// Where the console's camera map takes its background from: the site's own tile server (the console loads nothing
    /// from elsewhere).
    public struct SiteMap: Sendable, Equatable {
        /// An `https://` URL template with `{z}`, `{x}` and `{y}` (and optionally a leading `{s}` subdomain).
        public var tiles: String
        public var attribution: String
    }

    /// Where a camera stands (WGS 84) and which way it looks, for the console's map.
    public struct MapPosition: Sendable, Equatable {
        public var latitude: Double
        public var longitude: Double
        /// Degrees clockwise from north.
        public var heading: Double?
    }

    public struct Purpose: Sendable {
        public var id: PurposeID
        public var description = ""
        public var basis: LawfulBasis?
        /// For legitimate interests: the balancing test, or where it is documented.
        public var assessment: String?
        /// The Art. 9(2) exception that allows special-category processing under this purpose.
        public var specialCategory: SpecialCategoryException?
        public var location: SourceLocation
    }

    public struct Camera: Sendable {
        public var id: CameraID
        public var site = ""
        public var description = ""
        /// Where the feed comes from, without credentials.
        public var source = ""
        public var credentials: CredentialReference?
        public var purposes: [Located<PurposeID>] = []
        public var produces: [DataCategory] = []
        public var analytics: [Analytic] = []
        public var audio = false
        public var zones: [Zone] = []
        public var lines: [CountingLine] = []
        /// Privacy masks: areas painted over in every output of this camera, before anything else sees the frame.
        public var masks: [Mask] = []
        /// Where it stands on the site's map (`position:`), if the policy says.
        public var position: MapPosition?
        /// When the camera's analytics fire, where it departs from the defaults (each zone may depart again).
        public var thresholds = AnalyticThresholds()
        public var location: SourceLocation
        public var keyLocations: [String: SourceLocation] = [:]
    }

    /// Where a camera's credentials are read from at run time. Never the secret itself.
    public enum CredentialReference: Sendable, Hashable {
        case file(String)
        case environment(String)
    }

    public struct Zone: Sendable {
        public var id: ZoneID
        /// Normalised image coordinates (0–1), in order.
        public var polygon: [NormalisedPoint]
        public var location: SourceLocation
        /// This zone's own thresholds for the zone analytics, over the camera's.
        public var thresholds = AnalyticThresholds()
    }

    /// When analytics fire (`thresholds:` on a camera or a zone). Nil keeps what the level above says, and at the top
    /// the built-in default (docs/analytics.md).
    public struct AnalyticThresholds: Sendable, Equatable {
        /// restricted-zone: in the zone this long before the alert, out this long before the next.
        public var restrictedAfter: PolicyDuration?
        public var restrictedRearm: PolicyDuration?
        /// loitering: a visit longer than this.
        public var loiteringAfter: PolicyDuration?
        /// crowd-count: this many people at once, for this long.
        public var crowdPeople: Int?
        public var crowdHold: PolicyDuration?
        /// running: body heights per second, for this long.
        public var runningSpeed: Double?
        public var runningHold: PolicyDuration?
        /// unattended-object: still, with nobody near, this long.
        public var unattendedAfter: PolicyDuration?
        /// vehicle-dwell: a vehicle in a zone this long.
        public var vehicleDwellAfter: PolicyDuration?
        /// Where each analytic's thresholds are written, for lint.
        public var locations: [Analytic: SourceLocation] = [:]

        public init() {}

        /// These thresholds, with `other`'s where these have none.
        public func over(_ other: AnalyticThresholds) -> AnalyticThresholds {
            var merged = self
            merged.restrictedAfter = restrictedAfter ?? other.restrictedAfter
            merged.restrictedRearm = restrictedRearm ?? other.restrictedRearm
            merged.loiteringAfter = loiteringAfter ?? other.loiteringAfter
            merged.crowdPeople = crowdPeople ?? other.crowdPeople
            merged.crowdHold = crowdHold ?? other.crowdHold
            merged.runningSpeed = runningSpeed ?? other.runningSpeed
            merged.runningHold = runningHold ?? other.runningHold
            merged.unattendedAfter = unattendedAfter ?? other.unattendedAfter
            merged.vehicleDwellAfter = vehicleDwellAfter ?? other.vehicleDwellAfter
            return merged
        }
    }

    /// A privacy mask (a neighbour's window, a private garden): painted over before detection, analytics, live
    /// streams, recordings — raw ones too — and exports, so no output of the camera ever holds what it covers.
    public struct Mask: Sendable {
        public var id: ZoneID
        /// Normalised image coordinates (0–1), in order around the area.
        public var polygon: [NormalisedPoint]
        public var location: SourceLocation
    }

    public struct CountingLine: Sendable {
        public var id: ZoneID
        public var from: NormalisedPoint
        public var to: NormalisedPoint
        public var location: SourceLocation
    }

    /// One console operator: the name their client certificate carries, and what they may do.
    public struct Operator: Sendable {
        public var id: OperatorID
        public var roles: [OperatorRole] = []
        public var location: SourceLocation
    }

    public struct RetentionSection: Sendable {
        public var rules: [RetentionRule] = []
        public var legalHold = LegalHoldRules()
        /// Who must agree before the unmask layer of a camera that produces one is opened; nil when not declared.
        public var unmasking: Unmasking?
    }

    /// The two approvers of unmasking (`retention.unmasking`): a camera producing `unmask-layer` keeps the original
    /// pixels of its redacted regions encrypted to both, and only both together open them.
    public struct Unmasking: Sendable {
        public struct Approver: Sendable, Equatable {
            public var role: String
            /// The approver's X25519 public key, 64 hex digits (`veilgate vault approver-key`).
            public var key: String
            public var location: SourceLocation
        }

        public var approvers: [Approver] = []
        public var location: SourceLocation
    }

    public struct RetentionRule: Sendable {
        public var id: RuleID
        public var cameras: Selector<CameraID> = .all
        public var category: DataCategory = .redactedVideo
        /// When set, the rule is for events of these kinds only.
        public var eventKinds: [AlertKind] = []
        public var duration = PolicyDuration(seconds: 0)
        public var justification: String?
        public var location: SourceLocation
        public var keyLocations: [String: SourceLocation] = [:]
    }

    /// What a legal hold (evidence lock) does to retention.
    public struct LegalHoldRules: Sendable {
        /// A hold needs a case reference when it is placed.
        public var requiresCaseReference = true
        /// A hold ends by itself after this long unless renewed; nil means it lasts until released.
        public var maxDuration: PolicyDuration?
        /// Who may place and release holds (roles of the operators, for the record).
        public var approvers: [String] = ["dpo"]
    }

    public struct RedactionSection: Sendable {
        /// The profile that applies wherever a rule names none: to everything stored or shared.
        public var defaultProfile: Located<RuleID>?
        public var profiles: [RedactionProfile] = []
    }

    public struct RedactionProfile: Sendable {
        public var id: RuleID
        public var extends: Located<RuleID>?
        public var classes: [RedactionClass]?
        public var mode: RedactionMode?
        public var shape: RedactionShape?
        public var margin: Double?
        public var location: SourceLocation
    }

    public struct Partner: Sendable {
        public var id: PartnerID
        public var organisation = ""
        public var role: PartnerRole = .agency
        public var identity = PartnerIdentity()
        /// The data-sharing agreement (Art. 26 joint controllers or Art. 28 processors).
        public var agreement: String?
        public var grants: [Grant] = []
        public var location: SourceLocation
    }

    /// How a partner proves who it is: the identity inside its client certificate.
    public struct PartnerIdentity: Sendable {
        /// A SAN URI such as `spiffe://city.example/partner/police`.
        public var uri: String?
        /// The SHA-256 fingerprint of the certificate, as lower-case hex.
        public var fingerprint: String?
        /// A partner's own CA, trusted for this partner only (a PEM file path).
        public var trustedCA: String?
    }

    public struct Grant: Sendable {
        public var id: RuleID
        public var action: SharingActionKind = .live
        public var purpose: Located<PurposeID>?
        public var cameras: Selector<CameraID> = .ids([])
        public var redaction: Located<RuleID>?
        public var windows: [TimeWindow] = []
        public var expires: CalendarDate?
        /// Clip grants: the oldest footage the partner may fetch.
        public var maxAge: PolicyDuration?
        /// Live and clip grants: each request must carry a justification (a case or warrant reference).
        public var justificationRequired = false
        /// Alert grants: the kinds of alert.
        public var kinds: [AlertKind] = []
        /// Alert grants: only alerts from these zones (empty: any zone).
        public var zones: [ZoneID] = []
        /// Alert grants: the fields the partner receives.
        public var fields: [AlertField] = []
        /// Why sharing unredacted footage is lawful (statute, warrant procedure).
        public var legalGround: String?
        /// Peer sites: whether the peer may pass this on to its own partners.
        public var reshare = false
        public var location: SourceLocation
        public var keyLocations: [String: SourceLocation] = [:]
    }

    /// An explicit prohibition; it overrides every grant it overlaps.
    public struct DenyRule: Sendable {
        public var id: RuleID
        public var partners: Selector<PartnerID> = .all
        public var actions: [SharingActionKind] = SharingActionKind.allCases
        public var cameras: Selector<CameraID> = .all
        public var windows: [TimeWindow] = []
        public var reason = ""
        public var location: SourceLocation
    }
}

/// `"*"` (everything) or a list of ids.
public enum Selector<ID: Hashable & Sendable>: Sendable {
    case all
    case ids([Located<ID>])

    public func contains(_ id: ID) -> Bool {
        switch self {
        case .all: true
        case .ids(let ids): ids.contains { $0.value == id }
        }
    }

    /// An explicit empty list: selects nothing.
    public var isEmpty: Bool {
        if case .ids(let ids) = self { return ids.isEmpty }
        return false
    }
}

/// A value with the position it was written at, so a dangling reference can be reported where it stands.
public struct Located<Value: Sendable>: Sendable {
    public var value: Value
    public var location: SourceLocation
    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }
}

extension Located: Equatable where Value: Equatable {}
extension Located: Hashable where Value: Hashable {}

/// A point in normalised image coordinates: (0, 0) top left, (1, 1) bottom right.
public struct NormalisedPoint: Hashable, Sendable {
    public var x: Double
    public var y: Double
    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }

    /// The first two edges of a closed polygon that cross (indices of their first points), or nil for a simple polygon.
    /// Edges that share a corner do not count; edges that touch elsewhere do.
    static func crossingEdges(of polygon: [NormalisedPoint]) -> (Int, Int)? {
        let count = polygon.count
        guard count >= 4 else { return nil }
        func orientation(_ a: NormalisedPoint, _ b: NormalisedPoint, _ c: NormalisedPoint) -> Double {
            (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)
        }
        func onSegment(_ a: NormalisedPoint, _ b: NormalisedPoint, _ p: NormalisedPoint) -> Bool {
            min(a.x, b.x) <= p.x && p.x <= max(a.x, b.x) && min(a.y, b.y) <= p.y && p.y <= max(a.y, b.y)
        }
        for i in 0..<count {
            for j in (i + 1)..<count {
                // Neighbouring edges share a corner.
                if j == i + 1 || (i == 0 && j == count - 1) { continue }
                let (a, b) = (polygon[i], polygon[(i + 1) % count]), (c, d) = (polygon[j], polygon[(j + 1) % count])
                let (o1, o2, o3, o4) = (
                    orientation(a, b, c), orientation(a, b, d), orientation(c, d, a), orientation(c, d, b)
                )
                if (o1 > 0) != (o2 > 0) && (o3 > 0) != (o4 > 0) && o1 != 0 && o2 != 0 && o3 != 0 && o4 != 0 {
                    return (i, j)
                }
                if (o1 == 0 && onSegment(a, b, c)) || (o2 == 0 && onSegment(a, b, d)) || (o3 == 0 && onSegment(c, d, a))
                    || (o4 == 0 && onSegment(c, d, b))
                {
                    return (i, j)
                }
            }
        }
        return nil
    }
}

/// A date without a time, read in the policy's time zone.
public struct CalendarDate: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init?(parsing text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        let daysInMonth = [
            31, year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28, 31, 30, 31, 30,
            31, 31, 30, 31, 30, 31,
        ]
        guard day <= daysInMonth[month - 1] else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// The first instant of the day after this date, in the given time zone: the moment an
    /// `expires: DATE` grant stops applying (the date itself is included).
    public func endOfDay(in timeZone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = calendar.date(from: DateComponents(year: year, month: month, day: day))!
        return calendar.date(byAdding: .day, value: 1, to: start)!
    }

    /// The first instant of this date in the given time zone.
    public func startOfDay(in timeZone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar.date(from: DateComponents(year: year, month: month, day: day))!
    }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}

extension PolicyDocument.SiteMap {
    /// An `https://` URL template with `{z}`, `{x}` and `{y}`, no credentials, a host of its own.
    public static func isTileTemplate(_ text: String) -> Bool {
        guard text.hasPrefix("https://"), ["{z}", "{x}", "{y}"].allSatisfy(text.contains), origin(of: text) != nil
        else { return false }
        return true
    }

    /// The origin the browser fetches tiles from, as a content-security-policy source (`{s}.` becomes `*.`).
    public static func origin(of template: String) -> String? {
        guard template.hasPrefix("https://") else { return nil }
        let authority = template.dropFirst("https://".count).prefix { $0 != "/" }
        var host = String(authority)
        if host.hasPrefix("{s}.") { host = "*." + host.dropFirst(4) }
        guard !host.isEmpty, !host.contains("@"), !host.contains("{"),
            host.allSatisfy({ $0.isLetter || $0.isNumber || ".-:*".contains($0) })
        else { return nil }
        return "https://" + host
    }

    public var origin: String? { Self.origin(of: tiles) }
}
