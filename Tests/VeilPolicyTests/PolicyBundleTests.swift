import Foundation
import Testing

@testable import VeilPolicy

@Suite("Signed policy bundles")
struct PolicyBundleTests {
    /// A fresh folder with the example policy and its tests, and a key pair beside it.
    struct Workspace {
        let root: URL
        var bundle: String { root.appendingPathComponent("bundle").path }
        var privateKey: String { root.appendingPathComponent("dpo.key").path }
        var publicKey: String { root.appendingPathComponent("dpo.pub").path }

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("veilgate-bundle-\(UUID().uuidString)")
            let bundle = root.appendingPathComponent("bundle")
            try FileManager.default.createDirectory(at: bundle, withIntermediateDirectories: true)
            let policies = PolicyFixture.repositoryRoot.appendingPathComponent("policies")
            for name in ["city-centre.yaml", "city-centre.test.yaml"] {
                try FileManager.default.copyItem(
                    at: policies.appendingPathComponent(name), to: bundle.appendingPathComponent(name))
            }
            try PolicyBundle.generateKey(privateKeyPath: privateKey, publicKeyPath: publicKey)
        }

        func file(_ name: String) -> URL { URL(fileURLWithPath: bundle).appendingPathComponent(name) }
    }

    @Test("a signed bundle verifies, and the private key is written 0600")
    func roundTrip() throws {
        let workspace = try Workspace()
        defer { try? FileManager.default.removeItem(at: workspace.root) }
        let mode =
            try FileManager.default.attributesOfItem(atPath: workspace.privateKey)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        let signature = try PolicyBundle.sign(workspace.bundle, privateKeyPath: workspace.privateKey)
        #expect(signature.hasSuffix("bundle/bundle.sig"))
        let verified = try PolicyBundle.verify(workspace.bundle, publicKeyPath: workspace.publicKey)
        #expect(verified.files == ["city-centre.test.yaml", "city-centre.yaml"])
        // The signature file holds no key material: only digests, a key fingerprint and the signature.
        let text = try String(contentsOfFile: signature, encoding: .utf8)
        let privateKey = try String(contentsOfFile: workspace.privateKey, encoding: .utf8).split(separator: "\n")[1]
        #expect(!text.contains(String(privateKey)))
    }

    @Test("any changed byte, added or removed file is refused by name", arguments: 0..<3)
    func tampering(_ kind: Int) throws {
        let workspace = try Workspace()
        defer { try? FileManager.default.removeItem(at: workspace.root) }
        try PolicyBundle.sign(workspace.bundle, privateKeyPath: workspace.privateKey)
        var expected = ""
        switch kind {
        case 0:
            var data = try Data(contentsOf: workspace.file("city-centre.yaml"))
            data[data.count / 2] ^= 0x01
            try data.write(to: workspace.file("city-centre.yaml"))
            expected = "city-centre.yaml: file was changed"
        case 1:
            try Data("veilgate: policy/v1\n".utf8).write(to: workspace.file("extra.yaml"))
            expected = "extra.yaml: file was added"
        default:
            try FileManager.default.removeItem(at: workspace.file("city-centre.test.yaml"))
            expected = "city-centre.test.yaml: file was removed"
        }
        let error = try #require(throws: PolicyError.self) {
            try PolicyBundle.verify(workspace.bundle, publicKeyPath: workspace.publicKey)
        }
        #expect(error.code == .bundleChanged)
        #expect(error.message.hasPrefix(expected))
    }

    /// The example policy with the police bringing their own CA, named by `reference`; the CA file is written as
    /// `police-ca.pem` in the bundle.
    func policeWithOwnCA(_ workspace: Workspace, reference: String = "police-ca.pem") throws {
        let policy = workspace.file("city-centre.yaml")
        let text = try String(contentsOf: policy, encoding: .utf8).replacingOccurrences(
            of: "      uri: spiffe://city.example/partner/police\n",
            with: "      uri: spiffe://city.example/partner/police\n      trusted-ca: \(reference)\n")
        try text.write(to: policy, atomically: true, encoding: .utf8)
        try Data("-----BEGIN CERTIFICATE-----\nthe police CA\n-----END CERTIFICATE-----\n".utf8).write(
            to: workspace.file("police-ca.pem"))
    }

    @Test(
        "a partner CA the policy names is signed with it: swapping the CA file is refused by name (issue 15, finding 3)"
    )
    func referencedFilesAreSigned() throws {
        let workspace = try Workspace()
        defer { try? FileManager.default.removeItem(at: workspace.root) }
        try policeWithOwnCA(workspace)
        try PolicyBundle.sign(workspace.bundle, privateKeyPath: workspace.privateKey)
        let verified = try PolicyBundle.verify(workspace.bundle, publicKeyPath: workspace.publicKey)
        #expect(verified.files == ["city-centre.test.yaml", "city-centre.yaml", "police-ca.pem"])
        #expect(try verified.contents(of: workspace.file("police-ca.pem").path).count > 0)

        // An attacker's CA in its place.
        try Data("-----BEGIN CERTIFICATE-----\nan attacker's CA\n-----END CERTIFICATE-----\n".utf8)
            .write(to: workspace.file("police-ca.pem"))
        let error = try #require(throws: PolicyError.self) {
            try PolicyBundle.verify(workspace.bundle, publicKeyPath: workspace.publicKey)
        }
        #expect(error.code == .bundleChanged)
        #expect(error.message.hasPrefix("police-ca.pem: file was changed"))
        // Swapped after verification, before the gateway reads it: the read is refused too.
        #expect(throws: PolicyError(.bundleChanged, "")) {
            try verified.contents(of: workspace.file("police-ca.pem").path)
        }
        // A file outside the signed bundle is never handed out as signed.
        #expect(throws: PolicyError(.bundleChanged, "")) { try verified.contents(of: workspace.privateKey) }
    }

    @Test(
        "a partner CA outside the policy's folder cannot be signed, so it is refused at signing",
        arguments: ["../police-ca.pem", "/etc/ssl/police-ca.pem"])
    func referencedFileOutsideBundle(_ reference: String) throws {
        let workspace = try Workspace()
        defer { try? FileManager.default.removeItem(at: workspace.root) }
        try policeWithOwnCA(workspace, reference: reference)
        let error = try #require(throws: PolicyError.self) {
            try PolicyBundle.sign(workspace.bundle, privateKeyPath: workspace.privateKey)
        }
        #expect(error.code == .invalidBundle)
        #expect(error.message.contains("must be a file in the policy's folder"))
    }

    @Test("another key, a forged manifest or a tampered signature does not verify")
    func wrongKeyAndForgery() throws {
        let workspace = try Workspace()
        defer { try? FileManager.default.removeItem(at: workspace.root) }
        try PolicyBundle.sign(workspace.bundle, privateKeyPath: workspace.privateKey)
        let otherPublic = workspace.root.appendingPathComponent("other.pub").path
        try PolicyBundle.generateKey(
            privateKeyPath: workspace.root.appendingPathComponent("other.key").path,
            publicKeyPath: otherPublic)
        #expect(throws: PolicyError(.signatureMismatch, "")) {
            try PolicyBundle.verify(workspace.bundle, publicKeyPath: otherPublic)
        }
        // Changing a file and its digest in the manifest breaks the signature instead.
        let signatureURL = workspace.file("bundle.sig")
        var signature = try JSONDecoder().decode(PolicyBundle.Signature.self, from: Data(contentsOf: signatureURL))
        signature.files[0].sha256 = String(repeating: "0", count: 64)
        try JSONEncoder().encode(signature).write(to: signatureURL)
        #expect(throws: PolicyError(.signatureMismatch, "")) {
            try PolicyBundle.verify(workspace.bundle, publicKeyPath: workspace.publicKey)
        }
        try Data("not json".utf8).write(to: signatureURL)
        #expect(throws: PolicyError(.invalidBundle, "")) {
            try PolicyBundle.verify(workspace.bundle, publicKeyPath: workspace.publicKey)
        }
    }

    @Test("file names cannot forge manifest lines, and the signer field is covered by the signature")
    func manifestForgery() throws {
        let workspace = try Workspace()
        defer { try? FileManager.default.removeItem(at: workspace.root) }
        try Data("x".utf8).write(to: workspace.file("evil\nname.yaml"))
        #expect(throws: PolicyError(.invalidBundle, "")) {
            try PolicyBundle.sign(workspace.bundle, privateKeyPath: workspace.privateKey)
        }
        try FileManager.default.removeItem(at: workspace.file("evil\nname.yaml"))
        try PolicyBundle.sign(workspace.bundle, privateKeyPath: workspace.privateKey)
        let signatureURL = workspace.file("bundle.sig")
        var signature = try JSONDecoder().decode(PolicyBundle.Signature.self, from: Data(contentsOf: signatureURL))
        signature.signer = "deadbeef" + signature.signer.dropFirst(8)
        try JSONEncoder().encode(signature).write(to: signatureURL)
        #expect(throws: PolicyError(.signatureMismatch, "")) {
            try PolicyBundle.verify(workspace.bundle, publicKeyPath: workspace.publicKey)
        }
    }

    @Test("a private key readable by others is refused, and keys are never overwritten")
    func keyHygiene() throws {
        let workspace = try Workspace()
        defer { try? FileManager.default.removeItem(at: workspace.root) }
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: workspace.privateKey)
        let error = try #require(throws: PolicyError.self) {
            try PolicyBundle.sign(workspace.bundle, privateKeyPath: workspace.privateKey)
        }
        #expect(error.code == .invalidKey)
        #expect(error.message.contains("chmod 600"))
        #expect(throws: PolicyError(.invalidKey, "")) {
            try PolicyBundle.generateKey(privateKeyPath: workspace.privateKey, publicKeyPath: workspace.publicKey)
        }
        // A public key where a private key is expected is refused by name, not misread.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: workspace.publicKey)
        let wrongKind = try #require(throws: PolicyError.self) {
            try PolicyBundle.sign(workspace.bundle, privateKeyPath: workspace.publicKey)
        }
        #expect(wrongKind.message.contains("dpo.pub"))
    }
}
