/// Days of the week and a time-of-day range, in the policy's time zone, during which a rule applies.
/// A range whose end is before its start runs over midnight (`from: "22:00"`, `to: "06:00"`).
public struct TimeWindow: Hashable, Sendable, CustomStringConvertible {
    public enum Weekday: Int, Sendable, CaseIterable, Comparable {
        case mon = 0, tue, wed, thu, fri, sat, sun

        public var name: String { String(describing: self) }
        public static func < (lhs: Weekday, rhs: Weekday) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The days on which the window opens.
    public var days: Set<Weekday>
    /// Minutes after local midnight.
    public var fromMinute: Int
    public var toMinute: Int

    public init(days: Set<Weekday>, fromMinute: Int, toMinute: Int) {
        self.days = days
        self.fromMinute = fromMinute
        self.toMinute = toMinute
    }

    /// Whether the window is open at a local time (day of week, minute of day).
    ///
    /// A window over midnight that opens on Friday is still open early on Saturday morning.
    public func contains(weekday: Weekday, minute: Int) -> Bool {
        if fromMinute < toMinute {
            return days.contains(weekday) && minute >= fromMinute && minute < toMinute
        }
        // Over midnight: the evening part belongs to the day it opened, the morning part to the day before.
        if minute >= fromMinute { return days.contains(weekday) }
        if minute < toMinute {
            let previous = Weekday(rawValue: (weekday.rawValue + 6) % 7)!
            return days.contains(previous)
        }
        return false
    }

    /// Parses `HH:MM` into minutes after midnight; `24:00` is allowed as an end.
    public static func minutes(parsing text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hours = Int(parts[0]),
            let minutes = Int(parts[1]), (0...59).contains(minutes), (0...24).contains(hours),
            hours < 24 || minutes == 0
        else { return nil }
        return hours * 60 + minutes
    }

    public var description: String {
        func clock(_ minute: Int) -> String {
            let hours = minute / 60, minutes = minute % 60
            return (hours < 10 ? "0" : "") + "\(hours):" + (minutes < 10 ? "0" : "") + "\(minutes)"
        }
        let dayList = days.count == 7 ? "every day" : days.sorted().map(\.name).joined(separator: ",")
        return "\(dayList) \(clock(fromMinute))–\(clock(toMinute))"
    }
}
