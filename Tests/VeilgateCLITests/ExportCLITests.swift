import Foundation
import Testing
import VeilTestSupport

/// Issue 16: an export the police can open and nobody else, from the CLI, on real footage.
@Suite("Exports to a recipient, through the CLI")
struct ExportCLITests {
    typealias CLI = VeilgateCLITests

    @Test("partner export-key, vault export --recipient, verify-export by anyone, open-export by the recipient only")
    func recipientExport() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let policy = CLI.repositoryRoot.appendingPathComponent("policies").path
            func veilgate(_ arguments: [String]) throws -> CLI.Run { try CLI.run(arguments, in: folder) }
            try FederationCLITests.cityCamera(in: folder)  // real footage: city.jpg as an 8-second H.264 clip
            #expect(try veilgate(["vault", "init", "--state", "state"]).status == 0)
            let start = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-600))
            let ingest = try veilgate([
                "vault", "ingest", "camera.mp4", "--camera", "market-square", "--state", "state", "--policy", policy,
                "--start", start,
            ])
            #expect(ingest.status == 0, "\(ingest.errors)")

            // The police make their key pair; the site gets only the public half.
            let made = try veilgate(["partner", "export-key", "--out", "police-export"])
            #expect(made.status == 0, "\(made.errors)")
            #expect(try veilgate(["partner", "export-key", "--out", "mall-export"]).status == 0)
            let from = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-900))
            let to = ISO8601DateFormatter().string(from: Date())
            let exported = try veilgate([
                "vault", "export", "--camera", "market-square", "--from", from, "--to", to, "-o", "bundle",
                "--requested-by", "police", "--recipient", "police-export.pub", "--state", "state", "--policy", policy,
            ])
            #expect(exported.status == 0, "\(exported.errors)")
            #expect(exported.output.contains("encrypted to recipient key"))

            // What travels: no MP4 in it, only ciphertext (an MP4 starts with an ftyp box).
            let parts = try FileManager.default.contentsOfDirectory(atPath: folder.path + "/bundle/video")
            #expect(parts.count == 1 && parts.allSatisfy { $0.hasSuffix(".mp4.enc") }, "\(parts)")
            let sealed = try Data(contentsOf: folder.appendingPathComponent("bundle/video/" + parts[0]))
            #expect(sealed.range(of: Data("ftyp".utf8)) == nil)

            let verified = try veilgate([
                "vault", "verify-export", "bundle", "--public-key", "state/keys/gateway-signing.pub",
            ])
            #expect(
                verified.status == 0 && verified.output.contains("encrypted to recipient key"), "\(verified.errors)")
            let wrong = try veilgate([
                "vault", "open-export", "bundle", "--key", "mall-export.key", "--public-key",
                "state/keys/gateway-signing.pub",
                "-o", "by-mall",
            ])
            #expect(wrong.status != 0 && wrong.errors.contains("opens only with that key"), "\(wrong.errors)")
            let opened = try veilgate([
                "vault", "open-export", "bundle", "--key", "police-export.key", "--public-key",
                "state/keys/gateway-signing.pub", "-o", "by-police",
            ])
            #expect(opened.status == 0, "\(opened.errors)")
            let clip = try Data(
                contentsOf: folder.appendingPathComponent("by-police/video/" + String(parts[0].dropLast(4))))
            #expect(
                clip == (try Data(contentsOf: folder.appendingPathComponent("camera.mp4"))),
                "the footage, byte for byte")
        }
    }
}
