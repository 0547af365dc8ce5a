import Foundation
import VeilFederation
import VeilMedia

/// A peer site's live camera as bytes for FFmpeg: a task follows the peer's HLS stream over mutual TLS
/// (``LiveStreamFollower``, requiring the peer's re-share permission) and the camera pipeline's thread reads the
/// initialisation segment and then every media segment, in order, as one fragmented MP4.
///
/// One reader per connection: when the peer refuses, stops or withdraws re-sharing, the read throws and the
/// pipeline's ``LiveSource`` connects again with back-off. Dropping the reader (the pipeline closed the source)
/// stops the follower.
final class PeerStreamReader: ByteStreamReader, @unchecked Sendable {
    /// The bytes fetched and not yet read; the follower pauses above `limit` (back-pressure on the peer).
    private final class Buffer: @unchecked Sendable {
        let condition = NSCondition()
        var bytes: [UInt8] = []
        var offset = 0
        var finished = false
        var failure: (any Error)?
        let limit = 16 << 20

        var pending: Int {
            condition.lock()
            defer { condition.unlock() }
            return bytes.count - offset
        }

        func append(_ data: Data) {
            condition.lock()
            if offset > 0 {
                bytes.removeFirst(offset)
                offset = 0
            }
            bytes.append(contentsOf: data)
            condition.broadcast()
            condition.unlock()
        }

        func finish(_ error: (any Error)?) {
            condition.lock()
            finished = true
            failure = error
            condition.broadcast()
            condition.unlock()
        }
    }

    private let buffer = Buffer()
    private let task: Task<Void, Never>
    private let stopping: @Sendable () -> Bool

    /// `stopping` is the pipeline's shutdown flag: a blocked read gives up when it is set.
    init(peer: PeerSite, camera: String, stopping: @escaping @Sendable () -> Bool) throws {
        let client = try peer.remote.client()
        let buffer = self.buffer
        self.stopping = stopping
        // Never on the pipeline's own thread (a task executor preference would be inherited): that thread blocks in read.
        task = Task(executorPreference: globalConcurrentExecutor) {
            let follower = LiveStreamFollower(client: client, camera: camera, patience: .seconds(30), requireReshare: true)
            do {
                try await follower.follow { chunk in
                    switch chunk {
                    case .initialization(let data), .segment(_, _, let data): buffer.append(data)
                    }
                    while buffer.pending > buffer.limit, !Task.isCancelled { try await Task.sleep(for: .milliseconds(100)) }
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
        while buffer.bytes.count == buffer.offset {
            if buffer.finished {
                if let failure = buffer.failure { throw failure }
                return 0
            }
            if stopping() { throw CancellationError() }
            _ = buffer.condition.wait(until: Date().addingTimeInterval(0.2))
        }
        let count = min(target.count, buffer.bytes.count - buffer.offset)
        buffer.bytes.withUnsafeBytes { bytes in
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[buffer.offset..<(buffer.offset + count)]))
        }
        buffer.offset += count
        return count
    }
}
