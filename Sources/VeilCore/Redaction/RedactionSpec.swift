import Foundation

/// What a redaction covers.
public enum RedactionClass: String, Sendable, CaseIterable, Codable, Comparable {
    case faces
    case plates
    /// Whole persons (bodies), for audiences that must not even see clothing or gait.
    case persons
    /// Screens and legible text (phone displays, documents, shop tills).
    case screens

    public static func < (lhs: RedactionClass, rhs: RedactionClass) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// How a covered region is made unrecognisable, from least to most destructive.
public enum RedactionMode: String, Sendable, CaseIterable, Codable, Comparable {
    case blur
    case pixelate
    case solid

    /// Higher is less revealing. A solid fill hides more than a mosaic, a mosaic more than a blur.
    public var strength: Int {
        switch self {
        case .blur: 0
        case .pixelate: 1
        case .solid: 2
        }
    }

    public static func < (lhs: RedactionMode, rhs: RedactionMode) -> Bool { lhs.strength < rhs.strength }
}

/// The outline painted over a covered object.
public enum RedactionShape: String, Sendable, CaseIterable, Codable, Comparable {
    case ellipse
    case box

    /// A box covers the ellipse and the corners, so it reveals less.
    public var strength: Int { self == .ellipse ? 0 : 1 }
    public static func < (lhs: RedactionShape, rhs: RedactionShape) -> Bool { lhs.strength < rhs.strength }
}

/// The redaction to apply to one output: what is covered and how.
///
/// Specs combine by ``merged(with:)``: when several rules apply to the same output, the least revealing
/// combination wins, so adding a rule can only ever hide more.
public struct RedactionSpec: Hashable, Sendable, Codable, CustomStringConvertible {
    public var classes: Set<RedactionClass>
    public var mode: RedactionMode
    public var shape: RedactionShape
    /// Extra border around each detected box, as a fraction of the box size (0.1 = 10 % on each side).
    public var margin: Double

    public init(
        classes: Set<RedactionClass>, mode: RedactionMode = .blur, shape: RedactionShape = .ellipse,
        margin: Double = 0.1
    ) {
        self.classes = classes
        self.mode = mode
        self.shape = shape
        self.margin = margin
    }

    /// Nothing covered: only lawful with a stated legal ground (the linter enforces it).
    public static let unredacted = RedactionSpec(classes: [], mode: .blur, shape: .ellipse, margin: 0)

    /// Whether the spec leaves faces and plates visible, i.e. shares identifiable footage.
    public var isUnredacted: Bool { !classes.contains(.faces) || !classes.contains(.plates) }

    /// The least revealing combination of two specs: every class either covers, the stronger mode and
    /// shape, the larger margin.
    public func merged(with other: RedactionSpec) -> RedactionSpec {
        RedactionSpec(
            classes: classes.union(other.classes),
            mode: max(mode, other.mode),
            shape: max(shape, other.shape),
            margin: max(margin, other.margin)
        )
    }

    /// Whether this spec hides at least everything `other` hides.
    public func isAtLeastAsProtective(as other: RedactionSpec) -> Bool {
        classes.isSuperset(of: other.classes) && mode >= other.mode && shape >= other.shape
            && margin >= other.margin
    }

    public var description: String {
        if classes.isEmpty { return "none (unredacted)" }
        let covered = classes.sorted().map(\.rawValue).joined(separator: ", ")
        return "\(covered): \(mode.rawValue), \(shape.rawValue), margin \(Int((margin * 100).rounded())) %"
    }
}

extension RedactionSpec {
    /// Reads back what ``description`` writes (the vault records a segment's redaction that way), so a
    /// stored segment can be compared with what a partner must get. Nil for anything else: callers treat an
    /// unreadable redaction as unknown and fail closed.
    public init?(parsingDescription text: String) {
        if text.hasPrefix("none") {
            self = .unredacted
            return
        }
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        var classes = Set<RedactionClass>()
        for name in parts[0].split(separator: ",") {
            guard let covered = RedactionClass(rawValue: name.trimmingCharacters(in: .whitespaces)) else { return nil }
            classes.insert(covered)
        }
        let fields = parts[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard fields.count == 3, let mode = RedactionMode(rawValue: fields[0]),
            let shape = RedactionShape(rawValue: fields[1]),
            fields[2].hasPrefix("margin "), fields[2].hasSuffix(" %"),
            let percent = Int(fields[2].dropFirst("margin ".count).dropLast(2)), (0...100).contains(percent)
        else { return nil }
        self.init(classes: classes, mode: mode, shape: shape, margin: Double(percent) / 100)
    }
}

extension RedactionSpec {
    /// How the vault records a segment's redaction in words: `none (original sound)` for sound, `none (original
    /// footage)` for unredacted video, otherwise the ``description``. The vault's row authentication covers these
    /// words, and ``init(parsingDescription:)`` reads them back.
    public func storageLabel(for category: DataCategory) -> String {
        if category == .audio { return "none (original sound)" }
        return classes.isEmpty ? "none (original footage)" : description
    }
}
