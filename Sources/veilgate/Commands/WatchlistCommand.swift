import ArgumentParser
import Foundation
import VeilCore
import VeilPolicy
import VeilVault

/// `veilgate watchlist import|list|clear`: partners' plate watchlists, kept as keyed hashes only.
struct WatchlistCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watchlist",
        abstract: "Keep a partner's plate watchlist for watchlist-match alerts (keyed hashes only, never plate text).",
        discussion: """
            A watchlist file lists one PLATE,REFERENCE per line (# comments and blank lines allowed). The gateway keeps \
            only an HMAC of each normalised plate under the site's watchlist key (STATE/keys/watchlist.key), with the \
            reference; a match alert carries the reference, goes to that partner alone, and never the plate. A running \
            gateway picks up a change at once.
            """,
        subcommands: [WatchlistImportCommand.self, WatchlistListCommand.self, WatchlistClearCommand.self]
    )
}

struct WatchlistImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Replace a partner's watchlist with a file's plates.")

    @Argument(help: ArgumentHelp("The watchlist: PLATE,REFERENCE per line.", valueName: "file"))
    var file: String
    @Option(help: "The partner (policy id) that owns the list and alone receives its matches.")
    var partner: String
    @Option(help: ArgumentHelp("How long the list is kept (at most 90d).", valueName: "duration"))
    var expires: String = "30d"
    @OptionGroup var location: VaultLocation

    func run() throws {
        guard let lifetime = PolicyDuration(parsing: expires), lifetime.seconds > 0, lifetime.seconds <= 90 * 86_400
        else { throw ValidationError("--expires '\(expires)' must be a duration up to 90d, such as 30d or 72h") }
        let policy = try location.policy()
        let owner = PartnerID(partner)
        guard policy.document.partners.contains(where: { $0.id == owner }) else {
            throw ValidationError("the policy has no partner '\(partner)'")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("\(file): cannot read the file")
        }
        let now = Date()
        let summary = try watchlistOperation {
            let entries = try WatchlistFile.parse(data, name: file)
            return try Watchlists(state: location.state).replace(
                owner: owner, entries: entries, expires: now.addingTimeInterval(TimeInterval(lifetime.seconds)), at: now
            )
        }
        print(
            "watchlist of \(partner): \(summary.entries) plate(s), kept as keyed hashes until \(ISO8601DateFormatter.veilgate(summary.expiresAt))"
        )
        let cameras = policy.document.cameras.filter { camera in
            camera.analytics.contains(.watchlistMatch)
                && policy.verdict(
                    for: AccessRequest(partner: owner, camera: camera.id, action: .alert(.watchlistMatch), at: now)
                ).isAllowed
        }
        if cameras.isEmpty {
            printError(
                "note: no camera of the policy in force runs watchlist-match with a grant of its alerts to \(partner): matches reach nobody until one does"
            )
        } else {
            print("matched on: \(cameras.map(\.id.rawValue).joined(separator: ", "))")
        }
        print("the file still holds the plates in clear: delete it if it was only for this import")
    }
}

struct WatchlistListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "The watchlists in force: owner, how many plates, until when (never the plates)."
    )

    @Option(help: ArgumentHelp("The gateway's state folder. Default: $VEILGATE_STATE or ./state.", valueName: "dir"))
    var state: String = ProcessInfo.processInfo.environment["VEILGATE_STATE"] ?? "state"

    func run() throws {
        let lists = try watchlistOperation { try Watchlists(state: state).summaries() }
        if lists.isEmpty { print("no watchlist in force") }
        for list in lists.sorted(by: { $0.owner < $1.owner }) {
            print(
                "\(list.owner): \(list.entries) plate(s), imported \(ISO8601DateFormatter.veilgate(list.importedAt)), expires \(ISO8601DateFormatter.veilgate(list.expiresAt))"
            )
        }
    }
}

struct WatchlistClearCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clear", abstract: "Remove a partner's watchlist.")

    @Option(help: "The partner whose list goes.") var partner: String
    @Option(help: ArgumentHelp("The gateway's state folder. Default: $VEILGATE_STATE or ./state.", valueName: "dir"))
    var state: String = ProcessInfo.processInfo.environment["VEILGATE_STATE"] ?? "state"

    func run() throws {
        let removed = try watchlistOperation { try Watchlists(state: state).clear(owner: PartnerID(partner)) }
        print(removed ? "watchlist of \(partner) removed" : "\(partner) has no watchlist")
    }
}

/// Vault errors (a malformed file, with its line) as the command's error, exit 1.
func watchlistOperation<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as VaultError {
        printError("error: \(error.message)")
        throw ExitCode(1)
    }
}
