public import Foundation
public import VeilCore

/// The encrypted retention vault: segments in, segments out, only under the policy's retention.
///
/// Each segment is encrypted with its own data key; segment keys are wrapped by a key per camera, category
/// and UTC day (the *bucket*), and bucket keys by the key-encryption key. Expiry and erasure destroy keys
/// (crypto-shredding) before they delete files.
///
/// Writes are crash-safe: a segment is written whole to a temporary file and synced, then recorded in the
/// index, then moved into place; on open, recorded segments still in `tmp/` are moved, unrecorded ones deleted.
/// The index never names a segment that is not completely on disk.
public actor Vault {
    public let configuration: VaultConfiguration
    /// The audit log shares the index database, so actions and their entries commit together.
    public nonisolated let audit: AuditLog
    let index: any VaultIndexStore
    let keystore: Keystore
    private(set) var schedule: (any RetentionSchedule)?
    let signingKey: GatewaySigningKey?
    nonisolated let authenticator: IndexAuthenticator
    /// Held for the vault's lifetime in read-write mode: one writer per vault, and recovery only by it.
    private let lock: VaultLock?
    private var bucketKeys: [String: SecretKey] = [:]
    private var segmentKeyPool: [String: [(String, SecretKey)]] = [:]

    /// How a process uses the vault.
    public enum Mode: Sendable {
        /// Stores, sweeps, erases, audits: takes the vault's lock (one such process at a time) and recovers
        /// interrupted writes.
        case readWrite
        /// Lists, reads and verifies without the lock and without touching files; safe beside a running writer.
        case readOnly
    }

    /// What opening the vault had to repair after a crash.
    public private(set) var recovery = RecoveryReport()

    public struct RecoveryReport: Sendable, Equatable {
        /// Segments recorded but not yet moved into place when the process stopped: moved now.
        public var completed = 0
        /// Interrupted writes: temporary files no index row refers to, removed.
        public var strayFiles = 0
    }

    /// Creates the folders, a key-encryption key file (when the KEK comes from a file) and the gateway's
    /// signing key, leaving whatever exists untouched.
    /// - Returns: the paths created.
    @discardableResult
    public static func initialise(_ configuration: VaultConfiguration) throws -> [String] {
        var created: [String] = []
        for directory in [
            configuration.vaultDirectory, configuration.keystoreDirectory, configuration.segmentsDirectory,
            configuration.temporaryDirectory,
        ] {
            if !FileManager.default.fileExists(atPath: directory) {
                do {
                    try FileManager.default.createDirectory(
                        atPath: directory, withIntermediateDirectories: true,
                        attributes: [.posixPermissions: 0o700])
                } catch { throw VaultError(.io, "\(directory): cannot create", underlying: error) }
                created.append(directory)
            }
            // Folders made by hand beforehand get the same protection.
            chmod(directory, 0o700)
        }
        if case .file(let path) = configuration.keyEncryptionKey, !FileManager.default.fileExists(atPath: path) {
            try KeyEncryptionKeySource.createFile(at: path)
            created.append(path)
        }
        if !FileManager.default.fileExists(atPath: configuration.signingKeyPath) {
            try GatewaySigningKey.generate().write(to: configuration.signingKeyPath)
            created += [configuration.signingKeyPath, configuration.signingPublicKeyPath]
        }
        return created
    }

    /// Opens an initialised vault and recovers from any interrupted write.
    /// - Parameters:
    ///   - schedule: the policy's retention schedule; without one, nothing may be stored or swept.
    public init(configuration: VaultConfiguration, schedule: (any RetentionSchedule)?, mode: Mode = .readWrite) throws {
        self.configuration = configuration
        guard FileManager.default.fileExists(atPath: configuration.segmentsDirectory) else {
            throw VaultError(
                .notFound, "\(configuration.vaultDirectory) is not an initialised vault; run `veilgate vault init`")
        }
        lock = mode == .readWrite ? try VaultLock(path: configuration.vaultDirectory + "/.lock") : nil
        if case .file(let path) = configuration.keyEncryptionKey,
            FileManager.default.fileExists(atPath: path + Self.nextKeySuffix)
        {
            throw VaultError(
                .keyRotationInterrupted,
                "a key-encryption key rotation was interrupted (\(path + Self.nextKeySuffix) exists): run `veilgate vault rotate-kek` to finish it"
            )
        }
        let kek = try configuration.keyEncryptionKey.load()
        authenticator = try IndexAuthenticator(deriving: kek)
        keystore = try Keystore(path: configuration.keystorePath, kek: kek)
        let index = try SQLiteVaultIndex(path: configuration.indexPath)
        self.index = index
        for file in [
            configuration.indexPath, configuration.indexPath + "-wal", configuration.indexPath + "-shm",
            configuration.keystorePath,
        ] {
            chmod(file, 0o600)
        }
        signingKey =
            FileManager.default.fileExists(atPath: configuration.signingKeyPath)
            ? try GatewaySigningKey.load(from: configuration.signingKeyPath) : nil
        audit = AuditLog(
            index: index, signingKey: mode == .readWrite ? signingKey : nil,
            anchorPath: configuration.auditAnchorPath)
        self.schedule = schedule
        if mode == .readWrite {
            recovery = try Self.recover(index: index, configuration: configuration, authenticator: authenticator)
        }
    }

    private static func recover(
        index: any VaultIndexStore, configuration: VaultConfiguration,
        authenticator: IndexAuthenticator
    ) throws -> RecoveryReport {
        var report = RecoveryReport()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: configuration.temporaryDirectory)) ?? []
        for name in names {
            let path = configuration.temporaryDirectory + "/" + name
            let id = name.hasSuffix(".part") ? String(name.dropLast(5)) : name
            if let row = try index.read({ try $0.segment(id: id) }),
                authenticator.isValid(row.mac, row.authenticatedFields)
            {
                // Written and recorded, not yet moved: finish the move.
                try moveIntoPlace(path, configuration.vaultDirectory + "/" + row.relativePath)
                report.completed += 1
            } else {
                // Never recorded: the write was interrupted. Nothing refers to it.
                unlink(path)
                report.strayFiles += 1
            }
        }
        return report
    }

    // MARK: Writing

    /// Stores a segment encrypted. Refuses categories the policy does not let this camera store.
    @discardableResult
    public func store(_ plaintext: [UInt8], as descriptor: SegmentDescriptor) throws -> StoredSegment {
        guard let schedule, schedule.permitsStorage(camera: descriptor.camera, category: descriptor.category) else {
            throw VaultError(
                .storageNotAllowed,
                "the policy does not allow storing \(descriptor.category.rawValue) for camera \(descriptor.camera)")
        }
        guard descriptor.end > descriptor.start else {
            throw VaultError(.invalidArgument, "a segment must end after it starts")
        }
        guard CameraID.isWellFormed(descriptor.camera.rawValue) else {
            throw VaultError(.invalidArgument, "camera id '\(descriptor.camera.rawValue.prefix(64))' is not a valid id")
        }
        guard lock != nil else { throw VaultError(.invalidArgument, "the vault is open read-only") }
        guard descriptor.container.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }),
            !descriptor.container.isEmpty,
            descriptor.container.count <= 8
        else {
            throw VaultError(
                .invalidArgument, "container '\(descriptor.container.prefix(16))' must be letters and digits")
        }
        let bucket = Self.bucket(for: descriptor)
        let (bucketID, bucketKey) = try activeBucket(bucket)
        let (id, segmentKey) = try reservedSegmentKey(bucket: bucketID, bucketKey: bucketKey)
        var row = SegmentRow(
            id: id, camera: descriptor.camera.rawValue, category: descriptor.category.rawValue,
            start: descriptor.start.timeIntervalSince1970, end: descriptor.end.timeIntervalSince1970, bucket: bucketID,
            container: descriptor.container, size: 0, fingerprint: "", state: SegmentRow.complete,
            policyVersion: descriptor.policyVersion, redaction: descriptor.redactionLabel,
            redactionSpec: descriptor.redaction, createdAt: Date().timeIntervalSince1970)
        let file = try SegmentCipher.encrypt(plaintext, key: segmentKey, binding: Self.binding(row))
        row.size = Int64(file.count)
        row.fingerprint = try SegmentCipher.fingerprint(of: file, segment: id).hex
        row.mac = authenticator.mac(row.authenticatedFields)

        // 1. The whole file, synced, under tmp/. 2. Its row, complete, in one transaction. 3. Into place.
        // A crash before 2 leaves a stray temporary file (removed on open); after 2, the open finishes the move.
        let temporary = configuration.temporaryDirectory + "/\(id).part"
        let final = configuration.vaultDirectory + "/" + row.relativePath
        try Self.writeDurably(file, to: temporary)
        // The new name in tmp/ must survive a power cut before the index may point at it.
        Self.syncDirectory(configuration.temporaryDirectory)
        try write { try $0.insert(row) }
        try Self.moveIntoPlace(temporary, final)
        return StoredSegment(row)
    }

    /// Moves a written segment from `tmp/` into its folder and syncs the folder.
    static func moveIntoPlace(_ temporary: String, _ final: String) throws {
        let folder = (final as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: folder) {
            do {
                try FileManager.default.createDirectory(
                    atPath: folder, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
            } catch { throw VaultError(.io, "\(folder): cannot create", underlying: error) }
        }
        guard rename(temporary, final) == 0 else {
            throw VaultError(.io, "\((final as NSString).lastPathComponent): cannot move into place")
        }
        syncDirectory(folder)
        syncDirectory((temporary as NSString).deletingLastPathComponent)
    }

    /// Segment keys are created ahead, a batch per keystore transaction, and handed out one per segment; a key
    /// never used is destroyed with its bucket. The segment takes its key's id.
    private func reservedSegmentKey(bucket: String, bucketKey: SecretKey) throws -> (String, SecretKey) {
        if var pool = segmentKeyPool[bucket], let next = pool.popLast() {
            segmentKeyPool[bucket] = pool
            return next
        }
        if segmentKeyPool.count > 64 { segmentKeyPool.removeAll() }
        let ids = (0..<Self.segmentKeyBatch).map { _ in UUID().uuidString.lowercased() }
        let keys = try keystore.createKeys(ids: ids.map(Self.segmentKeyID), parent: (bucket, bucketKey))
        var pool = Array(zip(ids, keys))
        let next = pool.popLast()!
        segmentKeyPool[bucket] = pool
        return next
    }

    static let segmentKeyBatch = 32

    // MARK: Reading

    /// Decrypts a segment after checking its size, digest and authentication; returns nothing partial.
    public func read(_ id: String) throws -> [UInt8] {
        guard let row = try readIndex({ try $0.segment(id: id) }), row.state == SegmentRow.complete
        else {
            throw VaultError(.notFound, "segment \(id) is not in the vault")
        }
        return try decrypt(row)
    }

    func decrypt(_ row: SegmentRow) throws -> [UInt8] {
        guard authenticator.isValid(row.mac, row.authenticatedFields) else {
            throw VaultError(.authenticationFailed, "segment \(row.id): its index row was altered")
        }
        let path = configuration.vaultDirectory + "/" + row.relativePath
        // A segment recorded a moment ago may still be on its way out of tmp/.
        guard
            let file = FileManager.default.contents(atPath: path)
                ?? FileManager.default.contents(atPath: configuration.temporaryDirectory + "/\(row.id).part")
        else {
            throw VaultError(.notFound, "segment \(row.id): its file is missing")
        }
        guard Int64(file.count) == row.size else {
            throw VaultError(.truncated, "segment \(row.id): file is \(file.count) bytes, the index says \(row.size)")
        }
        guard
            Sodium.equal(try SegmentCipher.fingerprint(of: file, segment: row.id), [UInt8](hex: row.fingerprint) ?? [])
        else {
            throw VaultError(.authenticationFailed, "segment \(row.id): file does not match its recorded digest")
        }
        let bucketKey = try bucketKey(id: row.bucket)
        let segmentKey = try keystore.key(id: Self.segmentKeyID(row.id), parent: bucketKey)
        return [UInt8](try SegmentCipher.decrypt(file, key: segmentKey, binding: Self.binding(row), segment: row.id))
    }

    /// The complete segments of a camera overlapping a time range, oldest first.
    public func segments(camera: CameraID, from: Date, to: Date) throws -> [StoredSegment] {
        try readIndex {
            try $0.completeSegments(
                camera: camera.rawValue, overlapping: from.timeIntervalSince1970, to.timeIntervalSince1970)
        }.map(StoredSegment.init)
    }

    /// Puts a reloaded policy's schedule in force: the next store, plan or hold follows it. (Keys already
    /// destroyed stay destroyed: a longer retention cannot bring footage back.)
    public func adopt(_ schedule: any RetentionSchedule) {
        self.schedule = schedule
    }

    /// One complete segment by id, without its contents; nil when there is none.
    public func segment(_ id: String) throws -> StoredSegment? {
        try readIndex { try $0.segment(id: id) }.flatMap { $0.state == SegmentRow.complete ? StoredSegment($0) : nil }
    }

    /// Counts of complete segments per camera and category, for `vault list`.
    public func summary() throws -> [(camera: CameraID, category: DataCategory, count: Int, from: Date, to: Date)] {
        try readIndex { try $0.segmentSummary() }.map {
            (
                CameraID($0.camera), DataCategory(rawValue: $0.category) ?? .redactedVideo, $0.count,
                Date(timeIntervalSince1970: $0.first), Date(timeIntervalSince1970: $0.last)
            )
        }
    }

    // MARK: Keys

    struct Bucket {
        let id: String
        let camera: CameraID
        let category: DataCategory
        let day: String
        let dayStart: Double
    }

    static func bucket(for descriptor: SegmentDescriptor) -> Bucket {
        let dayStart = (descriptor.start.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        let day = formatter.string(from: Date(timeIntervalSince1970: dayStart))
        return Bucket(
            id: "bucket:\(descriptor.camera)/\(descriptor.category.rawValue)/\(day)", camera: descriptor.camera,
            category: descriptor.category, day: day, dayStart: dayStart)
    }

    static func segmentKeyID(_ segment: String) -> String { "segment:\(segment)" }

    /// The active bucket for a camera, category and day, created with its key when there is none. A day whose
    /// bucket was destroyed (erased while still recording) gets a new generation, `…#2`, under a new key.
    private func activeBucket(_ bucket: Bucket) throws -> (id: String, key: SecretKey) {
        let rows = try readIndex {
            try $0.buckets(
                camera: bucket.camera.rawValue, category: bucket.category.rawValue, dayStart: bucket.dayStart)
        }
        if let active = rows.first(where: { $0.state == BucketRow.active }) {
            return (active.id, try bucketKey(id: active.id))
        }
        let id = rows.isEmpty ? bucket.id : "\(bucket.id)#\(rows.count + 1)"
        // A crash between the keystore and the index (two databases) may have left the key without its row.
        let key =
            try keystore.contains(id: id) ? keystore.key(id: id, parent: nil) : keystore.createKey(id: id, parent: nil)
        var row = BucketRow(
            id: id, camera: bucket.camera.rawValue, category: bucket.category.rawValue,
            dayStart: bucket.dayStart, dayEnd: bucket.dayStart + 86_400, state: BucketRow.active,
            createdAt: Date().timeIntervalSince1970, destroyedAt: nil, destroyedBy: nil)
        row.mac = authenticator.mac(row.authenticatedFields)
        try write { try $0.insert(row) }
        cache(key, for: id)
        return (id, key)
    }

    private func bucketKey(id: String) throws -> SecretKey {
        if let cached = bucketKeys[id] { return cached }
        let key = try keystore.key(id: id, parent: nil)
        cache(key, for: id)
        return key
    }

    private func cache(_ key: SecretKey, for id: String) {
        // A handful of buckets are live at a time (one per camera and category today); keep the cache small.
        if bucketKeys.count >= 64 { bucketKeys.removeAll() }
        bucketKeys[id] = key
    }

    func forgetBucketKeys(_ ids: [String]) {
        for id in ids {
            bucketKeys[id] = nil
            segmentKeyPool[id] = nil
        }
    }

    // MARK: Helpers

    /// Binds a segment's ciphertext to its identity and metadata (the first chunk's associated data).
    static func binding(_ row: SegmentRow) -> [UInt8] {
        let text = [
            "veilgate-segment/v1", row.id, row.camera, row.category, Canonical.number(row.start),
            Canonical.number(row.end), row.container,
        ].joined(separator: "\n")
        return Sodium.sha256(Array(text.utf8))
    }

    static func writeDurably(_ data: Data, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw VaultError(.io, "\(path): cannot create") }
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { buffer -> Int in
            var offset = 0
            while offset < buffer.count {
                let count = Glibc.write(descriptor, buffer.baseAddress!.advanced(by: offset), buffer.count - offset)
                if count <= 0 { return offset }
                offset += count
            }
            return offset
        }
        guard written == data.count, fsync(descriptor) == 0 else { throw VaultError(.io, "\(path): cannot write") }
    }

    static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }

    /// One transaction on the index (``VaultIndexStore/write(_:)``).
    func write<T>(_ body: (any VaultIndexWriting) throws -> T) throws -> T { try index.write(body) }

    func readIndex<T>(_ body: (any VaultIndexReading) throws -> T) throws -> T { try index.read(body) }
}
