/// Where a vault keeps its files and keys. Defaults put everything under one state folder, with the keystore
/// beside (not inside) the vault folder so that backups of the vault folder hold no keys.
public struct VaultConfiguration: Sendable {
    /// Encrypted segments and the SQLite index.
    public var vaultDirectory: String
    /// Wrapped data keys. Keep it out of backups of the vault folder (or on an HSM/KMS): see docs/vault.md.
    public var keystoreDirectory: String
    /// The key-encryption key that wraps every bucket key.
    public var keyEncryptionKey: KeyEncryptionKeySource
    /// The gateway's Ed25519 key for audit checkpoints and export manifests.
    public var signingKeyPath: String
    /// Where each signed audit checkpoint is also appended, outside the state folder: someone who deletes the log's
    /// last entries with their checkpoints, or puts back an old copy of the state folder, cannot make the anchor forget
    /// what was signed (``AuditLog/verify(publicKey:anchor:)``). Nil for none.
    public var auditAnchorPath: String?

    public init(
        vaultDirectory: String, keystoreDirectory: String, keyEncryptionKey: KeyEncryptionKeySource,
        signingKeyPath: String, auditAnchorPath: String? = nil
    ) {
        self.vaultDirectory = vaultDirectory
        self.keystoreDirectory = keystoreDirectory
        self.keyEncryptionKey = keyEncryptionKey
        self.signingKeyPath = signingKeyPath
        self.auditAnchorPath = auditAnchorPath
    }

    /// The standard layout under one state folder: `vault/`, `keystore/`, `keys/kek.key`, `keys/gateway-signing.key`.
    /// The environment variable `VEILGATE_KEK`, when set, supplies the KEK instead of the file. The audit anchor is
    /// `$VEILGATE_AUDIT_ANCHOR`, else the file `STATE.audit-anchor` beside the state folder (not in it: a copy of the
    /// folder put back does not bring an old anchor with it; better still on another disk or machine).
    public static func standard(stateDirectory: String, environment: [String: String]) -> VaultConfiguration {
        let state = stateDirectory.hasSuffix("/") ? String(stateDirectory.dropLast()) : stateDirectory
        return VaultConfiguration(
            vaultDirectory: state + "/vault", keystoreDirectory: state + "/keystore",
            keyEncryptionKey: environment["VEILGATE_KEK"] != nil
                ? .environment("VEILGATE_KEK") : .file(state + "/keys/kek.key"),
            signingKeyPath: state + "/keys/gateway-signing.key",
            auditAnchorPath: environment["VEILGATE_AUDIT_ANCHOR"] ?? state + ".audit-anchor")
    }

    var indexPath: String { vaultDirectory + "/index.sqlite" }
    var keystorePath: String { keystoreDirectory + "/keys.sqlite" }
    var segmentsDirectory: String { vaultDirectory + "/segments" }
    var temporaryDirectory: String { vaultDirectory + "/tmp" }
    var signingPublicKeyPath: String {
        signingKeyPath.hasSuffix(".key") ? String(signingKeyPath.dropLast(4)) + ".pub" : signingKeyPath + ".pub"
    }
}
