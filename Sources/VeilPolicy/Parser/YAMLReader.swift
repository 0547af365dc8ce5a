import Foundation
import VeilCore
internal import Yams

/// Reads a composed YAML tree leniently: every problem becomes a positioned diagnostic and reading goes on,
/// so a DPO sees all mistakes of a file in one lint run.
final class YAMLReader {
    /// Largest policy or test file accepted, in bytes.
    static let maximumFileSize = 4 * 1024 * 1024
    /// Deepest nesting accepted; the language itself needs at most 7 levels.
    static let maximumDepth = 64

    let file: String
    private(set) var diagnostics: [PolicyDiagnostic] = []

    init(file: String) { self.file = file }

    // MARK: Diagnostics

    func location(_ node: Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    func error(_ rule: LintRule, _ message: String, at location: SourceLocation) {
        diagnostics.append(PolicyDiagnostic(.error, rule, message, at: location))
    }

    func error(_ rule: LintRule, _ message: String, at node: Node) {
        error(rule, message, at: location(node))
    }

    // MARK: Composing

    /// Parses the text into one YAML tree, refusing what a policy never needs and an attacker might use:
    /// oversized input, anchors and aliases (exponential expansion), multiple documents, deep nesting.
    func compose(_ data: Data) -> Node? {
        let start = SourceLocation(file: file, line: 1, column: 1)
        guard data.count <= Self.maximumFileSize else {
            error(.documentTooLarge, "file is \(data.count) bytes; the limit is \(Self.maximumFileSize)", at: start)
            return nil
        }
        guard let text = String(data: data, encoding: .utf8), !text.contains("\0") else {
            error(.yamlSyntax, "file is not UTF-8 text", at: start)
            return nil
        }
        let root: Node?
        // Yams holds anchors weakly; the parser owns them, so it must outlive the shape check below.
        var parser: Yams.Parser?
        do {
            parser = try Yams.Parser(yaml: text)
            root = try parser?.singleRoot()
        } catch let yamlError as YamlError {
            let (message, line, column) = Self.describe(yamlError)
            error(.yamlSyntax, message, at: SourceLocation(file: file, line: line, column: column))
            return nil
        } catch {
            self.error(.yamlSyntax, "could not parse YAML", at: start)
            return nil
        }
        guard let root else {
            error(.missingKey, "the file is empty", at: start)
            return nil
        }
        let shapeIsAcceptable = withExtendedLifetime(parser) { checkShape(root) }
        return shapeIsAcceptable ? root : nil
    }

    /// Walks the tree once, iteratively, stopping at the first anchored node: an alias resolves to an
    /// anchored node, so the walk never expands an alias.
    private func checkShape(_ root: Node) -> Bool {
        var stack: [(Node, Int)] = [(root, 1)]
        while let (node, depth) = stack.popLast() {
            if node.anchor != nil {
                error(.anchorsNotAllowed, "YAML anchors and aliases are not allowed in policies", at: node)
                return false
            }
            if depth > Self.maximumDepth {
                error(.documentTooLarge, "nested more than \(Self.maximumDepth) levels deep", at: node)
                return false
            }
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    stack.append((key, depth + 1))
                    stack.append((value, depth + 1))
                }
            case .sequence(let sequence):
                for item in sequence { stack.append((item, depth + 1)) }
            case .scalar, .alias:
                break
            }
        }
        return true
    }

    private static func describe(_ error: YamlError) -> (String, Int, Int) {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let text = [problem, context.map { "(\($0.text))" }].compactMap { $0 }.joined(separator: " ")
            return (text, mark.line, mark.column)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return (
                "duplicate key '\(duplicates.joined(separator: "', '"))' in a mapping", context.mark.line,
                context.mark.column
            )
        case .reader(let problem, let offset, _, _):
            return (problem, 1, max(1, (offset ?? 0) + 1))
        default:
            return ("malformed YAML", 1, 1)
        }
    }

    // MARK: Structure

    /// A mapping whose keys have been checked against the keys the language allows at this place.
    struct Mapping {
        let node: Node
        let location: SourceLocation
        private let entries: [String: (key: Node, value: Node)]

        init(node: Node, location: SourceLocation, entries: [String: (key: Node, value: Node)]) {
            self.node = node
            self.location = location
            self.entries = entries
        }

        subscript(key: String) -> Node? { entries[key]?.value }
        func keyLocation(_ key: String, reader: YAMLReader) -> SourceLocation {
            entries[key].map { reader.location($0.key) } ?? location
        }
        func has(_ key: String) -> Bool { entries[key] != nil }
    }

    /// Reads a mapping, reporting an unknown key with the nearest known one as a suggestion.
    func mapping(_ node: Node, _ what: String, keys allowed: [String]) -> Mapping? {
        guard case .mapping(let mapping) = node else {
            error(.wrongType, "\(what) must be a mapping (key: value), found \(Self.typeName(node))", at: node)
            return nil
        }
        var entries: [String: (key: Node, value: Node)] = [:]
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                error(.wrongType, "keys of \(what) must be plain words", at: key)
                continue
            }
            guard allowed.contains(scalar.string) else {
                var message = "unknown key '\(scalar.string.prefix(64))' in \(what)"
                if let suggestion = Self.nearest(scalar.string, in: allowed) {
                    message += "; did you mean '\(suggestion)'?"
                } else {
                    message += "; expected one of: \(allowed.joined(separator: ", "))"
                }
                error(.unknownKey, message, at: key)
                continue
            }
            entries[scalar.string] = (key, value)
        }
        return Mapping(node: node, location: location(node), entries: entries)
    }

    /// The value for a required key, or a `missing-key` error at the mapping.
    func required(_ mapping: Mapping, _ key: String, _ what: String) -> Node? {
        if let node = mapping[key] { return node }
        error(.missingKey, "\(what) needs '\(key)'", at: mapping.location)
        return nil
    }

    func sequence(_ node: Node, _ what: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            error(.wrongType, "\(what) must be a list, found \(Self.typeName(node))", at: node)
            return nil
        }
        return Array(sequence)
    }

    // MARK: Scalars

    /// A non-empty text scalar.
    func string(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let scalar) = node else {
            error(.wrongType, "\(what) must be text, found \(Self.typeName(node))", at: node)
            return nil
        }
        let text = scalar.string.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, scalar.style != .plain || !["~", "null", "Null", "NULL"].contains(text) else {
            error(.invalidValue, "\(what) must not be empty", at: node)
            return nil
        }
        return text
    }

    func identifier<ID: PolicyIdentifier>(_ node: Node, _ what: String, as: ID.Type = ID.self) -> ID? {
        guard let text = string(node, what) else { return nil }
        guard ID.isWellFormed(text) else {
            error(
                .invalidValue,
                "\(what) '\(text.prefix(64))' is not a valid id (lower-case letters, digits, '-', '_', '.'; at most 64)",
                at: node)
            return nil
        }
        return ID(text)
    }

    func located<ID: PolicyIdentifier>(_ node: Node, _ what: String, as: ID.Type = ID.self) -> Located<ID>? {
        identifier(node, what, as: ID.self).map { Located($0, at: location(node)) }
    }

    func identifiers<ID: PolicyIdentifier>(_ node: Node, _ what: String, as: ID.Type = ID.self) -> [Located<ID>] {
        guard let items = sequence(node, what) else { return [] }
        return items.compactMap { located($0, what, as: ID.self) }
    }

    /// `"*"` or a list of ids.
    func selector<ID: PolicyIdentifier>(_ node: Node, _ what: String, as: ID.Type = ID.self) -> Selector<ID> {
        if case .scalar(let scalar) = node, scalar.string == "*" { return .all }
        if case .scalar = node {
            error(.wrongType, "\(what) must be \"*\" or a list of ids", at: node)
            return .ids([])
        }
        return .ids(identifiers(node, what, as: ID.self))
    }

    func enumeration<E: RawRepresentable & CaseIterable>(_ node: Node, _ what: String, as: E.Type = E.self) -> E?
    where E.RawValue == String {
        guard let text = string(node, what) else { return nil }
        if let value = E(rawValue: text) { return value }
        let allowed = E.allCases.map(\.rawValue)
        var message = "\(what) '\(text.prefix(64))' is not one of: \(allowed.joined(separator: ", "))"
        if let suggestion = Self.nearest(text, in: allowed) { message += "; did you mean '\(suggestion)'?" }
        error(.invalidValue, message, at: node)
        return nil
    }

    func enumerations<E: RawRepresentable & CaseIterable>(_ node: Node, _ what: String, as: E.Type = E.self) -> [E]
    where E.RawValue == String {
        guard let items = sequence(node, what) else { return [] }
        return items.compactMap { enumeration($0, what, as: E.self) }
    }

    func bool(_ node: Node, _ what: String) -> Bool? {
        guard case .scalar(let scalar) = node, scalar.style == .plain,
            scalar.string == "true" || scalar.string == "false"
        else {
            error(.wrongType, "\(what) must be true or false", at: node)
            return nil
        }
        return scalar.string == "true"
    }

    func number(_ node: Node, _ what: String) -> Double? {
        guard case .scalar(let scalar) = node, scalar.style == .plain, let value = Double(scalar.string),
            value.isFinite
        else {
            error(.wrongType, "\(what) must be a number", at: node)
            return nil
        }
        return value
    }

    func duration(_ node: Node, _ what: String) -> PolicyDuration? {
        guard let text = string(node, what) else { return nil }
        guard let duration = PolicyDuration(parsing: text) else {
            error(
                .invalidValue,
                "\(what) '\(text.prefix(32))' is not a duration such as 90s, 15m, 72h, 30d or 2w (at most a century)",
                at: node)
            return nil
        }
        guard duration.seconds > 0 else {
            error(.impossibleValue, "\(what) must be longer than zero", at: node)
            return nil
        }
        return duration
    }

    func date(_ node: Node, _ what: String) -> CalendarDate? {
        guard let text = string(node, what) else { return nil }
        guard let date = CalendarDate(parsing: text) else {
            error(.invalidValue, "\(what) '\(text.prefix(32))' is not a date YYYY-MM-DD", at: node)
            return nil
        }
        return date
    }

    func point(_ node: Node, _ what: String) -> NormalisedPoint? {
        guard let items = sequence(node, what) else { return nil }
        guard items.count == 2 else {
            error(.wrongType, "\(what) must be a pair [x, y]", at: node)
            return nil
        }
        guard let x = number(items[0], "\(what) x"), let y = number(items[1], "\(what) y") else { return nil }
        guard (0...1).contains(x), (0...1).contains(y) else {
            error(
                .impossibleValue, "\(what) [\(x), \(y)] must lie within the image: coordinates from 0 to 1",
                at: node)
            return nil
        }
        return NormalisedPoint(x: x, y: y)
    }

    // MARK: Helpers

    static func typeName(_ node: Node) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar(let scalar): scalar.string.isEmpty ? "nothing" : "text"
        case .alias: "an alias"
        }
    }

    /// The allowed word closest to a misspelt one, if it is close enough to be a typo.
    static func nearest(_ word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(word, $0)) }.min { $0.1 < $1.1 }
        // Short words tolerate one slip, longer ones two or three: `sight` → `site`, `retension` → `retention`.
        guard let (best, distance) = scored, distance <= (best.count <= 3 ? 1 : min(3, max(2, best.count / 3)))
        else { return nil }
        return best
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8.prefix(64)), b = Array(b.utf8.prefix(64))
        var previous = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(1, b.count) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}
