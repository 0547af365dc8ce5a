/// What a partner asks to do with a camera's data.
public enum SharingAction: Hashable, Sendable, CustomStringConvertible {
    /// Watch the live stream.
    case live
    /// Fetch recorded footage.
    case clip
    /// Receive alerts of one kind.
    case alert(AlertKind)
    /// Receive people or vehicle counts and statistics.
    case counts

    /// The action without its alert kind: what a grant is written for.
    public var kind: SharingActionKind {
        switch self {
        case .live: .live
        case .clip: .clip
        case .alert: .alert
        case .counts: .counts
        }
    }

    public var description: String {
        switch self {
        case .live: "live"
        case .clip: "clip"
        case .alert(let kind): "alert:\(kind.rawValue)"
        case .counts: "counts"
        }
    }

    /// Parses `live`, `clip`, `counts` or `alert:KIND`.
    public init?(parsing text: String) {
        switch text {
        case "live": self = .live
        case "clip": self = .clip
        case "counts": self = .counts
        default:
            guard text.hasPrefix("alert:") else { return nil }
            let kind = String(text.dropFirst("alert:".count))
            guard !kind.isEmpty else { return nil }
            self = .alert(AlertKind(kind))
        }
    }
}

/// The four kinds of sharing a grant can authorise.
public enum SharingActionKind: String, Sendable, CaseIterable, Codable, Comparable {
    case live, clip, alert, counts

    /// A dense index for table lookups.
    public var index: Int {
        switch self {
        case .live: 0
        case .clip: 1
        case .alert: 2
        case .counts: 3
        }
    }

    public static func < (lhs: SharingActionKind, rhs: SharingActionKind) -> Bool { lhs.index < rhs.index }
}

/// The role a partner plays: it decides which lint rules apply to its grants (police disclosures need a
/// legal ground, a peer site must not re-share).
public enum PartnerRole: String, Sendable, CaseIterable, Codable {
    case police
    case retailer
    case agency
    case peerSite = "peer-site"
}
