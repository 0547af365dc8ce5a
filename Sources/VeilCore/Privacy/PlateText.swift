/// Licence-plate text as watchlists compare it. Plate text is personal data (a plate identifies its keeper): these
/// functions work on it in memory; what is kept is only a keyed hash of their results (the vault's watchlists).
public enum PlateText {
    /// Upper case, letters and digits of the Latin alphabet only (spaces, dashes, dots, a country band's stars and any
    /// other script go), and the two confusions plates themselves avoid resolved one way: O is 0, I is 1. `B-AB 123`,
    /// `bab123` and `BAB-I23` are all `BAB123`.
    public static func normalised(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for scalar in text.uppercased().unicodeScalars {
            switch scalar {
            case "O": out.append("0")
            case "I": out.append("1")
            case "A"..."Z", "0"..."9": out.unicodeScalars.append(scalar)
            default: continue
            }
        }
        return out
    }

    /// What a read plate could be, for plates of the given lengths: every run of that many characters (a reading often
    /// holds the country band's letters or a frame edge besides the plate), and every run one longer with one character
    /// left out (a sticker or emblem between a plate's groups read as a character). `read` must be normalised.
    public static func candidates(of read: String, lengths: Set<Int>) -> Set<String> {
        let characters = Array(read)
        var candidates = Set<String>()
        for length in lengths where length >= 2 && length <= characters.count {
            for start in 0...(characters.count - length) {
                candidates.insert(String(characters[start..<(start + length)]))
            }
            guard length + 1 <= characters.count else { continue }
            for start in 0...(characters.count - length - 1) {
                let run = characters[start..<(start + length + 1)]
                for skipped in run.indices {
                    var shorter = run
                    shorter.remove(at: skipped)
                    candidates.insert(String(shorter))
                }
            }
        }
        return candidates
    }
}
