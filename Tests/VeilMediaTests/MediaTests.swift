import Foundation
import Testing
import VeilCore
import VeilMedia
import VeilTestSupport

@Suite("Media: decode, encode, segment")
struct MediaTests {
    static let data = TestPaths.sharedData
    static let vtest = TestPaths.vtest
    static let megamind = TestPaths.megamind

    static func temporaryFolder() throws -> String { try TestPaths.temporaryFolder("veilgate-media") }

    @Test("vtest.avi decodes completely: 795 frames of 768×576 at 10 fps, in time order")
    func decodeVtest() async throws {
        let source = try MediaSource(address: Self.vtest)
        #expect(source.width == 768 && source.height == 576)
        #expect(source.frameRate == 10)
        #expect(source.codecName == "msmpeg4")  // FFmpeg's decoder for MS-MPEG4 v3
        var count = 0
        var previous = -1.0
        for try await frame in source.frames {
            #expect(frame.time > previous)
            previous = frame.time
            count += 1
        }
        #expect(count == 795)
        #expect(source.decodeErrors == 0)
    }

    @Test("encode to MP4 and decode again: same frames, size and timing")
    func roundTrip() async throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = try MediaSource(address: Self.megamind)
        let output = folder + "/megamind.mp4"
        let writer = try MP4Writer(
            path: output, width: source.width, height: source.height, frameRate: source.frameRate)
        for try await frame in source.frames { try writer.write(frame) }
        try writer.finish()
        let reread = try MediaSource(address: output)
        #expect(reread.codecName == "h264")
        #expect(reread.width == source.width && reread.height == source.height)
        var count = 0
        for try await _ in reread.frames { count += 1 }
        #expect(count == writer.framesWritten)
        #expect(count == 270)
    }

    @Test("segments: independently decodable fragmented MP4, each 2–10 s, covering the whole clip")
    func segments() async throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = try MediaSource(address: Self.vtest)
        let segmenter = try SegmentWriter(
            folder: folder, width: source.width, height: source.height, frameRate: source.frameRate,
            segmentDuration: 6, settings: EncoderSettings(preset: "ultrafast"))
        var segments: [SegmentWriter.Segment] = []
        var frames = 0
        for try await frame in source.frames.prefix(200) {
            frames += 1
            if let closed = try segmenter.write(frame) { segments.append(closed) }
        }
        if let last = try segmenter.finish() { segments.append(last) }
        #expect(segments.count == 4)  // 20 s at 6 s each
        #expect(segments.reduce(0) { $0 + $1.frames } == frames)
        for segment in segments.dropLast() { #expect(abs(segment.end - segment.start - 6) < 0.15) }
        for segment in segments {
            let reread = try MediaSource(address: segment.path)
            var count = 0
            for try await _ in reread.frames { count += 1 }
            #expect(count == segment.frames, "\(segment.path)")
        }
        // Fragmented: the movie header comes first, before any media data.
        let head =
            try FileHandle(forReadingFrom: URL(fileURLWithPath: segments[0].path)).read(upToCount: 4096) ?? Data()
        #expect(head.range(of: Data("moov".utf8)) != nil)
        #expect(head.range(of: Data("moof".utf8)) != nil || head.range(of: Data("mvex".utf8)) != nil)
    }

    @Test(
        "live fMP4: one init segment, media segments cut on demand, each decodable after the init alone, all of them together the whole run"
    )
    func fragmentedStream() async throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = try MediaSource(address: Self.vtest)
        let stream = try FragmentedMP4Stream(
            width: source.width, height: source.height, frameRate: source.frameRate,
            settings: EncoderSettings(preset: "ultrafast"))
        #expect(
            stream.initSegment.range(of: Data("ftyp".utf8)) != nil
                && stream.initSegment.range(of: Data("moov".utf8)) != nil)
        #expect(stream.initSegment.range(of: Data("moof".utf8)) == nil, "no samples in the init segment")
        var segments: [(bytes: Data, frames: Int)] = []
        var frames = 0, inSegment = 0
        for try await frame in source.frames.prefix(60) {
            if frames > 0, frames % 20 == 0, let bytes = try stream.cut() {  // every 2 s at 10 fps
                segments.append((bytes, inSegment))
                inSegment = 0
            }
            try stream.write(frame)
            frames += 1
            inSegment += 1
        }
        if let bytes = try stream.cut() { segments.append((bytes, inSegment)) }
        #expect(try stream.cut() == nil, "nothing written since the last cut")
        #expect(
            segments.map(\.frames) == [20, 20, 20], "zero latency: a cut holds exactly the frames written before it")
        func decodedFrames(_ data: Data) async throws -> Int {
            let path = folder + "/\(UUID().uuidString).mp4"
            try data.write(to: URL(fileURLWithPath: path))
            var count = 0
            for try await _ in try MediaSource(address: path).frames { count += 1 }
            return count
        }
        for (index, segment) in segments.enumerated() {
            #expect(
                segment.bytes.prefix(64).range(of: Data("moof".utf8)) != nil, "segment \(index) starts with a fragment")
            // A player joining here has only the init segment and this one: it must start with a keyframe.
            #expect(try await decodedFrames(stream.initSegment + segment.bytes) == segment.frames, "segment \(index)")
        }
        #expect(try await decodedFrames(segments.reduce(stream.initSegment) { $0 + $1.bytes }) == frames)
    }

    /// Hands out a byte string in small pieces, then ends or fails — what a stream fetched over the network looks like.
    final class ChunkedReader: ByteStreamReader, @unchecked Sendable {
        let bytes: [UInt8]
        let chunk: Int
        let failAt: Int?
        var offset = 0
        struct Dropped: Error, CustomStringConvertible { var description: String { "connection dropped" } }

        init(_ data: Data, chunk: Int, failAt: Int? = nil) {
            bytes = [UInt8](data)
            self.chunk = chunk
            self.failAt = failAt
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            if let failAt, offset >= failAt { throw Dropped() }
            let count = min(buffer.count, chunk, bytes.count - offset, (failAt ?? .max) - offset)
            guard count > 0 else { return 0 }
            bytes.withUnsafeBytes {
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + count)]))
            }
            offset += count
            return count
        }
    }

    @Test(
        "a fragmented MP4 read through a ByteStreamReader in small pieces decodes every frame; a reader that fails ends the stream by name"
    )
    func readerSource() async throws {
        let source = try MediaSource(address: Self.vtest)
        let stream = try FragmentedMP4Stream(
            width: source.width, height: source.height, frameRate: source.frameRate,
            settings: EncoderSettings(preset: "ultrafast"))
        var bytes = stream.initSegment
        var written = 0
        for try await frame in source.frames.prefix(40) {
            if written > 0, written % 10 == 0, let segment = try stream.cut() { bytes += segment }
            try stream.write(frame)
            written += 1
        }
        bytes += try #require(try stream.cut())

        let read = try MediaSource(reading: ChunkedReader(bytes, chunk: 1500), name: "test stream")
        #expect(read.width == source.width && read.height == source.height && read.codecName == "h264")
        var times: [Double] = []
        while let frame = try read.nextFrame() { times.append(frame.time) }
        #expect(times.count == written)
        #expect(times == times.sorted() && Set(times).count == times.count, "timestamps increase")

        // The connection drops in the middle: the frames before it, then an error that names the stream and the cause.
        let dropping = try MediaSource(
            reading: ChunkedReader(bytes, chunk: 4096, failAt: bytes.count / 2), name: "test stream")
        var decoded = 0
        let failure = #expect(throws: MediaError.self) { while try dropping.nextFrame() != nil { decoded += 1 } }
        #expect(decoded > 0 && decoded < written)
        #expect(failure?.code == .endOfStream)
        #expect(
            failure?.message.contains("test stream stopped: connection dropped") == true, "\(failure?.message ?? "")")

        // Not a video at all: refused while opening, with the name.
        let garbage = Data((0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 7919) })
        let refused = #expect(throws: MediaError.self) {
            _ = try MediaSource(reading: ChunkedReader(garbage, chunk: 512), name: "noise")
        }
        #expect(refused?.code == .openFailed && refused?.message.contains("noise") == true)
    }

    @Test(
        "audio is dropped unless asked for; kept, it travels with the frames and is stored as it came (AC-3 of Megamind.avi) as one MP4; PCM, which MP4 cannot carry, is refused by name"
    )
    func keptAudio() async throws {
        let clip = Self.vtest.replacingOccurrences(of: "vtest.avi", with: "Megamind.avi")
        let dropped = try MediaSource(address: clip)
        #expect(dropped.audioFormat == nil)
        #expect(try dropped.nextFrame()?.audio.isEmpty == true)

        let source = try MediaSource(address: clip, options: SourceOptions(keepAudio: true))
        let format = try #require(source.audioFormat)
        #expect(format.codecName == "ac3" && format.sampleRate == 48000 && format.channels == 2 && format.fitsMP4)
        var packets: [AudioPacket] = []
        var frames = 0
        while let frame = try source.nextFrame(), frame.time < 6 {
            frames += 1
            packets += frame.audio
        }
        let times = packets.map(\.time)
        // AC-3: 32 ms per packet
        #expect(frames > 100 && times.count > 150, "\(frames) frames, \(times.count) audio packets")
        #expect(times == times.sorted(), "audio times increase")
        let bytes = try AudioMP4.file(of: packets)

        // What was stored is an MP4 with one AC-3 stream about as long as the video read.
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try bytes.write(to: URL(fileURLWithPath: folder + "/sound.mp4"))
        let probe = Process()
        let output = Pipe()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/ffprobe")
        probe.arguments = [
            "-v", "error", "-show_entries", "stream=codec_type,codec_name:format=duration", "-of", "compact",
            folder + "/sound.mp4",
        ]
        probe.standardOutput = output
        try probe.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        probe.waitUntilExit()
        #expect(text.contains("codec_name=ac3|codec_type=audio") && !text.contains("video"), "\(text)")
        let duration =
            text.range(of: #"duration=[0-9.]+"#, options: .regularExpression).flatMap { Double(text[$0].dropFirst(9)) }
            ?? 0
        #expect(abs(duration - ((times.last ?? 0) - (times.first ?? 0))) < 0.2, "\(text)")

        // A codec MP4 cannot carry as it is is refused by name, not written.
        let pcm = try #require(try Self.pcmFormat(in: folder))
        #expect(!pcm.fitsMP4)
        let refused = #expect(throws: MediaError.self) {
            _ = try AudioMP4.file(of: [packets[0]].map { _ in try Self.pcmPacket(in: folder) })
        }
        #expect(refused?.code == .unsupportedCodec && refused?.message.contains("pcm_s16le") == true)
    }

    /// One packet of 16-bit PCM (which MP4 does not carry).
    static func pcmPacket(in folder: String) throws -> AudioPacket {
        _ = try pcmFormat(in: folder)
        let source = try MediaSource(address: folder + "/pcm.mkv", options: SourceOptions(keepAudio: true))
        while let frame = try source.nextFrame() { if let packet = frame.audio.first { return packet } }
        throw MediaError(.decodeFailed, "no PCM packet")
    }

    /// The audio format of a file with 16-bit PCM sound.
    static func pcmFormat(in folder: String) throws -> AudioFormat? {
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        ffmpeg.arguments = [
            "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", "-f", "lavfi", "-i", "color=size=64x64:duration=1",
            "-c:a", "pcm_s16le", "-c:v", "mpeg4", "-y", folder + "/pcm.mkv",
        ]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        return try MediaSource(address: folder + "/pcm.mkv", options: SourceOptions(keepAudio: true)).audioFormat
    }

    @Test("a truncated file decodes what it can and reports the damage; garbage is a clear error")
    func badInput() async throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let whole = try Data(contentsOf: URL(fileURLWithPath: Self.vtest))
        let truncated = folder + "/truncated.avi"
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: truncated))
        let source = try MediaSource(address: truncated)
        var count = 0
        for try await _ in source.frames { count += 1 }
        #expect(count > 300 && count < 795)

        // Corrupt bytes in the middle: decoding goes on past them.
        var corrupt = whole
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            corrupt[Int.random(in: 20_000..<corrupt.count, using: &generator)] = UInt8.random(
                in: 0...255, using: &generator)
        }
        let corruptPath = folder + "/corrupt.avi"
        try corrupt.write(to: URL(fileURLWithPath: corruptPath))
        let damaged = try MediaSource(address: corruptPath)
        var decoded = 0
        for try await _ in damaged.frames { decoded += 1 }
        #expect(decoded > 700)

        let garbage = folder + "/garbage.mp4"
        try Data((0..<10_000).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(
            to: URL(fileURLWithPath: garbage))
        let error = try #require(throws: MediaError.self) { try MediaSource(address: garbage) }
        #expect(error.code == .openFailed || error.code == .noVideoStream)
        #expect(throws: MediaError(.openFailed, "")) { try MediaSource(address: folder + "/missing.mp4") }
    }

    /// kite.jpg is 1,352 px wide: 4,056 bytes of RGB a row, not a multiple of swscale's vector width. Converting into
    /// rows of exactly that length let swscale store past the end of the buffer and corrupted the heap (`veilgate
    /// redact kite.jpg -o out.png` aborted with "double free or corruption").
    @Test("a picture whose RGB rows are not a multiple of 16 bytes converts and writes as PNG, pixels intact")
    func pngOfOddRowLength() async throws {
        try await HeavyTest.run {
            let source = try MediaSource(address: Self.data.appendingPathComponent("people/kite.jpg").path)
            let frame = try #require(try source.nextFrame())
            #expect(frame.width * 3 % 16 != 0)
            let rgb = try frame.rgb()
            #expect(rgb.count == frame.width * frame.height * 3)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("veil-png-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            for round in 0..<3 {
                let path = folder.appendingPathComponent("kite-\(round).png").path
                try ImageWriter.write(frame, to: path)
                let again = try #require(try MediaSource(address: path).nextFrame())
                #expect(again.width == frame.width && again.height == frame.height)
                // The last row came through (up to the rounding of two colour conversions): all of it was written.
                let last = try again.rgb().suffix(frame.width * 3), expected = rgb.suffix(frame.width * 3)
                let difference = zip(last, expected).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) } / expected.count
                #expect(difference <= 3)
            }
        }
    }

    /// Snapshots and stills are JPEGs made by libjpeg-turbo from the frame's 4:2:0 planes. Real photos and pictures
    /// whose sides are not multiples of the 16-pixel blocks — smaller than a block, thin strips — come back from
    /// FFmpeg's decoder the same size and close to what went in, the last rows too: libjpeg reads whole blocks, and
    /// rows are padded with their last pixel, not with whatever lay past the picture in the frame's buffer (2 × 18 came
    /// back 5–6 levels off on average, varying from run to run, before). Video's limited range is stretched to the full
    /// range JPEG readers assume: a camera's black is black, not dark grey.
    @Test("a frame written as JPEG decodes to the same size and picture, odd sizes included, video's range stretched")
    func jpegRoundTrip() async throws {
        try await HeavyTest.run {
            /// The planes' pixels, rows packed.
            func planes(_ frame: VideoFrame) -> [[UInt8]] {
                frame.withWritablePlanes { planes in
                    var (luma, blue, red) = ([UInt8](), [UInt8](), [UInt8]())
                    for row in 0..<frame.height {
                        for column in 0..<frame.width { luma.append(planes.y[row * planes.yStride + column]) }
                    }
                    for row in 0..<frame.height / 2 {
                        for column in 0..<frame.width / 2 {
                            blue.append(planes.u[row * planes.uStride + column])
                            red.append(planes.v[row * planes.vStride + column])
                        }
                    }
                    return [luma, blue, red]
                }
            }
            /// Limited-range levels as a JPEG reader expects them (as libjpeg is given them).
            func fullRange(luma level: UInt8) -> UInt8 {
                UInt8(max(0, min(255, ((Int(level) - 16) * 255 + 109) / 219)))
            }
            func fullRange(chroma level: UInt8) -> UInt8 {
                let offset = Int(level) - 128
                return UInt8(max(0, min(255, 128 + (offset * 255 + (offset >= 0 ? 112 : -112)) / 224)))
            }
            func synthetic(_ width: Int, _ height: Int, luma: (Int, Int) -> UInt8) throws -> VideoFrame {
                let frame = try VideoFrame(width: width, height: height)
                frame.withWritablePlanes { planes in
                    for row in 0..<height {
                        for column in 0..<width { planes.y[row * planes.yStride + column] = luma(row, column) }
                    }
                    for row in 0..<height / 2 {
                        for column in 0..<width / 2 {
                            planes.u[row * planes.uStride + column] = UInt8(90 + column % 60)
                            planes.v[row * planes.vStride + column] = UInt8(160 - row % 60)
                        }
                    }
                }
                return frame
            }
            func photo(_ name: String) throws -> VideoFrame {
                try #require(try MediaSource(address: Self.data.appendingPathComponent(name).path).nextFrame())
            }
            // (name, frame, whether it is limited range). messi5.jpg is 4:2:0 and decodes as it is, full range;
            // kite.jpg is 4:4:4 and is converted to 4:2:0, and to video's range with it.
            var pictures: [(String, VideoFrame, Bool)] = [
                ("messi5", try photo("faces/messi5.jpg"), false), ("kite", try photo("people/kite.jpg"), true),
            ]
            // A luma ramp with colour, so a row or column written from the wrong place shows.
            for (width, height) in [(2, 2), (16, 16), (18, 2), (2, 18), (34, 18), (66, 34)] {
                let ramp = try synthetic(width, height) { row, column in UInt8(40 + (row * 7 + column * 3) % 180) }
                pictures.append(("\(width)x\(height)", ramp, true))
            }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("veil-jpeg-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            func decoded(_ frame: VideoFrame, _ name: String) throws -> VideoFrame {
                let jpeg = try ImageWriter.jpeg(frame)
                #expect(jpeg.prefix(2) == Data([0xFF, 0xD8]) && jpeg.suffix(2) == Data([0xFF, 0xD9]), "\(name)")
                let path = folder.appendingPathComponent("\(name).jpg").path
                try ImageWriter.write(frame, to: path)
                let again = try #require(try MediaSource(address: path).nextFrame())
                #expect(again.width == frame.width && again.height == frame.height, "\(name)")
                return again
            }
            for (name, frame, limited) in pictures {
                let again = try decoded(frame, name)
                for (plane, (before, after)) in zip(planes(frame), planes(again)).enumerated() {
                    let expected =
                        limited ? before.map { plane == 0 ? fullRange(luma: $0) : fullRange(chroma: $0) } : before
                    let difference = zip(expected, after).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) } / expected.count
                    #expect(difference <= 4, "\(name) plane \(plane): mean difference \(difference)")
                    let width = plane == 0 ? frame.width : frame.width / 2
                    let last = zip(expected.suffix(width), after.suffix(width)).reduce(0) {
                        $0 + abs(Int($1.0) - Int($1.1))
                    }
                    #expect(last / width <= 8, "\(name) plane \(plane): last row")
                }
            }
            // A camera's black and white.
            for (level, expected) in [(UInt8(16), 0), (UInt8(235), 255)] {
                let again = try decoded(try synthetic(64, 32) { _, _ in level }, "level-\(level)")
                let luma = planes(again)[0]
                let mean = luma.reduce(0) { $0 + Int($1) } / luma.count
                #expect(abs(mean - expected) <= 2, "video level \(level) came back as \(mean)")
            }
        }
    }

    @Test("addresses are printed without credentials")
    func redaction() async throws {
        try await HeavyTest.run {
            #expect(
                redactedAddress("rtsp://admin:secret@10.0.0.1:554/stream1?token=abc") == "rtsp://10.0.0.1:554/stream1")
            // Nothing listens on port 1: the open fails, and its message must not repeat the credentials.
            let error = #expect(throws: MediaError.self) {
                try MediaSource(
                    address: "rtsp://admin:secret@127.0.0.1:1/none", options: SourceOptions(ioTimeout: .seconds(1)))
            }
            #expect(error?.code == .openFailed)
            #expect(error.map { !"\($0)".contains("secret") && !"\($0)".contains("admin") } == true)
        }
    }
}
