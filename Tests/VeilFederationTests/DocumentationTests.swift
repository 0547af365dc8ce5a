import Foundation
import Testing
import Yams

@testable import VeilFederation

@Suite("Federation documentation")
struct DocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("docs/openapi.yaml documents exactly the routes the server registers")
    func openAPIPaths() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        let documented = Set(
            text.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("  /"), line.hasSuffix(":") else { return nil }
                return String(line.dropFirst(2).dropLast())
            })
        let served = Set(
            PartnerAPI.routes.map { route in
                route.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(
                    separator: "/")
            }.map { "/" + $0 })
        #expect(documented == served)
        // And it is a document tools can load (an unquoted colon in a description once made it invalid YAML).
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        #expect(Set(paths.keys) == served)
    }

    @Test("docs/federation.md names every route, command and header")
    func guide() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/federation.md"), encoding: .utf8)
        for route in PartnerAPI.routes { #expect(text.contains(route), "\(route)") }
        for name in [
            "veilgate certs init", "veilgate certs issue", "veilgate certs revoke", "veilgate certs list",
            "veilgate serve",
            "veilgate partner get", "veilgate partner events", "veilgate partner live", "--camera-source",
            "veilgate alerts raise", "Veilgate-Justification",
            "Last-Event-ID", "Idempotency-Key", "--federation",
        ] {
            #expect(text.contains(name), "\(name)")
        }
    }
}
