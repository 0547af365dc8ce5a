import Foundation
import Testing
import VeilCore

@testable import VeilPolicy

/// The console's zone editor proposes new zones and lines for one camera as an edit of the policy's text.
@Suite("Zones and lines rewritten in the policy text")
struct GeometryEditTests {
    static let text = """
        veilgate: policy/v1
        cameras:
          - id: lobby
            description: "Lobby"   # a comment that stays
            zones:
              - id: desk
                polygon: [[0.1, 0.1], [0.4, 0.1], [0.4, 0.4]]
                thresholds: {loitering: {after: 90s}}
              - id: door
                polygon: [[0.6, 0.6], [0.9, 0.6], [0.9, 0.9]]

          - id: yard
            description: "Yard"
        partners: []

        """

    @Test(
        "A camera's zones and lines replaced: moved zones keep their thresholds, removed ones go, the rest of the file stays"
    )
    func replaced() throws {
        let edited = try GeometryEdit.replacing(
            in: Self.text, camera: "lobby",
            zones: [
                .init(id: "desk", polygon: [.init(x: 0.2, y: 0.2), .init(x: 0.5, y: 0.2), .init(x: 0.5, y: 0.5)]),
                .init(id: "queue", polygon: [.init(x: 0.0, y: 0.5), .init(x: 0.3333333, y: 0.5), .init(x: 0.1, y: 1)]),
            ],
            lines: [.init(id: "entrance", from: .init(x: 0, y: 0.8), to: .init(x: 1, y: 0.8))])
        let (document, diagnostics) = PolicyParser.parse(Data(edited.utf8), file: "edited.yaml")
        // The sketch of a policy lacks required keys (metadata, sources); nothing else may be wrong with the edit.
        #expect(diagnostics.filter { $0.rule != .missingKey }.isEmpty, "\(diagnostics)\n\(edited)")
        let lobby = try #require(document?.cameras.first { $0.id == "lobby" })
        #expect(lobby.zones.map(\.id) == ["desk", "queue"])
        #expect(lobby.zones[0].polygon == [.init(x: 0.2, y: 0.2), .init(x: 0.5, y: 0.2), .init(x: 0.5, y: 0.5)])
        #expect(lobby.zones[0].thresholds.loiteringAfter == PolicyDuration(seconds: 90))
        #expect(lobby.zones[1].polygon[1] == .init(x: 0.333, y: 0.5))
        #expect(lobby.lines.map(\.id) == ["entrance"] && lobby.lines[0].to == .init(x: 1, y: 0.8))
        #expect(edited.contains(#"description: "Lobby"   # a comment that stays"#))
        #expect(document?.cameras.first { $0.id == "yard" }?.zones.isEmpty == true)
        #expect(edited.hasSuffix("partners: []\n"))

        // A camera without zones gets them after its last key; an empty list removes the key.
        let yard = try GeometryEdit.replacing(
            in: edited, camera: "yard",
            zones: [.init(id: "gate", polygon: [.init(x: 0, y: 0), .init(x: 1, y: 0), .init(x: 1, y: 1)])], lines: [])
        let yardDocument = PolicyParser.parse(Data(yard.utf8), file: "yard.yaml").0
        #expect(yardDocument?.cameras.first { $0.id == "yard" }?.zones.map(\.id) == ["gate"])
        let cleared = try GeometryEdit.replacing(in: yard, camera: "lobby", zones: [], lines: [])
        let clearedLobby = PolicyParser.parse(Data(cleared.utf8), file: "c.yaml").0?.cameras.first { $0.id == "lobby" }
        #expect(clearedLobby?.zones.isEmpty == true && clearedLobby?.lines.isEmpty == true)
        #expect(!cleared.contains("zones:\n          - id: desk"))
    }

    @Test("The example policy's market square: moving the fountain changes that polygon and nothing else")
    func example() throws {
        let text = try String(
            contentsOf: PolicyFixture.repositoryRoot.appendingPathComponent("policies/city-centre.yaml"),
            encoding: .utf8)
        let edited = try GeometryEdit.replacing(
            in: text, camera: "market-square",
            zones: [
                .init(id: "fountain", polygon: [.init(x: 0.3, y: 0.4), .init(x: 0.65, y: 0.4), .init(x: 0.5, y: 0.8)]),
                .init(
                    id: "tram-tracks",
                    polygon: [.init(x: 0, y: 0.85), .init(x: 1, y: 0.8), .init(x: 1, y: 1), .init(x: 0, y: 1)]),
            ], lines: [])
        let old = PolicyLoader.lint(data: Data(text.utf8), file: "a.yaml", now: PolicyFixture.now)
        let new = PolicyLoader.lint(data: Data(edited.utf8), file: "b.yaml", now: PolicyFixture.now)
        #expect(!new.hasErrors, "\(new.diagnostics)")
        let diff = PolicyDiff(
            old: try CompiledPolicy(#require(old.document), lintedAt: PolicyFixture.now),
            new: try CompiledPolicy(#require(new.document), lintedAt: PolicyFixture.now))
        #expect(diff.changes.isEmpty && diff.siteChanges.isEmpty)
        #expect(diff.cameraChanges.map(\.camera) == ["market-square"])
        #expect(diff.cameraChanges.first?.changes.count == 1, "\(diff.render())")
        #expect(diff.render().contains("zone fountain"))
    }

    @Test("Text that does not parse, or a camera it lacks, is refused")
    func refused() {
        #expect(throws: PolicyError.self) {
            try GeometryEdit.replacing(in: "veilgate: [", camera: "lobby", zones: [], lines: [])
        }
        #expect(throws: PolicyError.self) {
            try GeometryEdit.replacing(in: Self.text, camera: "roof", zones: [], lines: [])
        }
    }
}
