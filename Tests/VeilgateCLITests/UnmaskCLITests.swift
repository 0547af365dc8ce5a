import Foundation
import Testing
import VeilTestSupport

/// Issue 16, items 3 and 5, end to end from the command line: a camera recorded by `veilgate serve` with an unmask
/// layer sealed to a DPO and a duty officer; a request, two approvals made on the approvers' side with their own keys,
/// and the unmasked clip; one approval alone opens nothing.
@Suite("Unmasking from the command line", .serialized)
struct UnmaskCLITests {
    typealias CLI = VeilgateCLITests

    @Test("recorded with an unmask layer; unmasked with two approvals of different roles, not with one")
    func requestApproveUnmask() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            // The approvers make their keys on their side; the DPO puts the public halves in the policy.
            var keys: [String: String] = [:]
            for role in ["dpo", "duty-officer"] {
                let made = try CLI.run(["vault", "approver-key", "--out", role], in: folder)
                #expect(made.status == 0 && made.output.contains("retention.unmasking.approvers"), "\(made.errors)")
                keys[role] = try String(contentsOf: folder.appendingPathComponent("\(role).pub"), encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            var text = try FederationCLITests.examplePolicy()
            for (old, new) in [
                (
                    "produces: [raw-video, redacted-video, events, counts]",
                    "produces: [raw-video, redacted-video, unmask-layer, events, counts]"
                ),
                (
                    "retention:\n  rules:\n",
                    "retention:\n  rules:\n    - id: layer-72h\n      cameras: [market-square]\n      category: unmask-layer\n      duration: 72h\n"
                ),
                (
                    "  legal-hold:\n",
                    "  unmasking:\n    approvers:\n      - {role: dpo, key: \(keys["dpo"]!)}\n      - {role: duty-officer, key: \(keys["duty-officer"]!)}\n  legal-hold:\n"
                ),
            ] {
                #expect(text.contains(old), "\(old)")
                text = text.replacingOccurrences(of: old, with: new)
            }
            // And a privacy mask, which the unmasked clip must keep like every other output.
            let anchor = "    zones:\n      - id: fountain"
            #expect(text.contains(anchor))
            let mask = PrivacyMaskCLITests.mask
            text = text.replacingOccurrences(
                of: anchor,
                with: """
                        masks:
                          - id: flat-windows
                            polygon: [[\(mask.x1), \(mask.y1)], [\(mask.x2), \(mask.y1)], [\(mask.x2), \(mask.y2)], [\(mask.x1), \(mask.y2)]]
                    \(anchor)
                    """)
            try FederationCLITests.writePolicy(text, in: folder)
            let lint = try CLI.run(["policy", "lint", "policies"], in: folder)
            #expect(lint.status == 0, "\(lint.output)\(lint.errors)")
            _ = try FederationCLITests.site(in: folder, policy: "policies")
            #expect(try CLI.run(["vault", "init", "--state", "state"], in: folder).status == 0)
            try FederationCLITests.cityCamera(in: folder)
            let gateway = try FederationCLITests.Gateway(
                in: folder, policy: "policies",
                extra: ["--camera-source", "market-square=camera.mp4", "--no-analytics"])
            try await Task.sleep(for: .seconds(8))
            #expect(gateway.stop() == 0)

            let vault = ["--state", "state", "--policy", "policies"]
            let listed = try CLI.run(["vault", "list", "--camera", "market-square"] + vault, in: folder)
            #expect(listed.output.contains("unmask-layer"), "\(listed.output)")
            let range = [
                "--camera", "market-square", "--from",
                ISO8601DateFormatter().string(from: Date().addingTimeInterval(-3600)),
                "--to", ISO8601DateFormatter().string(from: Date().addingTimeInterval(60)),
            ]
            let asked = try CLI.run(
                ["vault", "unmask-request"] + range + vault
                    + ["--reason", "assault at the fountain, case 2026-77", "-o", "request.json"], in: folder)
            #expect(asked.status == 0, "\(asked.errors)")
            let id = try #require(
                asked.output.split(separator: " ").first { $0.hasPrefix("unmask-") }.map { String($0.dropLast()) },
                "\(asked.output)")
            for role in ["dpo", "duty-officer"] {
                let approved = try CLI.run(
                    [
                        "vault", "approve-unmask", "request.json", "--key", "\(role).key", "--public-key",
                        "state/keys/gateway-signing.pub", "-o", "approval-\(role).json",
                    ], in: folder)
                #expect(approved.status == 0 && approved.output.contains("as \(role)"), "\(approved.errors)")
            }
            let alone = try CLI.run(
                ["vault", "unmask", "--request", id, "--approval", "approval-dpo.json", "-o", "alone.mp4"] + vault,
                in: folder)
            #expect(alone.status != 0 && alone.errors.contains("two approvals"), "\(alone.errors)")
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("alone.mp4").path))
            let twice = try CLI.run(
                [
                    "vault", "unmask", "--request", id, "--approval", "approval-dpo.json", "--approval",
                    "approval-dpo.json", "-o", "twice.mp4",
                ] + vault, in: folder)
            #expect(twice.status != 0 && twice.errors.contains("two-person rule"), "\(twice.errors)")
            let unmasked = try CLI.run(
                [
                    "vault", "unmask", "--request", id, "--approval", "approval-dpo.json", "--approval",
                    "approval-duty-officer.json", "-o", "clip.mp4",
                ] + vault, in: folder)
            #expect(unmasked.status == 0, "\(unmasked.errors)")
            #expect(unmasked.output.contains("original pixels drawn back in"), "\(unmasked.output)")
            #expect(!unmasked.output.contains("drawn back in 0 of them"), "\(unmasked.output)")
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("clip.mp4").path))
            try PrivacyMaskCLITests.expectMasked("clip.mp4", in: folder, tolerance: 3, "the unmasked clip")
            let audit = try CLI.run(["audit", "show"] + vault, in: folder)
            #expect(audit.output.contains("unmask"), "\(audit.output.suffix(600))")

            // A subject access on a camera that keeps an unmask layer: the person found first (in the original footage
            // this test camera also keeps) pointed at, and the answer drawn from the redacted recording with a new
            // request's approved original pixels.
            let listed2 = try CLI.run(
                ["subject-access"] + range + vault + ["--detections", "people.jsonl"], in: folder)
            #expect(listed2.status == 0, "\(listed2.errors)")
            let line = try #require(
                String(contentsOf: folder.appendingPathComponent("people.jsonl"), encoding: .utf8).split(
                    separator: "\n"
                )
                .first)
            let person = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let box = try #require(person["firstBox"] as? [Double])
            let first = try #require(person["first"] as? String)
            let point = String(format: "%.3f,%.3f@", (box[0] + box[2]) / 2, (box[1] + box[3]) / 2) + first
            let asked2 = try CLI.run(
                ["vault", "unmask-request"] + range + vault + [
                    "--reason", "subject access SAR-9", "-o", "request2.json",
                ],
                in: folder)
            let id2 = try #require(
                asked2.output.split(separator: " ").first { $0.hasPrefix("unmask-") }.map { String($0.dropLast()) })
            for role in ["dpo", "duty-officer"] {
                #expect(
                    try CLI.run(
                        [
                            "vault", "approve-unmask", "request2.json", "--key", "\(role).key", "--public-key",
                            "state/keys/gateway-signing.pub", "-o", "approval2-\(role).json",
                        ], in: folder
                    ).status == 0)
            }
            let answered = try CLI.run(
                ["subject-access"] + range + vault + [
                    "--unmask-request", id2, "--approval", "approval2-dpo.json", "--approval",
                    "approval2-duty-officer.json", "--select", point, "--request", "SAR-9", "-o", "sar",
                ], in: folder)
            #expect(answered.status == 0, "\(answered.errors)")
            #expect(answered.output.contains("the subject is shown in"), "\(answered.output)")
            let verified = try CLI.run(
                ["vault", "verify-export", "sar", "--public-key", "state/keys/gateway-signing.pub"], in: folder)
            #expect(verified.status == 0, "\(verified.errors)")

            // Art. 17: a track that is not in the layer is refused by name; the wiring to the vault holds.
            let erased = try CLI.run(["vault", "erase-subject"] + range + vault + ["--track", "999999"], in: folder)
            #expect(erased.status != 0 && erased.errors.contains("holds those tracks"), "\(erased.errors)")
        }
    }
}
