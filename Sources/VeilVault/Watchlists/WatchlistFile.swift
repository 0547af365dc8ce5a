public import Foundation
import VeilCore

/// A plate watchlist as a partner hands it over: one `PLATE,REFERENCE` per line, `#` comments and blank lines allowed.
///
/// ```
/// # City Police, stolen vehicles, 2026-12-05
/// B-AB 123,stolen-2026-0815
/// M5XSX,case-2026-0917
/// ```
///
/// The plate is normalised (``PlateText/normalised(_:)``); the reference is the partner's own handle for the entry (a
/// case or list number — letters, digits, `.`, `_`, `:`, `-`, at most 64), which is what a match alert carries instead
/// of the plate. Errors name the line and column and what is wrong, never the plate.
public enum WatchlistFile {
    public struct Entry: Sendable, Equatable {
        /// Normalised plate text: personal data, hashed at once by ``Watchlists`` and never kept.
        public var plate: String
        public var reference: String
    }

    /// The most a list may hold, and the largest file read.
    public static let maximumEntries = 100_000
    public static let maximumBytes = 8 << 20

    /// Parses a watchlist; `name` is how errors name it. Throws ``VaultError`` `.invalidArgument` at the first problem.
    public static func parse(_ data: Data, name: String) throws -> [Entry] {
        guard data.count <= maximumBytes else {
            throw VaultError(.invalidArgument, "\(name): a watchlist is at most 8 MiB")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw VaultError(.invalidArgument, "\(name): not UTF-8 text")
        }
        var entries: [Entry] = []
        var seen: [String: Int] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 2 else {
                throw VaultError(
                    .invalidArgument,
                    "\(name):\(number): expected PLATE,REFERENCE (two fields separated by one comma), found \(fields.count) field(s)"
                )
            }
            let plate = PlateText.normalised(String(fields[0]))
            guard (2...12).contains(plate.count) else {
                throw VaultError(
                    .invalidArgument,
                    "\(name):\(number):1: the plate must have 2 to 12 letters or digits (it has \(plate.count))")
            }
            let reference = fields[1].trimmingCharacters(in: .whitespaces)
            let column = fields[0].count + 2
            guard isReference(reference) else {
                throw VaultError(
                    .invalidArgument,
                    "\(name):\(number):\(column): the reference must be 1 to 64 letters, digits, '.', '_', ':' or '-' (a case or list number, not a name)"
                )
            }
            if let first = seen[plate] {
                throw VaultError(.invalidArgument, "\(name):\(number):1: the same plate as line \(first)")
            }
            seen[plate] = number
            entries.append(Entry(plate: plate, reference: reference))
            guard entries.count <= maximumEntries else {
                throw VaultError(
                    .invalidArgument, "\(name):\(number): a watchlist holds at most \(maximumEntries) plates")
            }
        }
        guard !entries.isEmpty else { throw VaultError(.invalidArgument, "\(name): the watchlist lists no plates") }
        return entries
    }

    static func isReference(_ text: String) -> Bool {
        guard (1...64).contains(text.count) else { return false }
        return text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                || ".-_:".unicodeScalars.contains($0)
        }
    }
}
