import Foundation
internal import GRDB

/// Where data keys live: a small SQLite file *outside* the vault folder, each key wrapped by its parent
/// (segment keys by their bucket key, bucket keys by the key-encryption key).
///
/// Destroying a key deletes its row with `secure_delete` on and no write-ahead log, so the wrapped bytes are
/// overwritten in the file. Because the keystore is apart from the vault folder, a backup of the vault folder
/// holds only ciphertext: once a key is destroyed, the footage is gone from every copy (crypto-shredding).
/// An HSM or KMS can take this role (docs/vault.md).
final class Keystore: Sendable {
    private let queue: DatabaseQueue
    private let kek: SecretKey
    /// A known value encrypted under the KEK, to recognise a wrong KEK before anything else is touched.
    private static let checkID = "kek-check"

    init(path: String, kek: SecretKey) throws {
        var configuration = Configuration()
        configuration.label = "veilgate-keystore"
        configuration.publicStatementArguments = false
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try db.execute(sql: "PRAGMA journal_mode = DELETE")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1") { db in
                try db.create(table: "wrapped_key") { table in
                    table.primaryKey("id", .text)
                    table.column("parent", .text)
                    table.column("wrapped", .blob).notNull()
                }
                try db.create(index: "wrapped_key_parent", on: "wrapped_key", columns: ["parent"])
            }
            try migrator.migrate(queue)
        } catch {
            throw VaultError(.database, "\(path): cannot open the keystore", underlying: error)
        }
        self.kek = kek
        try verifyOrEnrolKEK()
    }

    private func verifyOrEnrolKEK() throws {
        let existing = try read { db in
            try Data.fetchOne(db, sql: "SELECT wrapped FROM wrapped_key WHERE id = ?", arguments: [Self.checkID])
        }
        if let existing {
            do { _ = try KeyWrapping.unwrap([UInt8](existing), under: kek, id: Self.checkID) } catch {
                throw VaultError(.wrongKeyEncryptionKey, "the key-encryption key does not open this keystore")
            }
        } else {
            let check = try SecretKey()
            let wrapped = try KeyWrapping.wrap(check, under: kek, id: Self.checkID)
            try write { db in
                try db.execute(
                    sql: "INSERT INTO wrapped_key (id, parent, wrapped) VALUES (?, NULL, ?)",
                    arguments: [Self.checkID, Data(wrapped)])
            }
        }
    }

    /// Wraps every key the KEK wraps (bucket keys and the check value) under `newKEK` instead, in one transaction:
    /// afterwards the old KEK opens nothing in this file. Keys below them are untouched (their parents do not change).
    /// - Returns: how many keys were rewrapped.
    func rewrapTopLevelKeys(under newKEK: SecretKey) throws -> Int {
        try write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, wrapped FROM wrapped_key WHERE parent IS NULL")
            for row in rows {
                let id: String = row["id"]
                let wrapped: Data = row["wrapped"]
                let key = try KeyWrapping.unwrap([UInt8](wrapped), under: kek, id: id)
                let rewrapped = try KeyWrapping.wrap(key, under: newKEK, id: id)
                try db.execute(
                    sql: "UPDATE wrapped_key SET wrapped = ? WHERE id = ?", arguments: [Data(rewrapped), id])
            }
            return rows.count
        }
    }

    /// Creates and stores a new key under `parent` (nil: under the KEK).
    func createKey(id: String, parent: (id: String, key: SecretKey)?) throws -> SecretKey {
        let key = try SecretKey()
        let wrapped = try KeyWrapping.wrap(key, under: parent?.key ?? kek, id: id)
        try write { db in
            try db.execute(
                sql: "INSERT INTO wrapped_key (id, parent, wrapped) VALUES (?, ?, ?)",
                arguments: [id, parent?.id, Data(wrapped)])
        }
        return key
    }

    /// Creates several keys under one parent in a single transaction (segment keys are made ahead in batches).
    func createKeys(ids: [String], parent: (id: String, key: SecretKey)) throws -> [SecretKey] {
        let keys = try ids.map { _ in try SecretKey() }
        let wrapped = try zip(ids, keys).map { id, key in try KeyWrapping.wrap(key, under: parent.key, id: id) }
        try write { db in
            for (id, bytes) in zip(ids, wrapped) {
                try db.execute(
                    sql: "INSERT INTO wrapped_key (id, parent, wrapped) VALUES (?, ?, ?)",
                    arguments: [id, parent.id, Data(bytes)])
            }
        }
        return keys
    }

    /// Loads a key, unwrapping it with its parent. Throws ``VaultError/Code/keyDestroyed`` when it is gone.
    func key(id: String, parent: SecretKey?) throws -> SecretKey {
        guard
            let wrapped = try read({ db in
                try Data.fetchOne(db, sql: "SELECT wrapped FROM wrapped_key WHERE id = ?", arguments: [id])
            })
        else {
            throw VaultError(.keyDestroyed, "key \(id) has been destroyed: the data it protected is unrecoverable")
        }
        return try KeyWrapping.unwrap([UInt8](wrapped), under: parent ?? kek, id: id)
    }

    /// The ids of every bucket key (keys wrapped directly by the KEK, other than the check value).
    func bucketKeyIDs() throws -> [String] {
        try read { db in
            try String.fetchAll(
                db, sql: "SELECT id FROM wrapped_key WHERE parent IS NULL AND id LIKE 'bucket:%' ORDER BY id")
        }
    }

    func contains(id: String) throws -> Bool {
        try read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM wrapped_key WHERE id = ?", arguments: [id]) ?? false
        }
    }

    /// Destroys keys and every key wrapped under them.
    func destroy(ids: [String]) throws {
        guard !ids.isEmpty else { return }
        let list = Canonical.jsonList(ids)
        try write { db in
            try db.execute(
                sql: "DELETE FROM wrapped_key WHERE parent IN (SELECT value FROM json_each(?))", arguments: [list])
            try db.execute(
                sql: "DELETE FROM wrapped_key WHERE id IN (SELECT value FROM json_each(?))", arguments: [list])
        }
    }

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try queue.read(body) } catch let error as VaultError { throw error } catch {
            throw VaultError(.database, "keystore read failed", underlying: error)
        }
    }

    func queueWrite<T>(_ body: (Database) throws -> T) throws -> T { try write(body) }

    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try queue.write(body) } catch let error as VaultError { throw error } catch {
            throw VaultError(.database, "keystore write failed", underlying: error)
        }
    }
}

// Support for `VeilBench` (``Vault/populateSyntheticIndex(segments:cameras:endingAt:segmentSeconds:)``).
extension Keystore {
    func insertSynthetic(ids: [String], wrapped: Data) throws {
        try queueWrite { db in
            for id in ids {
                try db.execute(
                    sql: "INSERT INTO wrapped_key (id, parent, wrapped) VALUES (?, NULL, ?)", arguments: [id, wrapped])
            }
        }
    }
}
