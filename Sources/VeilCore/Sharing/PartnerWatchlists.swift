public import Foundation

/// A partner's own plate watchlist, as the partner API lets its owner manage it: the site keeps keyed hashes only
/// (the vault's watchlists); here the plates arrive once, as a `PLATE,REFERENCE` file, and never come back out.
public protocol PartnerWatchlists: Sendable {
    /// Replaces `owner`'s list with the file's plates, kept for `lifetime`; throws an error whose description names the
    /// line and what is wrong (never a plate).
    func replace(owner: PartnerID, file: Data, lifetime: TimeInterval) throws -> PartnerWatchlistSummary
    /// The owner's list in force, if any.
    func summary(owner: PartnerID) -> PartnerWatchlistSummary?
    /// Removes the owner's list; false when there was none.
    func clear(owner: PartnerID) throws -> Bool
}

/// What a partner learns of its own list: how many plates, since and until when.
public struct PartnerWatchlistSummary: Sendable, Codable, Equatable {
    public var entries: Int
    public var importedAt: Date
    public var expiresAt: Date
    public init(entries: Int, importedAt: Date, expiresAt: Date) {
        self.entries = entries
        self.importedAt = importedAt
        self.expiresAt = expiresAt
    }
}
