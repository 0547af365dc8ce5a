import Testing
import VeilCore

@Suite("Plate text as watchlists compare it")
struct PlateTextTests {
    @Test("Normalised: upper case Latin letters and digits only, O as 0 and I as 1")
    func normalises() {
        #expect(PlateText.normalised("B-AB 123") == "BAB123")
        #expect(PlateText.normalised("bab·I23") == "BAB123")
        #expect(PlateText.normalised("皖RK·857AO") == "RK857A0")
        #expect(PlateText.normalised(" - ") == "")
    }

    @Test("Candidates: every run of a listed length, and every run one longer with one character left out")
    func candidates() {
        // A reading with the country band's letter before it and a sticker read as 8 inside it.
        let read = PlateText.normalised("D1B2857900")
        let candidates = PlateText.candidates(of: read, lengths: [7])
        #expect(candidates.contains("1B28579"))
        #expect(candidates.contains("1B25790"), "the 8 in 1B2857900 left out")
        #expect(!candidates.contains("1B25799"))
        #expect(candidates.allSatisfy { $0.count == 7 })
        #expect(PlateText.candidates(of: "AB1", lengths: [7]).isEmpty, "nothing longer than the reading")
        #expect(PlateText.candidates(of: "AB", lengths: [1, 0]).isEmpty, "no one-character plates")
    }
}
