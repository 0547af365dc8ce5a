import Foundation
import Testing
import VeilTestSupport

/// Issue 14: "the CLI's vault and audit commands talk to a running gateway instead of failing on the lock". While
/// `veilgate serve` holds the vault, the same commands, typed the same way, are run by the gateway through its control
/// socket; without a gateway they run directly.
@Suite("Vault commands while the gateway runs", .serialized)
struct ControlSocketCLITests {
    typealias CLI = VeilgateCLITests
    typealias Gateway = FederationCLITests.Gateway

    @Test(
        "Holds placed, listed, renewed and released, footage ingested and listed, a checkpoint signed — all while serve holds the vault"
    )
    func vaultCommandsThroughTheGateway() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let policy = CLI.repositoryRoot.appendingPathComponent("policies").path
            func veilgate(_ arguments: [String]) throws -> CLI.Run { try CLI.run(arguments, in: folder) }
            _ = try FederationCLITests.site(in: folder, policy: policy)
            #expect(try veilgate(["vault", "init", "--state", "state"]).status == 0)
            let gateway = try Gateway(in: folder, policy: policy, extra: ["--no-cameras"])
            defer { _ = gateway.stop() }
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("state/control.sock").path))

            let placed = try veilgate([
                "vault", "hold", "place", "--camera", "market-square", "--from", "2026-11-20T10:00:00Z", "--to",
                "2026-11-20T11:00:00Z", "--case", "CASE-2026-0815", "--actor", "evidence-desk", "--state", "state",
                "--policy", policy,
            ])
            #expect(placed.status == 0, "\(placed.errors)")
            #expect(placed.errors.contains("the running gateway"), "\(placed.errors)")
            let hold = try #require(
                placed.output.range(of: #"hold-[0-9a-f]{8}"#, options: .regularExpression).map {
                    String(placed.output[$0])
                },
                "\(placed.output)")
            let listed = try veilgate(["vault", "hold", "list", "--state", "state", "--policy", policy])
            #expect(listed.status == 0 && listed.output.contains(hold), "\(listed.output) \(listed.errors)")
            #expect(!listed.output.contains("0815"), "the case reference is never printed")

            // A file given by a relative path reaches the gateway, which runs elsewhere.
            try Data("segment bytes".utf8).write(to: folder.appendingPathComponent("clip.bin"))
            let ingested = try veilgate([
                "vault", "ingest", "clip.bin", "--camera", "market-square", "--start", "2026-11-20T10:10:00Z",
                "--state", "state", "--policy", policy,
            ])
            #expect(ingested.status == 0, "\(ingested.errors)")
            #expect(
                try veilgate(["vault", "list", "--state", "state", "--policy", policy]).output.contains("market-square")
            )

            let released = try veilgate([
                "vault", "hold", "release", hold, "--actor", "dpo", "--state", "state", "--policy", policy,
            ])
            #expect(released.status == 0, "\(released.errors)")
            #expect(
                !(try veilgate(["vault", "hold", "list", "--state", "state", "--policy", policy]).output.contains(hold))
            )
            let checkpoint = try veilgate(["audit", "checkpoint", "--state", "state", "--policy", policy])
            #expect(checkpoint.status == 0, "\(checkpoint.errors)")

            // What must run with the gateway stopped is refused, and says why.
            let rotation = try veilgate(["vault", "rotate-kek", "--state", "state"])
            #expect(rotation.status != 0)
            #expect(
                rotation.errors.contains("in use") || rotation.errors.contains("does not run this command"),
                "\(rotation.errors)")
            #expect(gateway.stop() == 0)

            // The gateway's audit log names what it did for the CLI, and still verifies.
            let audit = try veilgate(["audit", "show", "--state", "state", "--policy", policy, "--limit", "100"])
            #expect(audit.output.contains("hold-placed") && audit.output.contains("hold-released"), "\(audit.output)")
            #expect(try veilgate(["audit", "verify", "--state", "state", "--policy", policy]).status == 0)
            // Stopped: commands open the vault themselves again.
            let direct = try veilgate(["vault", "hold", "list", "--state", "state", "--policy", policy])
            #expect(direct.status == 0 && !direct.errors.contains("running gateway"))
        }
    }
}
