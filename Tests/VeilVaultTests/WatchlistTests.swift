import Foundation
import Testing
import VeilCore

@testable import VeilVault

/// Partners' plate watchlists: parsed with positions, kept as keyed hashes only (0600), matched, expired, cleared.
@Suite("Plate watchlists")
struct WatchlistTests {
    static func state() throws -> String {
        let folder = NSTemporaryDirectory() + "veilgate-watchlists-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    static let file = """
        # City Police, stolen vehicles
        B-AB 123,stolen-2026-0815

        M5XSX,case-2026-0917
        1B25790,case-2026-1001
        """

    @Test("A watchlist file: comments and blank lines skipped, plates normalised, references kept")
    func parses() throws {
        let entries = try WatchlistFile.parse(Data(Self.file.utf8), name: "police.csv")
        #expect(entries.map(\.plate) == ["BAB123", "M5XSX", "1B25790"])
        #expect(entries.map(\.reference) == ["stolen-2026-0815", "case-2026-0917", "case-2026-1001"])
    }

    @Test(
        "Malformed lists are refused with their line and column, never quoting a plate",
        arguments: [
            ("B-AB 123\n", "police.csv:1: expected PLATE,REFERENCE"),
            ("B-AB 123,ok\nX,short\n", "police.csv:2:1: the plate must have 2 to 12"),
            ("B-AB 123,Max Mustermann\n", "police.csv:1:10: the reference must be"),
            ("B-AB 123,a\nbab-123,b\n", "police.csv:2:1: the same plate as line 1"),
            ("B-AB 123,a,b\n", "found 3 field(s)"),
            ("# nothing\n\n", "police.csv: the watchlist lists no plates"),
        ])
    func refuses(_ text: String, _ message: String) {
        do {
            _ = try WatchlistFile.parse(Data(text.utf8), name: "police.csv")
            Issue.record("accepted: \(message)")
        } catch let error as VaultError {
            #expect(error.message.contains(message), "\(error.message)")
            #expect(!error.message.contains("AB 123") && !error.message.contains("BAB123"))
        } catch { Issue.record("\(error)") }
        #expect(throws: VaultError.self) { try WatchlistFile.parse(Data([0xFF, 0xFE, 0x00]), name: "binary") }
    }

    @Test("Fuzzed watchlist files never crash the parser: each is a list or an error")
    func fuzz() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("AB12 -,#\n\r.:_xyzÄ€\u{0}")
        for _ in 0..<2000 {
            let length = Int.random(in: 0..<80, using: &generator)
            let text = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            do {
                let entries = try WatchlistFile.parse(Data(text.utf8), name: "fuzz")
                #expect(entries.allSatisfy { (2...12).contains($0.plate.count) })
            } catch is VaultError {
            } catch { Issue.record("\(error)") }
        }
    }

    @Test("Only keyed hashes are kept, owner-only; a reading matches its owner's entry, with one stray character too")
    func keepsHashesAndMatches() throws {
        let state = try Self.state()
        defer { try? FileManager.default.removeItem(atPath: state) }
        let now = Date()
        let watchlists = try Watchlists(state: state)
        let entries = try WatchlistFile.parse(Data(Self.file.utf8), name: "police.csv")
        try watchlists.replace(owner: "police", entries: entries, expires: now + 86400, at: now)
        try watchlists.replace(
            owner: "customs", entries: [WatchlistFile.Entry(plate: "M5XSX", reference: "customs-7")],
            expires: now + 3600, at: now)

        let stored = try String(contentsOfFile: state + "/watchlists.json", encoding: .utf8)
        for plate in ["BAB123", "B-AB", "M5XSX", "1B25790"] { #expect(!stored.contains(plate)) }
        for path in [state + "/watchlists.json", state + "/keys/watchlist.key"] {
            let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?
                .intValue
            #expect(mode.map { $0 & 0o077 } == 0, "\(path) is owner-only")
        }

        // The country band's D before the plate, a sticker read as 8 inside it.
        let near = watchlists.matches(PlateText.normalised("D 1B2 85790"), at: now)
        #expect(near == [.init(owner: "police", reference: "case-2026-1001", exact: false)])
        let both = watchlists.matches("M5XSX", at: now)
        #expect(Set(both.map(\.owner)) == ["police", "customs"] && both.allSatisfy(\.exact))
        #expect(watchlists.matches("BAB124", at: now).isEmpty)

        // Another site key hashes differently: the file is useless without this site's key.
        let other = try Watchlists(state: try Self.state())
        #expect(other.hash("M5XSX") != watchlists.hash("M5XSX"))

        // Expiry and clearing.
        #expect(watchlists.matches("M5XSX", at: now + 7200).map(\.owner) == ["police"])
        #expect(try watchlists.clear(owner: "police"))
        #expect(!(try watchlists.clear(owner: "police")))
        #expect(watchlists.summaries(at: now).map(\.owner) == ["customs"])
        #expect(throws: VaultError.self) {
            try watchlists.replace(owner: "police", entries: entries, expires: now + 100 * 86400, at: now)
        }
    }
}
