internal import CSodium
import Foundation

/// The encrypted segment file format:
///
/// ```
/// "VEILSEG1"                      8 bytes, magic and version
/// secretstream header             24 bytes
/// chunks                          [UInt32 big-endian length][ciphertext] … the last tagged FINAL
/// ```
///
/// Each segment has its own data key (wrapped by its bucket's key, see ``Keystore``). The first chunk's
/// associated data is the segment's binding (id, camera, category, time range), so a file moved to another
/// index row, or a row whose fields were edited, fails authentication. A file without its FINAL chunk is
/// reported as truncated. Decryption verifies the whole segment before returning any plaintext.
enum SegmentCipher {
    static let magic = Array("VEILSEG1".utf8)
    /// Plaintext per chunk: large enough that per-chunk overhead vanishes, small enough to stream.
    static let chunkSize = 256 * 1024

    static var headerSize: Int { Int(veil_secretstream_headerbytes()) }
    static var overhead: Int { Int(veil_secretstream_abytes()) }

    /// Encrypts `plaintext` into the file format.
    static func encrypt(_ plaintext: some ContiguousBytes, key: SecretKey, binding: [UInt8]) throws -> Data {
        var state = crypto_secretstream_xchacha20poly1305_state()
        var header = [UInt8](repeating: 0, count: headerSize)
        let status = key.withBytes { crypto_secretstream_xchacha20poly1305_init_push(&state, &header, $0) }
        guard status == 0 else { throw VaultError(.io, "secretstream init failed") }
        defer { withUnsafeMutableBytes(of: &state) { sodium_memzero($0.baseAddress!, $0.count) } }

        var output = Data()
        var cipher = [UInt8](repeating: 0, count: chunkSize + overhead)
        try plaintext.withUnsafeBytes { (source: UnsafeRawBufferPointer) in
            let chunkCount = max(1, (source.count + chunkSize - 1) / chunkSize)
            output.reserveCapacity(magic.count + headerSize + source.count + chunkCount * (overhead + 4))
            output.append(contentsOf: magic)
            output.append(contentsOf: header)
            for chunk in 0..<chunkCount {
                let start = chunk * chunkSize
                let length = min(chunkSize, source.count - start)
                let tag = chunk == chunkCount - 1 ? veil_secretstream_tag_final() : veil_secretstream_tag_message()
                let associated = chunk == 0 ? binding : []
                var cipherLength: UInt64 = 0
                let status = crypto_secretstream_xchacha20poly1305_push(
                    &state, &cipher, &cipherLength,
                    source.baseAddress.map { $0.advanced(by: start).assumingMemoryBound(to: UInt8.self) },
                    UInt64(length),
                    associated, UInt64(associated.count), tag)
                guard status == 0 else { throw VaultError(.io, "secretstream push failed") }
                var bigEndian = UInt32(cipherLength).bigEndian
                withUnsafeBytes(of: &bigEndian) { output.append(contentsOf: $0) }
                output.append(contentsOf: cipher.prefix(Int(cipherLength)))
            }
        }
        return output
    }

    /// SHA-256 over the header and each chunk's length and authentication tag: a fingerprint of the file that
    /// costs a few microseconds instead of hashing megabytes. Throws if the chunk structure is broken.
    static func fingerprint(of file: Data, segment: String) throws -> [UInt8] {
        guard file.count >= magic.count + headerSize else {
            throw VaultError(.truncated, "segment \(segment) is truncated")
        }
        var summary = [UInt8](file.prefix(magic.count + headerSize))
        var offset = file.startIndex + magic.count + headerSize
        while offset < file.endIndex {
            guard file.endIndex - offset >= 4 else { throw VaultError(.truncated, "segment \(segment) is truncated") }
            let length = file[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            guard length >= overhead, length <= chunkSize + overhead else {
                throw VaultError(.authenticationFailed, "segment \(segment): a chunk has an impossible length")
            }
            guard file.endIndex - offset - 4 >= length else {
                throw VaultError(.truncated, "segment \(segment) is truncated")
            }
            summary.append(contentsOf: file[offset..<offset + 4])
            summary.append(contentsOf: file[offset + 4 + length - 16..<offset + 4 + length])
            offset += 4 + length
        }
        return Sodium.sha256(summary)
    }

    /// Decrypts a whole segment file; throws naming `segment` on any failure, returning nothing partial.
    static func decrypt(_ file: Data, key: SecretKey, binding: [UInt8], segment: String) throws -> Data {
        guard file.count >= magic.count + headerSize, file.prefix(magic.count).elementsEqual(magic) else {
            throw VaultError(.authenticationFailed, "segment \(segment): not a Veilgate segment file")
        }
        var state = crypto_secretstream_xchacha20poly1305_state()
        defer { withUnsafeMutableBytes(of: &state) { sodium_memzero($0.baseAddress!, $0.count) } }
        let header = [UInt8](file[file.startIndex + magic.count..<file.startIndex + magic.count + headerSize])
        let status = key.withBytes { crypto_secretstream_xchacha20poly1305_init_pull(&state, header, $0) }
        guard status == 0 else { throw VaultError(.authenticationFailed, "segment \(segment): invalid header") }

        var plaintext = Data(capacity: file.count)
        var offset = file.startIndex + magic.count + headerSize
        var chunk = 0
        var finished = false
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        while offset < file.endIndex {
            guard !finished else {
                throw VaultError(.authenticationFailed, "segment \(segment): data after the final chunk")
            }
            guard file.endIndex - offset >= 4 else { throw VaultError(.truncated, "segment \(segment) is truncated") }
            let length = file[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            offset += 4
            guard length >= overhead, length <= chunkSize + overhead else {
                throw VaultError(.authenticationFailed, "segment \(segment): chunk \(chunk) has an impossible length")
            }
            guard file.endIndex - offset >= length else {
                throw VaultError(.truncated, "segment \(segment) is truncated")
            }
            var plainLength: UInt64 = 0
            var tag: UInt8 = 0
            let associated = chunk == 0 ? binding : []
            let pulled = file[offset..<offset + length].withUnsafeBytes { cipher in
                crypto_secretstream_xchacha20poly1305_pull(
                    &state, &buffer, &plainLength, &tag, cipher.bindMemory(to: UInt8.self).baseAddress, UInt64(length),
                    associated, UInt64(associated.count))
            }
            guard pulled == 0 else {
                Sodium.wipe(&plaintext)
                throw VaultError(
                    .authenticationFailed,
                    "segment \(segment): chunk \(chunk) failed authentication (tampered, moved or wrong key)")
            }
            plaintext.append(contentsOf: buffer.prefix(Int(plainLength)))
            offset += length
            chunk += 1
            finished = tag == veil_secretstream_tag_final()
        }
        Sodium.wipe(&buffer)
        guard finished else {
            Sodium.wipe(&plaintext)
            throw VaultError(.truncated, "segment \(segment) is truncated (no final chunk)")
        }
        return plaintext
    }
}
