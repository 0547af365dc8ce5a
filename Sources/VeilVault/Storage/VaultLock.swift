import Foundation

/// An exclusive advisory lock on the vault (`flock`), held while a read-write vault is open: two writers, or a
/// writer and another process's crash recovery, would otherwise step on each other's temporary files.
final class VaultLock: Sendable {
    private let descriptor: Int32

    init(path: String) throws {
        descriptor = open(path, O_RDWR | O_CREAT, 0o600)
        guard descriptor >= 0 else { throw VaultError(.io, "\(path): cannot open the vault lock") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw VaultError(
                .inUse,
                "the vault is in use by another veilgate process; read-only commands (list, audit show/verify) still work"
            )
        }
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
