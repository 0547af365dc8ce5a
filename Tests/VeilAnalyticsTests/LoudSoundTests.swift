import Foundation
import Testing

@testable import VeilAnalytics

/// `loud-sound` on level sequences written out: speech, a bang, shouting, quiet spells, repeats.
@Suite("Loud sounds")
struct LoudSoundTests {
    /// Levels of speech: a voice between −45 and −25 dBFS, varying window by window (deterministic).
    static func speech(seconds: Double, from start: Double = 0) -> [(Double, Double)] {
        (0..<Int(seconds * 10)).map { index -> (Double, Double) in
            let step = Double(index)
            let swing: Double = sin(step * 1.7) * cos(step * 0.3)
            return (start + step / 10, -35 + 10 * swing)
        }
    }

    static func run(_ levels: [(Double, Double)]) -> [(Double, LoudSoundDetector.Sound)] {
        var detector = LoudSoundDetector()
        return levels.compactMap { time, level in detector.observe(level: level, at: time).map { (time, $0) } }
    }

    @Test("Ordinary speech, speech resuming after silence, and a quiet room raise nothing")
    func ordinary() {
        #expect(Self.run(Self.speech(seconds: 60)).isEmpty)
        let pause = (0..<30).map { (40 + Double($0) / 10, -65.0) }
        #expect(Self.run(Self.speech(seconds: 40) + pause + Self.speech(seconds: 20, from: 43)).isEmpty)
        // A quiet room's door: far over its baseline, yet not loud.
        let room = (0..<100).map { (Double($0) / 10, $0 == 60 ? -30.0 : -70.0) }
        #expect(Self.run(room).isEmpty)
    }

    @Test("A bang raises one alert; another straight after does not, one after a calm spell does")
    func bangs() {
        var levels = Self.speech(seconds: 30)
        levels[150].1 = -4
        levels[155].1 = -5
        levels[250].1 = -3
        let heard = Self.run(levels)
        #expect(heard.map(\.0) == [15.0, 25.0], "\(heard)")
        #expect(heard.allSatisfy { $0.1 == .bang })
    }

    @Test("Shouting kept up for 1.5 s raises one alert; a shout of half a second does not")
    func shouting() {
        var levels = Self.speech(seconds: 30)
        for index in 100..<125 { levels[index].1 = -19 + Double(index % 3) }
        for index in 200..<205 { levels[index].1 = -19 }
        let heard = Self.run(levels)
        #expect(heard.count == 1 && heard.first?.1 == .sustained, "\(heard)")
        #expect((heard.first?.0 ?? 0) >= 11.4 && (heard.first?.0 ?? 0) < 12.6)
    }

    @Test("Nothing is judged before two seconds of the camera's own sound are known")
    func warmUp() {
        #expect(Self.run([(0, -5), (0.1, -4), (1.0, -3)]).isEmpty)
    }
}
