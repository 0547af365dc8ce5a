internal import CSodium
public import Foundation
import Synchronization
public import VeilCore

/// The plate watchlists partners uploaded, kept as keyed hashes only: HMAC-SHA-256 of each normalised plate under a
/// site secret (`STATE/keys/watchlist.key`, 0600, made on first use), with the plate's length and the partner's
/// reference. Plate text is never written, logged or sent: a read plate is hashed in memory and compared, and a match
/// names the owning partner and its reference. A list belongs to one partner, replaces that partner's previous list,
/// and expires. The lists live in `STATE/watchlists.json` (0600); a running gateway picks up what the CLI changed.
public final class Watchlists: Sendable {
    /// One partner's list.
    public struct Summary: Sendable, Codable, Equatable {
        public var owner: String
        public var entries: Int
        public var importedAt: Date
        public var expiresAt: Date
    }

    /// A read plate that is on a list.
    public struct Match: Sendable, Equatable {
        public var owner: PartnerID
        /// The partner's reference for the entry (never the plate).
        public var reference: String
        /// The plate was read exactly; false when one extra character had to be left out (a sticker, an emblem).
        public var exact: Bool
    }

    struct StoredEntry: Codable, Equatable {
        var hash: String
        var length: Int
        var reference: String
    }

    struct StoredList: Codable, Equatable {
        var owner: String
        var importedAt: Date
        var expiresAt: Date
        var entries: [StoredEntry]
    }

    struct Stored: Codable {
        static let currentFormat = "veilgate-watchlists/v1"
        var format = Stored.currentFormat
        var lists: [StoredList] = []
    }

    /// The longest a list is kept before its owner must upload it again.
    public static let maximumLifetime: TimeInterval = 90 * 86_400

    let path: String
    let key: SecretKey
    /// The lists as last read, and the file's modification time then.
    private let cache = Mutex<(stored: Stored, modified: Date?)>((Stored(), nil))

    /// Opens the watchlists of the state folder `state`, making the site secret on first use.
    public init(state: String) throws {
        path = state + "/watchlists.json"
        let keyPath = state + "/keys/watchlist.key"
        if !FileManager.default.fileExists(atPath: keyPath) { try KeyEncryptionKeySource.createFile(at: keyPath) }
        key = try KeyEncryptionKeySource.readPrivateKey(
            at: keyPath, what: "watchlist key", missing: "\(keyPath): no watchlist key")
    }

    /// Replaces `owner`'s list with `entries`, kept until `expires` (at most ``maximumLifetime`` from now).
    @discardableResult
    public func replace(
        owner: PartnerID, entries: [WatchlistFile.Entry], expires: Date, at now: Date = Date()
    ) throws
        -> Summary
    {
        guard expires > now, expires.timeIntervalSince(now) <= Self.maximumLifetime else {
            throw VaultError(.invalidArgument, "a watchlist expires after now and within 90 days")
        }
        let list = StoredList(
            owner: owner.rawValue, importedAt: now, expiresAt: expires,
            entries: entries.map { StoredEntry(hash: hash($0.plate), length: $0.plate.count, reference: $0.reference) })
        try update { stored in
            stored.lists.removeAll { $0.owner == owner.rawValue }
            stored.lists.append(list)
        }
        return Summary(owner: owner.rawValue, entries: list.entries.count, importedAt: now, expiresAt: expires)
    }

    /// Removes `owner`'s list; false when there was none.
    @discardableResult
    public func clear(owner: PartnerID) throws -> Bool {
        var removed = false
        try update { stored in
            let before = stored.lists.count
            stored.lists.removeAll { $0.owner == owner.rawValue }
            removed = stored.lists.count != before
        }
        return removed
    }

    /// The lists in force.
    public func summaries(at now: Date = Date()) -> [Summary] {
        current().lists.filter { $0.expiresAt > now }.map {
            Summary(owner: $0.owner, entries: $0.entries.count, importedAt: $0.importedAt, expiresAt: $0.expiresAt)
        }
    }

    /// Whether any list is in force (a camera need not read plates otherwise).
    public func isEmpty(at now: Date = Date()) -> Bool { summaries(at: now).isEmpty }

    /// The entries a read plate matches, in every list in force. `reading` is normalised plate text; it and every
    /// candidate made from it stay in this call's memory.
    public func matches(_ reading: String, at now: Date = Date()) -> [Match] {
        let lists = current().lists.filter { $0.expiresAt > now }
        guard !lists.isEmpty else { return [] }
        let lengths = Set(lists.flatMap { $0.entries.map(\.length) })
        var hashes: [String: Bool] = [:]
        for candidate in PlateText.candidates(of: reading, lengths: lengths) {
            // Exact when the candidate is a run of the reading, not one with a character left out.
            let digest = hash(candidate)
            hashes[digest] = (hashes[digest] ?? false) || reading.contains(candidate)
        }
        var found: [Match] = []
        for list in lists {
            for entry in list.entries {
                if let exact = hashes[entry.hash] {
                    found.append(Match(owner: PartnerID(list.owner), reference: entry.reference, exact: exact))
                }
            }
        }
        return found
    }

    /// HMAC-SHA-256 of the normalised plate under the site secret, hex.
    func hash(_ plate: String) -> String {
        var message = [UInt8]("veilgate-watchlist/v1\u{0}\(plate)".utf8)
        defer { Sodium.wipe(&message) }
        var digest = [UInt8](repeating: 0, count: 32)
        key.withBytes { secret in
            _ = crypto_auth_hmacsha256(&digest, message, UInt64(message.count), secret)
        }
        return digest.hex
    }

    private func current() -> Stored {
        let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        return cache.withLock { cache in
            if cache.modified != modified || modified == nil {
                cache = (Self.read(path) ?? Stored(), modified)
            }
            return cache.stored
        }
    }

    private static func read(_ path: String) -> Stored? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let stored = try? decoder.decode(Stored.self, from: data), stored.format == Stored.currentFormat else {
            return nil
        }
        return stored
    }

    private func update(_ change: (inout Stored) -> Void) throws {
        var stored = Self.read(path) ?? Stored()
        stored.lists.removeAll { $0.expiresAt <= Date() }
        change(&stored)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data: Data
        do { data = try encoder.encode(stored) } catch {
            throw VaultError(.io, "cannot encode the watchlists", underlying: error)
        }
        let temporary = path + ".new"
        try Vault.writeDurably(data, to: temporary)
        guard rename(temporary, path) == 0 else { throw VaultError(.io, "\(path): cannot replace the watchlists") }
        cache.withLock { $0 = (stored, nil) }
    }
}
