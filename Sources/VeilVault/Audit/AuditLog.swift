public import Foundation
import Synchronization

/// The append-only, hash-chained audit log: each entry commits to the one before it, and signed
/// checkpoints (Ed25519, the gateway's key) pin the chain at intervals so that rewriting it needs the key.
///
/// Entries carry ids and counts only — partner, camera, rule, segment and hold ids — never personal data,
/// plate text, case references or justifications.
public final class AuditLog: Sendable {
    /// What happened. Open-ended; the gateway's own actions are the static members.
    public struct Action: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let decision = Action("decision")
        public static let view = Action("view")
        public static let export = Action("export")
        public static let share = Action("share")
        public static let store = Action("store")
        public static let holdPlaced = Action("hold-placed")
        public static let holdReleased = Action("hold-released")
        public static let erasure = Action("erasure")
        public static let retentionSweep = Action("retention-sweep")
        public static let keyDestroyed = Action("key-destroyed")
        public static let policyLoaded = Action("policy-loaded")
        public static let keyRotated = Action("kek-rotated")
    }

    public struct Entry: Sendable, Equatable {
        public var seq: Int64
        public var time: Date
        public var action: String
        public var actor: String
        public var subject: String
        public var rules: [String]
        /// Ids and counts only, as sorted key=value pairs.
        public var details: [String: String]
        public var hash: String
    }

    /// A checkpoint is signed every this many entries.
    public static let checkpointInterval: Int64 = 100
    static let genesis = String(repeating: "0", count: 64)

    /// The vault's index: entries are appended in the same transaction as what they record.
    private let index: any VaultIndexStore
    private let signingKey: GatewaySigningKey?
    /// Every signed checkpoint is appended here too (``VaultConfiguration/auditAnchorPath``).
    public let anchorPath: String?
    private let anchorFailure = Mutex<VaultError?>(nil)

    /// The public half of the key that signs this log's checkpoints (nil: a read-only vault that signs nothing).
    public var signerPublicKey: GatewayPublicKey? { signingKey?.publicKey }

    init(index: any VaultIndexStore, signingKey: GatewaySigningKey?, anchorPath: String? = nil) {
        self.index = index
        self.signingKey = signingKey
        self.anchorPath = anchorPath
    }

    /// Appends an entry and, at every ``checkpointInterval``, a signed checkpoint.
    @discardableResult
    public func append(
        _ action: Action, actor: String, subject: String, rules: [String] = [],
        details: [String: String] = [:], at time: Date = Date()
    ) throws -> Entry {
        do {
            return try index.write { index in
                try append(index, action, actor: actor, subject: subject, rules: rules, details: details, at: time)
            }
        } catch let error as VaultError where error.code != .database { throw error } catch {
            throw VaultError(.database, "cannot append to the audit log", underlying: error)
        }
    }

    /// Appends inside a caller's transaction, so an action and its audit entry commit together.
    func append(
        _ index: any VaultIndexWriting, _ action: Action, actor: String, subject: String, rules: [String] = [],
        details: [String: String] = [:], at time: Date = Date()
    ) throws -> Entry {
        let last = try index.lastAuditEntry()
        let seq = (last?.seq ?? 0) + 1
        let previous = last?.hash ?? Self.genesis
        let detailText = Self.encode(details)
        let ruleText = rules.joined(separator: ",")
        let stamp = (time.timeIntervalSince1970 * 1000).rounded() / 1000
        let actor = Canonical.plainLine(actor), subject = Canonical.plainLine(subject, limit: Canonical.subjectLimit)
        let hash = Self.hash(
            seq: seq, time: stamp, action: action.rawValue, actor: actor, subject: subject,
            rules: ruleText, details: detailText, previous: previous)
        try index.insert(
            AuditRow(
                seq: seq, time: stamp, action: action.rawValue, actor: actor, subject: subject, rules: ruleText,
                details: detailText, previousHash: previous, hash: hash))
        if seq % Self.checkpointInterval == 0 { try checkpoint(index, seq: seq, hash: hash, at: time) }
        return Entry(
            seq: seq, time: Date(timeIntervalSince1970: stamp), action: action.rawValue, actor: actor,
            subject: subject, rules: rules, details: details, hash: hash)
    }

    /// Signs a checkpoint at the newest entry now (for example before a backup or at shutdown), and reports an anchor
    /// that could not be written since the last one.
    public func checkpoint(at time: Date = Date()) throws {
        try index.write { index in
            guard let last = try index.lastAuditEntry() else { return }
            if try index.checkpoint(seq: last.seq) == nil {
                try checkpoint(index, seq: last.seq, hash: last.hash, at: time)
            }
        }
        if let failure = anchorFailure.withLock({ failure in
            defer { failure = nil }
            return failure
        }) {
            throw failure
        }
    }

    private func checkpoint(_ index: any VaultIndexWriting, seq: Int64, hash: String, at time: Date) throws {
        guard let signingKey else { return }
        var row = CheckpointRow(
            seq: seq, hash: hash, time: time.timeIntervalSince1970, signer: signingKey.publicKey.fingerprint,
            signature: "")
        row.signature = signingKey.sign(Self.checkpointMessage(row)).hex
        try index.insert(row)
        // Anchored once the checkpoint is committed (a rolled-back one must not be), so a failure cannot undo it; it is
        // kept and reported by the next explicit checkpoint.
        if let anchorPath {
            let anchored = row
            index.afterCommit { [weak self] in
                do { try Self.appendAnchor(anchored, to: anchorPath) } catch {
                    self?.anchorFailure.withLock { $0 = error as? VaultError }
                }
            }
        }
    }

    public func entries(after seq: Int64 = 0, limit: Int = 1000) throws -> [Entry] {
        try index.read { index in
            try index.auditEntries(after: seq, limit: limit).map { row in
                Entry(
                    seq: row.seq, time: Date(timeIntervalSince1970: row.time), action: row.action, actor: row.actor,
                    subject: row.subject,
                    rules: row.rules.isEmpty ? [] : row.rules.split(separator: ",").map(String.init),
                    details: Self.decode(row.details), hash: row.hash)
            }
        }
    }

    // MARK: Verification

    /// One thing wrong with the log, located by sequence number.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Sendable {
            case modified, deleted, insertedOrReordered = "inserted-or-reordered", checkpointInvalid =
                "checkpoint-invalid",
                truncated
        }
        public var kind: Kind
        public var seq: Int64
        public var message: String
        public var description: String { "entry \(seq): \(kind.rawValue): \(message)" }
    }

    public struct Verification: Sendable {
        public var entries: Int
        public var checkpoints: Int
        public var problems: [Problem]
        public var isIntact: Bool { problems.isEmpty }
    }

    /// Walks the whole chain and every checkpoint; reports every modified, deleted, inserted or reordered entry.
    /// - Parameter anchor: the anchor file (default: the configured one, when it exists). Its signed heads are held to
    ///   the log like its own checkpoints: a log that ends before an anchored entry was truncated, however consistent
    ///   what is left looks.
    public func verify(publicKey: GatewayPublicKey, anchor: String? = nil) throws -> Verification {
        let anchorPath = anchor ?? self.anchorPath.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
        let anchored = try anchorPath.map(Self.readAnchor) ?? []
        return try index.read { index in
            var problems: [Problem] = []
            var expected: Int64 = 1
            var previous = Self.genesis
            var hashes: [Int64: String] = [:]
            var count = 0
            try index.forEachAuditEntry { row in
                count += 1
                if row.seq > expected {
                    problems.append(
                        Problem(
                            kind: .deleted, seq: expected,
                            message: row.seq - expected == 1
                                ? "entry is missing" : "entries \(expected)–\(row.seq - 1) are missing"))
                }
                let recomputed = Self.hash(
                    seq: row.seq, time: row.time, action: row.action, actor: row.actor,
                    subject: row.subject, rules: row.rules, details: row.details, previous: row.previousHash)
                if recomputed != row.hash {
                    problems.append(Problem(kind: .modified, seq: row.seq, message: "content does not match its hash"))
                } else if row.previousHash != previous, row.seq == expected {
                    problems.append(
                        Problem(
                            kind: .insertedOrReordered, seq: row.seq,
                            message: "does not follow entry \(row.seq - 1) in the chain"))
                }
                hashes[row.seq] = row.hash
                previous = row.hash
                expected = row.seq + 1
            }
            let checkpoints = try index.checkpoints()
            // A checkpoint is signed at every interval: one missing means someone deleted it, most likely to
            // rewrite the chain beneath it.
            let checkpointed = Set(checkpoints.map(\.seq))
            var required = Self.checkpointInterval
            while required < expected {
                if !checkpointed.contains(required) {
                    problems.append(
                        Problem(
                            kind: .checkpointInvalid, seq: required,
                            message: "the signed checkpoint due here is missing"))
                }
                required += Self.checkpointInterval
            }
            // A signed head — a checkpoint, or its copy in the anchor — must verify, match the chain, and lie within
            // it.
            func hold(_ head: CheckpointRow, unverified: String, rewritten: String, beyond: String) {
                let signature = [UInt8](hex: head.signature) ?? []
                if !publicKey.isValidSignature(signature, for: Self.checkpointMessage(head)) {
                    problems.append(
                        Problem(
                            kind: .checkpointInvalid, seq: head.seq,
                            message: "\(unverified) does not verify with key \(publicKey.fingerprint)"))
                } else if let hash = hashes[head.seq], hash != head.hash {
                    problems.append(Problem(kind: .modified, seq: head.seq, message: rewritten))
                } else if hashes[head.seq] == nil, head.seq >= expected {
                    problems.append(
                        Problem(
                            kind: .truncated, seq: head.seq,
                            message: "the log ends at entry \(expected - 1) but \(beyond)"))
                }
            }
            for checkpoint in checkpoints {
                hold(
                    checkpoint, unverified: "checkpoint signature",
                    rewritten: "chain up to here was rewritten after it was checkpointed",
                    beyond: "was checkpointed at \(checkpoint.seq)")
            }
            for (line, head) in anchored {
                hold(
                    head, unverified: "anchor line \(line)",
                    rewritten: "chain up to here differs from the anchored head",
                    beyond: "the anchor holds a signed head at \(head.seq)")
            }
            // One problem per kind and entry: a checkpoint and its anchored copy say the same thing.
            var seen = Set<String>()
            problems = problems.filter { seen.insert("\($0.kind.rawValue) \($0.seq)").inserted }
            problems.sort { ($0.seq, $0.kind.rawValue) < ($1.seq, $1.kind.rawValue) }
            return Verification(entries: count, checkpoints: checkpoints.count, problems: problems)
        }
    }

    // MARK: Anchor

    /// One line per checkpoint: `seq hash time signer signature`, appended and synced.
    static func appendAnchor(_ row: CheckpointRow, to path: String) throws {
        let line = "\(row.seq) \(row.hash) \(Canonical.number(row.time)) \(row.signer) \(row.signature)\n"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard descriptor >= 0 else { throw VaultError(.io, "\(path): cannot open the audit anchor for appending") }
        defer { close(descriptor) }
        let bytes = Array(line.utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count, fsync(descriptor) == 0 else {
            throw VaultError(.io, "\(path): cannot append to the audit anchor")
        }
    }

    /// The anchor's signed heads with their line numbers; a malformed line is a head that does not verify.
    static func readAnchor(_ path: String) throws -> [(line: Int, head: CheckpointRow)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VaultError(.io, "\(path): cannot read the audit anchor")
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated().map { index, text in
            let fields = text.split(separator: " ").map(String.init)
            guard fields.count == 5, let seq = Int64(fields[0]), let milliseconds = Double(fields[2]) else {
                return (index + 1, CheckpointRow(seq: 0, hash: "", time: 0, signer: "", signature: ""))
            }
            return (
                index + 1,
                CheckpointRow(
                    seq: seq, hash: fields[1], time: milliseconds / 1000, signer: fields[3], signature: fields[4])
            )
        }
    }

    // MARK: Canonical form

    static func hash(
        seq: Int64, time: Double, action: String, actor: String, subject: String, rules: String,
        details: String, previous: String
    ) -> String {
        let canonical = [
            "veilgate-audit/v1", String(seq), Canonical.number(time), action, actor, subject, rules, details, previous,
        ]
        .map { $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n") }
        .joined(separator: "\n")
        return Sodium.sha256(Array(canonical.utf8)).hex
    }

    static func checkpointMessage(_ row: CheckpointRow) -> [UInt8] {
        Array(
            "veilgate-audit-checkpoint/v2\n\(row.seq)\n\(row.hash)\n\(Canonical.number(row.time))\n\(row.signer)".utf8)
    }

    static func encode(_ details: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: details, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func decode(_ text: String) -> [String: String] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: String] ?? [:]
    }
}
