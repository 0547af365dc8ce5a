import Foundation
import Testing
import VeilCore
import VeilGateway
import VeilPolicy
import VeilTestSupport

@Suite("Policy in force")
struct PolicyInForceTests {
    static func examplePolicy() throws -> CompiledPolicy {
        try PolicyFile.load(TestPaths.repository.appendingPathComponent("policies").path, at: Date())
    }

    @Test("A swap changes policy and revocations together and reaches every subscriber; a late reader gets the newest")
    func swapsAndPublishes() async throws {
        let policy = try Self.examplePolicy()
        let inForce = PolicyInForce(.init(policy: policy, revokedSerials: []))
        let first = inForce.updates(), second = inForce.updates()
        #expect(inForce.current.generation == 0)

        inForce.update { $0.revokedSerials = ["0a"] }
        inForce.update {
            $0.revokedSerials = ["0a", "0b"]
            $0.partnerRoots = [:]
        }
        // Each subscriber sees whole snapshots: the newest one it has not read, never half of a swap.
        for stream in [first, second] {
            var iterator = stream.makeAsyncIterator()
            let seen = await iterator.next()
            #expect(
                seen?.generation == 2 && seen?.revokedSerials == ["0a", "0b"],
                "newest only: \(String(describing: seen?.generation))")
        }
        #expect(inForce.current.revokedSerials == ["0a", "0b"] && inForce.policy.version == policy.version)
    }

    @Test("A subscriber that stops listening is forgotten")
    func unsubscribes() async throws {
        let inForce = PolicyInForce(.init(policy: try Self.examplePolicy(), revokedSerials: []))
        let task = Task {
            for await _ in inForce.updates() {}
        }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        await task.value
        // Publishing after the only subscriber left reaches nobody and does not fail.
        #expect(inForce.update { $0.revokedSerials = ["ff"] }.generation == 1)
    }
}
