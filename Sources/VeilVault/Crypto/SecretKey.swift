internal import CSodium
import Foundation

/// 32 bytes of key material in libsodium's guarded memory: locked against swapping, surrounded by guard
/// pages, read-only except while being used, and zeroed when the last reference goes.
///
/// `@unchecked Sendable`: the buffer is immutable after creation and every access goes through
/// `withBytes`, which only reads.
final class SecretKey: @unchecked Sendable {
    static let size = 32
    private let pointer: UnsafeMutableRawPointer

    /// A fresh random key.
    convenience init() throws {
        try self.init { buffer in randombytes_buf(buffer.baseAddress!, buffer.count) }
    }

    /// A key copied from bytes; the caller wipes its own copy.
    convenience init(copying bytes: [UInt8]) throws {
        guard bytes.count == Self.size else { throw VaultError(.keyFileInvalid, "a key must be \(Self.size) bytes") }
        try self.init { buffer in buffer.copyBytes(from: bytes) }
    }

    private init(_ fill: (UnsafeMutableRawBufferPointer) -> Void) throws {
        try Sodium.ensureInitialised()
        guard let pointer = sodium_malloc(Self.size) else { throw VaultError(.io, "cannot allocate guarded memory") }
        self.pointer = pointer
        fill(UnsafeMutableRawBufferPointer(start: pointer, count: Self.size))
        sodium_mprotect_readonly(pointer)
    }

    deinit {
        // sodium_free zeroes the buffer before releasing it.
        sodium_mprotect_readwrite(pointer)
        sodium_free(pointer)
    }

    func withBytes<T>(_ body: (UnsafePointer<UInt8>) throws -> T) rethrows -> T {
        try body(pointer.assumingMemoryBound(to: UInt8.self))
    }

    /// The key's bytes, for writing a newly created key file. The caller must wipe them.
    func exportBytes() -> [UInt8] {
        withBytes { Array(UnsafeBufferPointer(start: $0, count: Self.size)) }
    }
}
