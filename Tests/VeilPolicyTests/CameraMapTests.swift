import Foundation
import Testing
import VeilCore

@testable import VeilPolicy

/// `position:` on cameras and `metadata.map` — the console's camera map — parsed, and refused with positions when
/// wrong.
@Suite("Camera positions and the site map")
struct CameraMapTests {
    static func withMap(
        position: String,
        map: String = #"{tiles: "https://{s}.tiles.test.example/{z}/{x}/{y}.png", attribution: "Test"}"#
    ) -> String {
        PolicyFixture.base
            .replacingOccurrences(
                of: "  - id: cam-a\n", with: "  - id: cam-a\n    position: \(position)\n"
            )
            .replacingOccurrences(of: "  site: test\n", with: "  site: test\n  map: \(map)\n")
    }

    @Test("A camera's latitude, longitude and heading, and the site's tile server with the origin the console allows")
    func parses() throws {
        let policy = try PolicyFixture.compile(Self.withMap(position: "{lat: 50.9385, lon: 6.96, heading: 215}"))
        let camera = try #require(policy.document.cameras.first { $0.id == "cam-a" })
        #expect(camera.position == .init(latitude: 50.9385, longitude: 6.96, heading: 215))
        #expect(policy.document.cameras.first { $0.id == "cam-b" }?.position == nil)
        let map = try #require(policy.document.metadata.map)
        #expect(map.origin == "https://*.tiles.test.example" && map.attribution == "Test")
    }

    @Test(
        "Out-of-range coordinates and headings, a missing longitude and a tile URL that is not https are errors at their place"
    )
    func refuses() throws {
        func errors(_ text: String) -> [PolicyDiagnostic] {
            PolicyFixture.lint(text).diagnostics.filter { $0.severity == .error }
        }
        let lines = { (text: String, needle: String) in
            text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(needle) }! + 1
        }
        let north = Self.withMap(position: "{lat: 95, lon: 6.96}")
        let latitude = try #require(errors(north).first { $0.message.contains("latitude must be between -90 and 90") })
        #expect(latitude.location.line == lines(north, "lat: 95"))
        #expect(errors(Self.withMap(position: "{lat: 50, lon: 181}")).contains { $0.message.contains("longitude") })
        #expect(
            errors(Self.withMap(position: "{lat: 50, lon: 6, heading: 360}")).contains {
                $0.message.contains("heading")
            })
        #expect(errors(Self.withMap(position: "{lat: 50}")).contains { $0.rule == .missingKey })
        #expect(errors(Self.withMap(position: "{lat: 50, lon: 6, zoom: 3}")).contains { $0.rule == .unknownKey })
        for tiles in [
            #"{tiles: "http://tiles.test.example/{z}/{x}/{y}.png"}"#,
            #"{tiles: "https://user:secret@tiles.test.example/{z}/{x}/{y}.png"}"#,
            #"{tiles: "https://tiles.test.example/map.png"}"#,
        ] {
            let text = Self.withMap(position: "{lat: 50, lon: 6}", map: tiles)
            let refusal = try #require(errors(text).first { $0.message.contains("map tiles must be") }, "\(tiles)")
            #expect(refusal.location.line == lines(text, "map: "))
            #expect(!refusal.message.contains("secret"))
        }
    }
}
