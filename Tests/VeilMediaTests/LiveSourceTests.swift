import Foundation
import Synchronization
import Testing
import VeilCore
import VeilMedia

/// A live-looking source: ffmpeg serves a file over HTTP on loopback, as an MPEG-TS stream in real time.
final class StreamServer {
    let port: Int
    let process = Process()

    init(file: String, port: Int) throws {
        self.port = port
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        process.arguments = [
            "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", file, "-an", "-c:v", "libx264",
            "-preset", "ultrafast", "-g", "10", "-f", "mpegts", "-listen", "1",
            "http://127.0.0.1:\(port)/live.ts",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// The camera vanishes: SIGKILL, as a power cut or a pulled cable would (a polite stop could block on a
    /// client that is not reading).
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { if process.isRunning { stop() } }
}

@Suite("Live sources", .serialized, .timeLimit(.minutes(2)))
struct LiveSourceTests {
    @Test("an HTTP stream is read live; when it drops the source reconnects and time keeps increasing")
    func reconnects() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg") else {
            Issue.record("ffmpeg is needed to serve a live test stream (scripts/setup.sh installs it)")
            return
        }
        let port = Int.random(in: 20_000..<40_000)
        var server: StreamServer? = try StreamServer(file: MediaTests.vtest, port: port)
        let states = Mutex<[LiveSource.State]>([])
        let live = LiveSource(
            address: "http://127.0.0.1:\(port)/live.ts",
            options: SourceOptions(ioTimeout: .seconds(3)), initialDelay: .milliseconds(200)
        ) { state in
            states.withLock { $0.append(state) }
        }
        // On a thread of its own, as in the gateway: CPU-bound tests running alongside would otherwise hold every
        // thread of the cooperative pool while the stream plays (CI: this test starved and missed the restart).
        let executor = DedicatedThreadExecutor(name: "live source test")
        defer { executor.shutdown() }
        let times = try await withTaskExecutorPreference(executor) {
            try await Self.follow(live, port: port, server: &server)
        }
        let seen = states.withLock { $0 }
        server?.stop()
        #expect(times.count >= 40)
        #expect(
            zip(times, times.dropFirst()).allSatisfy { $0 < $1 }, "timestamps must keep increasing across the reconnect"
        )
        #expect(seen.filter { $0 == .streaming }.count >= 2)
        #expect(seen.contains { if case .waiting = $0 { true } else { false } })
    }

    /// Reads 40 frames, taking the server away after 20 and bringing it back.
    static func follow(_ live: LiveSource, port: Int, server: inout StreamServer?) async throws -> [Double] {
        var times: [Double] = []
        var restarted = false
        let deadline = Date().addingTimeInterval(90)
        for try await frame in live {
            times.append(frame.time)
            if times.count == 20, !restarted {
                // The camera goes away for a moment, then comes back.
                server?.stop()
                server = nil
                try await Task.sleep(for: .milliseconds(600))
                server = try StreamServer(file: MediaTests.vtest, port: port)
                restarted = true
            }
            if times.count >= 40 || Date() > deadline { break }
        }
        return times
    }
}
