import Foundation
import Logging
import Testing
import VeilCore
import VeilFederation
import VeilPolicy
import VeilTestSupport
import VeilVault

@testable import VeilGateway

/// A signed bundle uploaded through the console: checked in staging, swapped in on disk, loaded as on SIGHUP — and the
/// files before it back in place whenever it is refused.
@Suite("Policy upload")
struct PolicyUploadTests {
    /// A gateway's policy folder signed with a DPO key, its reloader and the key files.
    struct Site {
        let folder: String
        let policies: String
        let inForce: PolicyInForce
        let upload: PolicyUpload

        /// The example policy and its tests at `version`, signed with `key` (the site's DPO key by default), as an
        /// upload would carry them; `edit` changes the policy text before signing.
        func bundle(
            version: String, key: String? = nil, edit: (String) -> String = { $0 }
        ) throws -> [String: Data] {
            let draft = folder + "/draft-\(UUID().uuidString.prefix(6))"
            try FileManager.default.createDirectory(atPath: draft, withIntermediateDirectories: true)
            let repository = TestPaths.repository.appendingPathComponent("policies").path
            let text = try String(contentsOfFile: repository + "/city-centre.yaml", encoding: .utf8)
                .replacingOccurrences(of: "version: \"2026.11.1\"", with: "version: \"\(version)\"")
            try edit(text).write(toFile: draft + "/city-centre.yaml", atomically: true, encoding: .utf8)
            try FileManager.default.copyItem(
                atPath: repository + "/city-centre.test.yaml", toPath: draft + "/city-centre.test.yaml")
            try PolicyBundle.sign(draft, privateKeyPath: key ?? folder + "/dpo.key")
            var files: [String: Data] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: draft) {
                files[name] = FileManager.default.contents(atPath: draft + "/" + name)
            }
            return files
        }

        /// The policy folder's files now, name → bytes.
        func onDisk() throws -> [String: Data] {
            var files: [String: Data] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: policies) {
                files[name] = FileManager.default.contents(atPath: policies + "/" + name)
            }
            return files
        }
    }

    static func site(requiringSignature: Bool = true) throws -> Site {
        let folder = try TestPaths.temporaryFolder("veilgate-policy-upload")
        let policies = folder + "/policies"
        try FileManager.default.createDirectory(atPath: policies, withIntermediateDirectories: true)
        let repository = TestPaths.repository.appendingPathComponent("policies").path
        for name in ["city-centre.yaml", "city-centre.test.yaml"] {
            try FileManager.default.copyItem(atPath: repository + "/" + name, toPath: policies + "/" + name)
        }
        try PolicyBundle.generateKey(privateKeyPath: folder + "/dpo.key", publicKeyPath: folder + "/dpo.pub")
        try PolicyBundle.sign(policies, privateKeyPath: folder + "/dpo.key")
        let certs = SiteAuthority(directory: folder + "/certs")
        try certs.initialise(siteName: "Test", serverNames: ["localhost"], addresses: ["127.0.0.1"])
        let state = folder + "/state"
        let configuration = VaultConfiguration.standard(stateDirectory: state, environment: [:])
        try Vault.initialise(configuration)
        let vault = try Vault(configuration: configuration, schedule: nil)
        let inForce = PolicyInForce(.init(policy: try PolicyFile.load(policies, at: Date()), revokedSerials: []))
        let reloader = PolicyReloader(
            policyPath: policies, publicKeyPath: requiringSignature ? folder + "/dpo.pub" : nil, state: state,
            certs: certs, policy: inForce, audit: vault.audit, logger: Logger(label: "test"))
        return Site(
            folder: folder, policies: policies, inForce: inForce,
            upload: PolicyUpload(policyPath: policies, state: state, reloader: reloader))
    }

    @Test("A bundle signed with the DPO key is put in place and loaded; the disk then holds exactly its files")
    func deploysSignedBundle() throws {
        let site = try Self.site()
        defer { try? FileManager.default.removeItem(atPath: site.folder) }
        let bundle = try site.bundle(version: "2026.11.2")
        let outcome = try site.upload.deploy(bundle, by: "operator:dana")
        #expect(outcome == .loaded(version: "2026.11.2", signer: site.inForce.current.signer))
        #expect(site.inForce.policy.version == "2026.11.2")
        #expect(site.inForce.current.signer != nil)
        #expect(try site.onDisk() == bundle, "the policy folder holds the uploaded bundle and nothing else")
    }

    @Test(
        "Refused before the disk changes: unsigned, changed after signing, another key, older, odd names, no key at all"
    )
    func refusesBadBundles() throws {
        let site = try Self.site()
        defer { try? FileManager.default.removeItem(atPath: site.folder) }
        let before = try site.onDisk()
        func refusal(_ files: [String: Data]) -> String? {
            do {
                _ = try site.upload.deploy(files, by: "operator:dana")
                return nil
            } catch { return error.message }
        }

        var unsigned = try site.bundle(version: "2026.11.2")
        unsigned["bundle.sig"] = nil
        #expect(refusal(unsigned)?.contains("has no bundle.sig") == true)

        var changed = try site.bundle(version: "2026.11.2")
        changed["city-centre.yaml"] = Data(
            String(decoding: changed["city-centre.yaml"]!, as: UTF8.self)
                .replacingOccurrences(of: "72h", with: "720h").utf8)
        let changedReason = refusal(changed)
        #expect(changedReason?.contains("city-centre.yaml: file was changed after the bundle was signed") == true)
        #expect(changedReason?.contains("policy-upload") == false, "the staging folder is not named")

        var added = try site.bundle(version: "2026.11.2")
        added["extra.yaml"] = Data("veilgate: policy/v1\n".utf8)
        #expect(refusal(added)?.contains("extra.yaml: file was added after the bundle was signed") == true)

        try PolicyBundle.generateKey(
            privateKeyPath: site.folder + "/stranger.key", publicKeyPath: site.folder + "/stranger.pub")
        let foreign = try site.bundle(version: "2026.11.2", key: site.folder + "/stranger.key")
        #expect(refusal(foreign)?.contains("does not verify") == true)

        let older = try site.bundle(version: "2026.10.9")
        #expect(refusal(older)?.contains("older than 2026.11.1") == true)

        var odd = try site.bundle(version: "2026.11.2")
        odd["../escape.yaml"] = Data("x".utf8)
        #expect(refusal(odd)?.contains("is not a bundle file name") == true)

        #expect(try site.onDisk() == before, "nothing refused touched the policy folder")
        #expect(site.inForce.policy.version == "2026.11.1")

        let unkeyed = try Self.site(requiringSignature: false)
        defer { try? FileManager.default.removeItem(atPath: unkeyed.folder) }
        #expect(throws: PolicyUpload.Refusal.self) {
            try unkeyed.upload.deploy(try unkeyed.bundle(version: "2026.11.2"), by: "operator:dana")
        }
    }

    @Test("A bundle the reload refuses (a version already in force with other contents) leaves the files before it")
    func rollsBackWhatTheReloadRefuses() throws {
        let site = try Self.site()
        defer { try? FileManager.default.removeItem(atPath: site.folder) }
        #expect(try site.upload.deploy(try site.bundle(version: "2026.11.2"), by: "operator:dana").isLoaded)
        let inForce = try site.onDisk()
        // Same version, other contents: a replayed or forked bundle, refused by the reload after the swap.
        let forked = try site.bundle(version: "2026.11.2") { $0.replacingOccurrences(of: "72h", with: "48h") }
        let outcome = try site.upload.deploy(forked, by: "operator:dana")
        #expect(!outcome.isLoaded, "\(outcome)")
        #expect(try site.onDisk() == inForce, "the files of the policy in force are back")
        #expect(site.inForce.policy.version == "2026.11.2")
    }
}

extension PolicyReloader.Outcome {
    var isLoaded: Bool {
        if case .loaded = self { return true }
        return false
    }
}
