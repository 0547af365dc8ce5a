import Foundation

/// The one way VeilVault turns values into text for MACs, hashes, SQL list arguments and log lines.
enum Canonical {
    /// A time or number in milliseconds, without trapping on values an attacker wrote into the index.
    static func number(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e15 else { return "invalid" }
        return String(Int64((value * 1000).rounded()))
    }

    static func number(_ value: Double?) -> String { value.map(number) ?? "-" }

    /// A JSON array of strings, bound as one argument and read with SQLite's `json_each`.
    static func jsonList(_ strings: [String]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: strings)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// Names that go into rows and audit lines: one printable line, at most `limit` characters (64 for a name).
    static func plainLine(_ text: String, limit: Int = 64) -> String {
        String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(limit).map(Character.init))
    }

    /// The longest audit subject kept whole: a camera id and a segment id (each up to 128 characters) with their
    /// labels. An entry must prove exactly which segment left; a subject cut to 64 characters could not.
    static let subjectLimit = 320
}
