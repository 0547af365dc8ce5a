import Foundation
import VeilFederation
import VeilMedia

/// A peer site's live camera as bytes for FFmpeg: a task follows the peer's HLS stream over mutual TLS
/// (``LiveStreamFollower``, as a relay: only while the peer allows re-sharing) and the camera pipeline's thread reads
/// the initialisation segment and then the media segments, in order, as one fragmented MP4.
///
/// Live, not a download: when the pipeline falls behind, the oldest segments not yet started are dropped (each
/// starts with a keyframe), so latency stays bounded and the follower keeps polling the playlist — and so notices
/// at once when the peer withdraws re-sharing, whereupon what is buffered is discarded unread. One reader per
/// connection: when the peer refuses, stops or restarts its stream, the read throws and the pipeline's
/// ``LiveSource`` connects again with back-off. Dropping the reader (the pipeline closed the source) stops the
/// follower.
final class PeerStreamReader: ByteStreamReader, @unchecked Sendable {
    /// Segments fetched and not yet read, oldest first; `offset` is how far the first has been read.
    private final class Buffer: @unchecked Sendable {
        let condition = NSCondition()
        var chunks: [[UInt8]] = []
        var offset = 0
        var finished = false
        var failure: (any Error)?
        /// Segments waiting beyond the one being read: about this many segment lengths of latency at most.
        let queued = 3

        func append(_ data: Data) {
            guard !data.isEmpty else { return }  // a read of 0 bytes would mean the end of the stream
            condition.lock()
            chunks.append([UInt8](data))
            // Never the chunk being read (index 0): the demuxer is inside it.
            while chunks.count > queued + 1 {
                chunks.remove(at: 1)
            }
            condition.broadcast()
            condition.unlock()
        }

        func finish(_ error: (any Error)?) {
            condition.lock()
            finished = true
            failure = error
            if error != nil {
                // A refusal (re-share withdrawn) or a broken stream: nothing more of it is passed on.
                chunks = []
                offset = 0
            }
            condition.broadcast()
            condition.unlock()
        }
    }

    private let buffer = Buffer()
    private let task: Task<Void, Never>
    private let stopping: @Sendable () -> Bool

    /// `stopping` is asked while a read waits: true (the pipeline shuts down, or nobody watches any more) ends it.
    init(peer: PeerSite, camera: String, stopping: @escaping @Sendable () -> Bool) throws {
        let client = try peer.remote.client()
        let buffer = self.buffer
        self.stopping = stopping
        // Never on the pipeline's own thread (a task executor preference would be inherited): that thread blocks in
        // read.
        task = Task(executorPreference: globalConcurrentExecutor) {
            let follower = LiveStreamFollower(
                client: client, camera: camera, patience: .seconds(30), requireReshare: true)
            do {
                try await follower.follow { chunk in
                    switch chunk {
                    case .initialization(let data), .segment(_, _, let data): buffer.append(data)
                    }
                    return !Task.isCancelled
                }
                buffer.finish(nil)
            } catch {
                buffer.finish(error)
            }
            await client.shutdown()
        }
    }

    deinit {
        task.cancel()
    }

    func read(into target: UnsafeMutableRawBufferPointer) throws -> Int {
        buffer.condition.lock()
        defer { buffer.condition.unlock() }
        while buffer.chunks.isEmpty {
            if buffer.finished {
                if let failure = buffer.failure { throw failure }
                return 0
            }
            if stopping() { throw CancellationError() }
            _ = buffer.condition.wait(until: Date().addingTimeInterval(0.2))
        }
        let chunk = buffer.chunks[0]
        let count = min(target.count, chunk.count - buffer.offset)
        chunk.withUnsafeBytes { bytes in
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[buffer.offset..<(buffer.offset + count)]))
        }
        buffer.offset += count
        if buffer.offset == chunk.count {
            buffer.chunks.removeFirst()
            buffer.offset = 0
        }
        return count
    }
}
