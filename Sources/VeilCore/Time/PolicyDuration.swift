/// A length of time as a policy writes it: `90s`, `15m`, `72h`, `30d`, `2w`.
public struct PolicyDuration: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }
    public static func hours(_ hours: Int64) -> PolicyDuration { PolicyDuration(seconds: hours * 3600) }
    public static func days(_ days: Int64) -> PolicyDuration { PolicyDuration(seconds: days * 86_400) }

    /// Parses a whole number followed by one unit: `s`, `m`, `h`, `d` or `w`. Returns nil for anything
    /// else, including overflow, so that a typo never becomes a surprising retention period.
    public init?(parsing text: String) {
        guard let unit = text.last, text.count >= 2, text.count <= 12 else { return nil }
        let digits = text.dropLast()
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(digits) else { return nil }
        let multiplier: Int64 = switch unit {
        case "s": 1
        case "m": 60
        case "h": 3600
        case "d": 86_400
        case "w": 604_800
        default: 0
        }
        guard multiplier > 0 else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        seconds = product
    }

    /// The shortest exact spelling: `72h` stays `3d`, `36h` stays `36h`.
    public var description: String {
        for (unit, size) in [("w", Int64(604_800)), ("d", 86_400), ("h", 3600), ("m", 60)]
        where seconds != 0 && seconds % size == 0 {
            return "\(seconds / size)\(unit)"
        }
        return "\(seconds)s"
    }

    /// A reader's spelling for reports: `72 hours`, `30 days`.
    public var spelledOut: String {
        func plural(_ value: Int64, _ unit: String) -> String { "\(value) \(unit)\(value == 1 ? "" : "s")" }
        if seconds != 0, seconds % 86_400 == 0 { return plural(seconds / 86_400, "day") }
        if seconds != 0, seconds % 3600 == 0 { return plural(seconds / 3600, "hour") }
        if seconds != 0, seconds % 60 == 0 { return plural(seconds / 60, "minute") }
        return plural(seconds, "second")
    }

    public static func < (lhs: PolicyDuration, rhs: PolicyDuration) -> Bool { lhs.seconds < rhs.seconds }
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = PolicyDuration(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a duration"))
        }
        self = parsed
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
