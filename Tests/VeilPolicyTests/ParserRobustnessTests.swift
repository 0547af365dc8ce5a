import Foundation
import Testing
import VeilCore
import VeilTestSupport

@testable import VeilPolicy

/// The parser reads files a DPO (or an attacker with write access to a bundle) controls: whatever the bytes,
/// it must return diagnostics with sane positions and never trap, hang or blow up memory.
@Suite("Parser robustness")
struct ParserRobustnessTests {
    static let example: Data = {
        let url = PolicyFixture.repositoryRoot.appendingPathComponent("policies/city-centre.yaml")
        return (try? Data(contentsOf: url)) ?? Data(PolicyFixture.base.utf8)
    }()

    /// Fragments that, spliced in, tend to reach unusual parser states.
    static let fragments: [String] = [
        "[", "]", "{", "}", ":", "- ", "\n  ", "\t", "&a ", "*a", "!!binary ", "? ", "'", "\"", "|", ">",
        "---\n", "...\n", "#", "%YAML 1.1\n", "<<: *a\n", "~", "null", "- id: x\n", "\u{FEFF}", "\u{0}", "é",
        "99999999999999999999d", "-1h", "1e309",
    ]

    func check(_ data: Data, seed: Int) {
        let outcome = PolicyLoader.lint(data: data, file: "fuzz.yaml", now: PolicyFixture.now)
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).count
        for diagnostic in outcome.diagnostics {
            #expect(
                diagnostic.location.line >= 1 && diagnostic.location.line <= lines + 1, "seed \(seed): \(diagnostic)")
            #expect(diagnostic.location.column >= 1, "seed \(seed)")
        }
        if outcome.document == nil {
            #expect(outcome.diagnostics.containsErrors, "seed \(seed): no document, no error")
        }
        // A document that lints clean must compile and answer a request.
        if let document = outcome.document, !outcome.diagnostics.containsErrors {
            let policy = CompiledPolicy(validated: document)
            _ = policy.decide(
                AccessRequest(partner: "police", camera: "market-square", action: .live, at: PolicyFixture.now))
        }
    }

    @Test("mutated policies never crash the parser", arguments: 0..<400)
    func mutations(_ seed: Int) {
        var generator = SeededGenerator(seed: UInt64(seed))
        var bytes = [UInt8](Self.example)
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            let position = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<5, using: &generator) {
            case 0: bytes[position] ^= UInt8.random(in: 1...255, using: &generator)
            case 1:
                bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...200, using: &generator)))
            case 2:
                let end = min(bytes.count, position + Int.random(in: 1...300, using: &generator))
                bytes.insert(contentsOf: bytes[position..<end], at: Int.random(in: 0..<bytes.count, using: &generator))
            case 3: bytes.insert(contentsOf: Array(Self.fragments.randomElement(using: &generator)!.utf8), at: position)
            default: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: position)
            }
            if bytes.isEmpty { bytes = [0x20] }
        }
        check(Data(bytes), seed: seed)
    }

    @Test(
        "hostile documents get a clear error",
        arguments: [
            (
                "deep flow nesting", String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000),
                LintRule.yamlSyntax
            ),
            (
                "deep but parseable nesting",
                "veilgate: policy/v1\nmetadata: " + String(repeating: "[", count: 500)
                    + String(repeating: "]", count: 500), .documentTooLarge
            ),
            (
                "alias expansion",
                "veilgate: policy/v1\na: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n",
                .anchorsNotAllowed
            ),
            ("two documents", "veilgate: policy/v1\n---\nveilgate: policy/v1\n", .yamlSyntax),
            ("NUL byte", "veilgate: policy/v1\u{0}\n", .yamlSyntax),
            ("a list at the top", "- veilgate: policy/v1\n", .wrongType),
            ("empty file", "", .missingKey),
            ("duplicate keys", "veilgate: policy/v1\nmetadata: {}\nmetadata: {}\n", .yamlSyntax),
            ("merge key", "veilgate: policy/v1\nmetadata:\n  <<: {controller: x}\n", .unknownKey),
        ])
    func hostile(_ name: String, _ text: String, _ rule: LintRule) {
        let outcome = PolicyLoader.lint(data: Data(text.utf8), file: "hostile.yaml", now: PolicyFixture.now)
        #expect(outcome.diagnostics.contains { $0.rule == rule }, "\(name): \(outcome.diagnostics)")
    }

    @Test("oversized files and invalid UTF-8 are refused before parsing")
    func oversizedAndBinary() {
        let large = Data(repeating: 0x20, count: YAMLReader.maximumFileSize + 1)
        #expect(
            PolicyLoader.lint(data: large, file: "large.yaml", now: PolicyFixture.now).diagnostics.map(\.rule) == [
                .documentTooLarge
            ])
        let binary = Data([0x76, 0x65, 0xFF, 0xFE, 0x80])
        #expect(
            PolicyLoader.lint(data: binary, file: "binary.yaml", now: PolicyFixture.now).diagnostics.map(\.rule) == [
                .yamlSyntax
            ])
    }

    @Test("a policy with 500 cameras and 50 partners parses, lints and compiles")
    func largePolicy() throws {
        let text = PolicyGenerator.policy(cameras: 500, partners: 50)
        let outcome = PolicyLoader.lint(data: Data(text.utf8), file: "large.yaml", now: PolicyFixture.now)
        #expect(!outcome.diagnostics.containsErrors, "\(outcome.diagnostics.prefix(3))")
        let policy = try CompiledPolicy(#require(outcome.document), lintedAt: PolicyFixture.now)
        #expect(
            policy.decide(
                AccessRequest(partner: "partner-7", camera: "camera-49", action: .live, at: PolicyFixture.now)
            ).isAllowed)
    }
}
