/// The shape every Veilgate error type has: one struct per target with an extensible `Code` (a struct over a private
/// enum, so codes can grow without breaking callers), a message, and where it was thrown. Two errors are equal when
/// their codes are: tests and callers match on what went wrong, not on the wording.
public protocol CodedError: Error, Hashable, Sendable, CustomStringConvertible {
    associatedtype Code: Hashable & Sendable & CustomStringConvertible
    var code: Code { get }
    var message: String { get }
}

extension CodedError {
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
