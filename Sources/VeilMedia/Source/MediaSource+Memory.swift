import Foundation

/// Bytes already in memory, read forward once: a segment decrypted from the vault.
final class MemoryByteReader: ByteStreamReader, @unchecked Sendable {
    // @unchecked Sendable: one source owns its reader and reads it from one thread.
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - offset)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { all in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: all[offset..<offset + count]))
        }
        offset += count
        return count
    }
}

extension MediaSource {
    /// Opens video held in memory — a segment decrypted from the vault — so that original footage is never written
    /// to disk in the clear to be decoded. The bytes must be a container libavformat reads forward (fragmented MP4, as
    /// the vault stores).
    public convenience init(bytes: [UInt8], name: String, options: SourceOptions = SourceOptions()) throws {
        try self.init(reading: MemoryByteReader(bytes), name: name, options: options)
    }
}

extension FragmentedMP4Stream {
    /// Everything written so far as one playable fragmented MP4 (initialisation segment and one fragment): how a
    /// transformed vault segment is stored or exported.
    public func finishedFile() throws -> [UInt8] {
        [UInt8](initSegment) + [UInt8](try cut() ?? Data())
    }
}
