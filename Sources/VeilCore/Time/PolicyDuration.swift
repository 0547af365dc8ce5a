/// A length of time as a policy writes it: `90s`, `15m`, `72h`, `30d`, `2w`.
public struct PolicyDuration: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    /// The longest duration a policy may state: a century. Anything longer is a typo, not a retention period.
    public static let maximum = PolicyDuration(seconds: 100 * 366 * 86_400)
    public static func hours(_ hours: Int64) -> PolicyDuration { PolicyDuration(seconds: hours * 3600) }
    public static func days(_ days: Int64) -> PolicyDuration { PolicyDuration(seconds: days * 86_400) }

    /// Parses a whole number followed by one unit: `s`, `m`, `h`, `d` or `w`. Returns nil for anything
    /// else, including more than ``maximum``, so that a typo never becomes a surprising retention period.
    public init?(parsing text: String) {
        guard let unit = text.last, text.count >= 2, text.count <= 12 else { return nil }
        let digits = text.dropLast()
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(digits) else { return nil }
        let multiplier: Int64 =
            switch unit {
            case "s": 1
            case "m": 60
            case "h": 3600
            case "d": 86_400
            case "w": 604_800
            default: 0
            }
        guard multiplier > 0 else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow, product <= Self.maximum.seconds else { return nil }
        seconds = product
    }

    /// The unit a person would write: weeks from two weeks on, days from a week on, hours below that
    /// (so the GDPR-relevant `72h` reads as 72 hours, not 3 days).
    private var naturalUnit: (symbol: String, name: String, size: Int64) {
        let units: [(String, String, Int64, Int64)] = [
            ("w", "week", 604_800, 1_209_600), ("d", "day", 86_400, 604_800), ("h", "hour", 3600, 0),
            ("m", "minute", 60, 0),
        ]
        for (symbol, name, size, minimum) in units where seconds != 0 && seconds % size == 0 && seconds >= minimum {
            return (symbol, name, size)
        }
        return ("s", "second", 1)
    }

    /// The policy spelling: `72h`, `7d`, `52w`.
    public var description: String {
        let unit = naturalUnit
        return "\(seconds / unit.size)\(unit.symbol)"
    }

    /// A reader's spelling for reports: `72 hours`, `30 days`.
    public var spelledOut: String {
        let unit = naturalUnit
        let value = seconds / unit.size
        return "\(value) \(unit.name)\(value == 1 ? "" : "s")"
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
