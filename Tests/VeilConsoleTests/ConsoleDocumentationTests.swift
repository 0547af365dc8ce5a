import Foundation
import Testing
import Yams

@testable import VeilConsole

@Suite("Console documentation")
struct ConsoleDocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("docs/openapi-console.yaml documents exactly the routes the console registers, with their methods")
    func openAPIPaths() throws {
        let text = try String(
            contentsOf: Self.root.appendingPathComponent("docs/openapi-console.yaml"), encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var served: [String: Set<String>] = [:]
        for route in OperatorAPI.routes {
            let path = route.path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                .joined(separator: "/")
            served["/" + path, default: []].insert(route.methodName.lowercased())
        }
        #expect(Set(paths.keys) == Set(served.keys))
        for (path, methods) in served { #expect(Set(paths[path]?.keys ?? [:].keys) == methods, "\(path)") }
    }

    @Test("docs/console.md names every page, role, route and command an operator needs")
    func guide() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/console.md"), encoding: .utf8)
        for page in ConsolePageKind.allCases { #expect(text.contains("/\(page.rawValue)"), "\(page)") }
        for role in ["operator", "dpo", "evidence-officer", "auditor", "admin"] { #expect(text.contains("`\(role)`")) }
        for route in OperatorAPI.routes { #expect(text.contains(route.path), "\(route.path)") }
        for name in ["--console-port", "veilgate certs issue --operator", "operators:", "X-Veilgate-CSRF"] {
            #expect(text.contains(name), "\(name)")
        }
    }
}
