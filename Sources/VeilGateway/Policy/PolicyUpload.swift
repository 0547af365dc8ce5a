import Foundation
import Synchronization
import VeilCore
import VeilPolicy

/// Deploys a signed policy bundle handed over through the console: the files are checked in a staging folder first
/// (safe names, the DPO key's signature over every file, a policy that loads and is not older than the one in force),
/// then put in place of the bundle on disk and loaded exactly as a SIGHUP loads them. When the reload refuses the
/// bundle, the files that were there before are put back, so the disk always holds the policy in force.
///
/// Only a gateway that requires signed bundles (`serve --policy-key`) accepts uploads: without a key nothing could tell
/// the DPO's bundle from anyone else's.
final class PolicyUpload: Sendable {
    let policyPath: String
    let state: String
    let reloader: PolicyReloader
    /// One deployment at a time: two interleaved ones could leave a mix of both on disk.
    private let deploying = Mutex(())

    /// What one upload may hold at most.
    static let maximumFiles = 32
    static let maximumBytes = 4 << 20

    init(policyPath: String, state: String, reloader: PolicyReloader) {
        self.policyPath = policyPath
        self.state = state
        self.reloader = reloader
    }

    /// Why an upload was refused before anything on disk changed.
    struct Refusal: Error {
        var message: String
    }

    /// Checks and deploys `files` (name → contents); returns what the reload did. Throws ``Refusal`` when the upload is
    /// refused before the policy on disk is touched.
    func deploy(_ files: [String: Data], by actor: String) throws(Refusal) -> PolicyReloader.Outcome {
        guard let publicKeyPath = reloader.publicKeyPath else {
            throw Refusal(
                message:
                    "This gateway loads policies without a signature (it was started without --policy-key), so it cannot tell an uploaded bundle from anyone else's: uploads are refused. Deploy by editing the policy on disk."
            )
        }
        guard !files.isEmpty else { throw Refusal(message: "The upload holds no files.") }
        guard files.count <= Self.maximumFiles, files.values.reduce(0, { $0 + $1.count }) <= Self.maximumBytes else {
            throw Refusal(message: "A bundle is at most \(Self.maximumFiles) files and 4 MiB.")
        }
        if let unsafe = files.keys.first(where: { !PolicyBundle.isSafeName($0) }) {
            throw Refusal(
                message:
                    "\(unsafe.debugDescription.prefix(80)) is not a bundle file name (letters, digits, '.', '-', '_')."
            )
        }
        let layout = try layout()
        let signature = layout.signatureName
        guard files[signature] != nil else {
            throw Refusal(
                message:
                    "The upload has no \(signature): sign the bundle with `veilgate policy sign` and upload its signature with the files."
            )
        }
        return try deploying.withLock { _ throws(Refusal) in
            let staging = state + "/policy-upload"
            try? FileManager.default.removeItem(atPath: staging)
            defer { try? FileManager.default.removeItem(atPath: staging) }
            do {
                try FileManager.default.createDirectory(
                    atPath: staging, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                for (name, contents) in files {
                    try contents.write(to: URL(fileURLWithPath: staging + "/" + name))
                }
            } catch { throw Refusal(message: "The upload could not be staged in the state folder.") }
            let stagedPolicy = layout.single.map { staging + "/" + $0 } ?? staging
            do {
                let verified = try PolicyBundle.verify(stagedPolicy, publicKeyPath: publicKeyPath)
                let loaded = try PolicyFile.load(stagedPolicy, at: Date())
                let current = reloader.policy.current.policy.version
                guard loaded.version.compare(current, options: .numeric) != .orderedAscending else {
                    throw Refusal(message: "Version \(loaded.version) is older than \(current), the version in force.")
                }
                guard Set(verified.files + [signature]) == Set(files.keys) else {
                    throw Refusal(message: "The upload holds files the signature does not cover.")
                }
            } catch let refusal as Refusal {
                throw refusal
            } catch {
                // Errors name the files they are about: by the DPO's names, not the staging folder's.
                throw Refusal(
                    message: PolicyReloader.reason(error).replacingOccurrences(of: staging + "/", with: ""))
            }
            return try install(files, layout: layout, staging: staging, by: actor)
        }
    }

    /// Where the bundle lives: a folder (every YAML file in it and `bundle.sig`) or one file (`NAME` and `NAME.sig`).
    struct Layout {
        var folder: String
        /// The policy file's name when the gateway was given one file.
        var single: String?
        var signatureName: String { single.map { $0 + ".sig" } ?? PolicyBundle.signatureFileName }
    }

    func layout() throws(Refusal) -> Layout {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: policyPath, isDirectory: &isFolder) else {
            throw Refusal(message: "The gateway's policy path is gone from disk.")
        }
        if isFolder.boolValue { return Layout(folder: policyPath) }
        return Layout(
            folder: (policyPath as NSString).deletingLastPathComponent,
            single: (policyPath as NSString).lastPathComponent)
    }

    /// Swaps the bundle on disk and reloads; puts the previous files back when the reload refuses it.
    private func install(
        _ files: [String: Data], layout: Layout, staging: String, by actor: String
    ) throws(Refusal) -> PolicyReloader.Outcome {
        let folder = layout.folder.isEmpty ? "." : layout.folder
        let present = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        // In a folder bundle every YAML file is part of the bundle: one the upload does not hold must go, or the
        // signature check would find a file it does not cover.
        let replaced =
            layout.single == nil
            ? Set(present.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || files[$0] != nil })
            : Set(present.filter { files[$0] != nil })
        var previous: [String: Data] = [:]
        for name in replaced {
            previous[name] = FileManager.default.contents(atPath: folder + "/" + name)
        }
        do {
            for name in replaced where files[name] == nil {
                try FileManager.default.removeItem(atPath: folder + "/" + name)
            }
            for (name, contents) in files {
                // Written beside and renamed: a reader never sees half a file.
                let temporary = folder + "/.upload-" + name
                try contents.write(to: URL(fileURLWithPath: temporary))
                guard rename(temporary, folder + "/" + name) == 0 else { throw Refusal(message: "rename failed") }
            }
        } catch {
            restore(previous, replacing: files.keys, in: folder)
            throw Refusal(message: "The bundle could not be written to the policy folder; the files before it stay.")
        }
        let outcome = reloader.reload(by: actor)
        if case .refused = outcome { restore(previous, replacing: files.keys, in: folder) }
        return outcome
    }

    private func restore(_ previous: [String: Data], replacing written: some Sequence<String>, in folder: String) {
        for name in written where previous[name] == nil {
            unlink(folder + "/" + name)
        }
        for (name, contents) in previous {
            try? contents.write(to: URL(fileURLWithPath: folder + "/" + name), options: .atomic)
        }
    }
}
