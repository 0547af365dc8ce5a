import Foundation
import Testing
import VeilCore

@Suite("Core vocabulary")
struct VeilCoreTests {
    @Test(
        "durations parse strictly and print as people write them",
        arguments: [
            ("90s", 90, "90s", "90 seconds"), ("15m", 900, "15m", "15 minutes"), ("72h", 259_200, "72h", "72 hours"),
            ("7d", 604_800, "7d", "7 days"), ("30d", 2_592_000, "30d", "30 days"), ("2w", 1_209_600, "2w", "2 weeks"),
            ("52w", 31_449_600, "52w", "52 weeks"), ("1h", 3600, "1h", "1 hour"),
        ])
    func durations(_ text: String, _ seconds: Int64, _ description: String, _ spelled: String) throws {
        let duration = try #require(PolicyDuration(parsing: text))
        #expect(duration.seconds == seconds)
        #expect(duration.description == description)
        #expect(duration.spelledOut == spelled)
        #expect(PolicyDuration(parsing: duration.description) == duration)
    }

    @Test(
        "malformed durations are refused, overflow included",
        arguments: [
            "", "h", "72", "72 h", "-1h", "1.5h", "3y", "72H", "99999999999w", "１h", "0x10s",
        ])
    func badDurations(_ text: String) {
        #expect(PolicyDuration(parsing: text) == nil)
    }

    @Test("sharing actions parse and print the same way", arguments: ["live", "clip", "counts", "alert:loitering"])
    func actions(_ text: String) throws {
        #expect(try #require(SharingAction(parsing: text)).description == text)
    }

    @Test("unknown actions are refused", arguments: ["", "alert", "alert:", "view", "LIVE"])
    func badActions(_ text: String) {
        #expect(SharingAction(parsing: text) == nil)
    }

    @Test("identifiers are plain, printable and short")
    func identifiers() {
        #expect(CameraID.isWellFormed("market-square"))
        #expect(CameraID.isWellFormed("cam_01.north"))
        for bad in ["", "-cam", "Cam", "cam a", "cam/a", "cäm", String(repeating: "a", count: 65), "cam\n"] {
            #expect(!CameraID.isWellFormed(bad), "\(bad.debugDescription)")
        }
    }

    @Test("the least revealing redaction is the union of what each hides")
    func redactionMerge() {
        let blurFaces = RedactionSpec(classes: [.faces], mode: .blur, shape: .ellipse, margin: 0.1)
        let solidPlates = RedactionSpec(classes: [.plates], mode: .solid, shape: .box, margin: 0.05)
        let merged = blurFaces.merged(with: solidPlates)
        #expect(merged == RedactionSpec(classes: [.faces, .plates], mode: .solid, shape: .box, margin: 0.1))
        #expect(RedactionSpec.unredacted.isUnredacted)
        #expect(!merged.isUnredacted)
        #expect(!blurFaces.isAtLeastAsProtective(as: solidPlates))
    }

    @Test("personal-data categories are the identifying ones")
    func categories() {
        #expect(
            DataCategory.allCases.filter(\.isPersonalData) == [
                .rawVideo, .plateText, .biometricTemplates, .audio, .unmaskLayer,
            ])
        #expect(LawfulBasis.publicTask.article == "Art. 6(1)(e)")
        #expect(SpecialCategoryException.substantialPublicInterest.article == "Art. 9(2)(g)")
    }
}
