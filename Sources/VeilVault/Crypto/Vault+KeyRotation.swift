import Foundation

extension Vault {
    /// Beside the KEK file during a rotation: the new key, written before anything is rewrapped under it.
    static let nextKeySuffix = ".next"

    /// What a key-encryption key rotation did.
    public struct KeyRotationReport: Sendable, Equatable {
        /// Bucket keys (and the keystore's check value) now wrapped under the new KEK.
        public var keysRewrapped = 0
        /// Index rows (segments, buckets, holds) whose MAC now uses the key derived from the new KEK.
        public var rowsReauthenticated = 0
        /// Rows that verified under neither key (edited by hand): left as they were, so they stay refused.
        public var rowsLeftInvalid = 0
        /// A rotation interrupted earlier was finished.
        public var resumed = false
        /// Where the new KEK is: the KEK file, or the variable the operator must now use.
        public var newKeyLocation = ""
    }

    /// Rotates the key-encryption key with the vault closed (its lock is taken): every bucket key is rewrapped and
    /// every index row re-authenticated under the new key; the old key then opens nothing in the keystore.
    ///
    /// Crash-safe by being resumable. With a KEK file, the new key is first written beside it (`kek.key.next`, 0600)
    /// and replaces the old file only at the end; a vault finding `.next` refuses to open until `rotate-kek` is run
    /// again, which finishes the job (each step recognises what is already done). With the KEK in a variable, the new
    /// key comes from `newKeyVariable`; an interrupted rotation is finished by running it again with both set.
    ///
    /// A row that verifies under neither key is not re-authenticated: a rotation must not launder a tampered row.
    public static func rotateKeyEncryptionKey(
        _ configuration: VaultConfiguration, newKeyVariable: String = "VEILGATE_NEW_KEK",
        by actor: String
    ) throws -> KeyRotationReport {
        guard FileManager.default.fileExists(atPath: configuration.segmentsDirectory) else {
            throw VaultError(
                .notFound, "\(configuration.vaultDirectory) is not an initialised vault; run `veilgate vault init`")
        }
        let lock = try VaultLock(path: configuration.vaultDirectory + "/.lock")
        defer { withExtendedLifetime(lock) {} }
        var report = KeyRotationReport()

        let oldKEK: SecretKey, newKEK: SecretKey
        var nextFile: (next: String, current: String)?
        switch configuration.keyEncryptionKey {
        case .file(let path):
            let next = path + nextKeySuffix
            if FileManager.default.fileExists(atPath: next) {
                report.resumed = true
            } else {
                try KeyEncryptionKeySource.createFile(at: next)
            }
            (oldKEK, newKEK) = (
                try KeyEncryptionKeySource.file(path).load(), try KeyEncryptionKeySource.file(next).load()
            )
            nextFile = (next, path)
            report.newKeyLocation = path
        case .environment(let name):
            guard ProcessInfo.processInfo.environment[newKeyVariable] != nil else {
                throw VaultError(
                    .notFound,
                    "the KEK comes from $\(name): put the new key (64 hex digits) in $\(newKeyVariable) as well")
            }
            (oldKEK, newKEK) = (
                try KeyEncryptionKeySource.environment(name).load(),
                try KeyEncryptionKeySource.environment(newKeyVariable).load()
            )
            var (oldBytes, newBytes) = (oldKEK.exportBytes(), newKEK.exportBytes())
            defer {
                Sodium.wipe(&oldBytes)
                Sodium.wipe(&newBytes)
            }
            guard !Sodium.equal(oldBytes, newBytes) else {
                throw VaultError(.invalidArgument, "$\(newKeyVariable) holds the key already in use")
            }
            report.newKeyLocation = "$\(newKeyVariable) (set $\(name) to it from now on)"
        }

        // 1. The keystore: one transaction. Already under the new key (a resumed rotation) is recognised by its check
        //    value.
        if (try? Keystore(path: configuration.keystorePath, kek: newKEK)) == nil {
            let keystore = try Keystore(path: configuration.keystorePath, kek: oldKEK)
            report.keysRewrapped = try keystore.rewrapTopLevelKeys(under: newKEK)
        } else {
            report.resumed = true
        }

        // 2. The index: one transaction; rows already under the new key are left alone.
        let index = try SQLiteVaultIndex(path: configuration.indexPath)
        let (old, new) = (try IndexAuthenticator(deriving: oldKEK), try IndexAuthenticator(deriving: newKEK))
        /// The row under the new key: nil when it already is, or when it was not valid under the old one either (an
        /// edited row is not laundered).
        func reauthenticated<Row>(_ row: Row, fields: (Row) -> [String], mac: WritableKeyPath<Row, String>) -> Row? {
            if new.isValid(row[keyPath: mac], fields(row)) { return nil }
            guard old.isValid(row[keyPath: mac], fields(row)) else {
                report.rowsLeftInvalid += 1
                return nil
            }
            var row = row
            row[keyPath: mac] = new.mac(fields(row))
            report.rowsReauthenticated += 1
            return row
        }
        try index.write { index in
            for row in try index.allSegments() {
                if let row = reauthenticated(row, fields: \.authenticatedFields, mac: \.mac) { try index.update(row) }
            }
            for row in try index.allBuckets() {
                if let row = reauthenticated(row, fields: \.authenticatedFields, mac: \.mac) { try index.update(row) }
            }
            for row in try index.holds(includeReleased: true) {
                if let row = reauthenticated(row, fields: \.authenticatedFields, mac: \.mac) { try index.update(row) }
            }
        }

        // 3. Recorded, then the new key takes the old one's place (an atomic rename).
        let signingKey =
            FileManager.default.fileExists(atPath: configuration.signingKeyPath)
            ? try GatewaySigningKey.load(from: configuration.signingKeyPath) : nil
        let audit = AuditLog(index: index, signingKey: signingKey, anchorPath: configuration.auditAnchorPath)
        try audit.append(
            .keyRotated, actor: actor, subject: "vault",
            details: [
                "keys": String(report.keysRewrapped), "rows": String(report.rowsReauthenticated),
                "invalid-rows": String(report.rowsLeftInvalid), "resumed": String(report.resumed),
            ])
        try audit.checkpoint()
        if let nextFile {
            guard rename(nextFile.next, nextFile.current) == 0 else {
                throw VaultError(
                    .io, "\(nextFile.next): cannot move the new key into place (\(String(cString: strerror(errno))))")
            }
            let folder = open((nextFile.current as NSString).deletingLastPathComponent, O_RDONLY)
            if folder >= 0 {
                fsync(folder)
                close(folder)
            }
        }
        return report
    }
}
