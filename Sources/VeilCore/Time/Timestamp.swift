public import Foundation

/// ISO 8601 times as Veilgate writes and reads them: requests, selections, commands' options.
public enum Timestamp {
    /// A time with milliseconds (`2026-12-01T10:00:02.500Z`): a frame's time, a request's range drawn to the frame.
    public static func precise(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// Reads a time written with a zone, with or without fractions of a second; nil when it is not one.
    public static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
