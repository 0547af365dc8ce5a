import Foundation
import Testing
import VeilTestSupport

@testable import VeilMedia

/// Sound levels measured from a real clip's audio (Megamind.avi: film dialogue, AC-3, 48 kHz stereo), window by window,
/// against FFmpeg's own decode of the same track (mono, through the `ffmpeg` tool).
@Suite("Audio levels")
struct AudioLevelTests {
    /// RMS dBFS per 100 ms of the clip's sound, as the `ffmpeg` tool decodes and downmixes it.
    static func referenceLevels() throws -> [Double] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        process.arguments = [
            "-v", "error", "-i", TestPaths.megamind, "-vn", "-ac", "1", "-ar", "48000", "-f", "s16le", "-",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let samples = data.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        return stride(from: 0, to: samples.count - 4800, by: 4800).map { start in
            let window = samples[start..<(start + 4800)]
            let meanSquare = window.reduce(0.0) { $0 + Double($1) * Double($1) } / (4800 * 32768 * 32768)
            return meanSquare > 1e-12 ? 10 * log10(meanSquare) : -120
        }
    }

    @Test("The meter follows the sound: quiet where the film is quiet, within a dB or so of FFmpeg's mono decode")
    func megamindLevels() async throws {
        let source = try MediaSource(address: TestPaths.megamind, options: SourceOptions(keepAudio: true))
        var meter: AudioLevelMeter?
        var levels: [AudioLevelMeter.Level] = []
        for try await frame in source.frames {
            guard let first = frame.audio.first else { continue }
            if meter == nil { meter = AudioLevelMeter(format: first.format) }
            levels += meter?.levels(of: frame.audio) ?? []
        }
        let reference = try Self.referenceLevels()
        print(
            "windows: \(levels.count) measured, \(reference.count) from ffmpeg; decode errors \(meter?.decodeErrors ?? -1)"
        )
        #expect(levels.count >= reference.count - 3 && levels.count <= reference.count + 3)
        #expect(zip(levels, levels.dropFirst()).allSatisfy { abs($1.time - $0.time - 0.1) < 0.02 }, "100 ms apart")
        // Stereo measured together against a mono downmix: equal for a centred voice, within a few dB otherwise.
        var differences: [Double] = []
        for (index, level) in levels.enumerated() {
            let slot = Int((level.time - (levels.first?.time ?? 0)) / 0.1 + 0.5)
            guard slot < reference.count, reference[slot] > -60, index > 0 else { continue }
            differences.append(abs(level.rms - reference[slot]))
        }
        let sorted = differences.sorted()
        let median = sorted[sorted.count / 2]
        print(
            "median difference from ffmpeg's mono decode: \(String(format: "%.1f", median)) dB over \(sorted.count) windows"
        )
        #expect(median < 1.5)
        // The film's quiet spell (about 8.1–9.4 s) reads as quiet, the talk around it as talk.
        let quiet = levels.filter { $0.time > 8.2 && $0.time < 9.3 }
        let talk = levels.filter { $0.time < 7.5 }
        #expect(!quiet.isEmpty && quiet.allSatisfy { $0.rms < -50 }, "\(quiet.map(\.rms))")
        #expect(talk.filter { $0.rms > -45 }.count > talk.count / 2)
    }
}
