import Foundation
import Testing
import VeilTestSupport

/// The `veilgate` binary as a user runs it: arguments in, text and exit code out.
@Suite("veilgate CLI")
struct VeilgateCLITests {
    static let repositoryRoot = TestPaths.repository

    /// The binary built beside this test bundle (SwiftPM builds it first: this target depends on it).
    static let binary: URL = {
        if let path = ProcessInfo.processInfo.environment["VEILGATE_BIN"] { return URL(fileURLWithPath: path) }
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("veilgate").path),
            folder.path != "/"
        {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("veilgate")
    }()

    struct Run {
        var status: Int32
        var output: String
        var errors: String
    }

    /// The environment every run gets: a fixed width for help text, and the models wherever the run's folder is.
    static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["COLUMNS"] = "100"
        if environment["VEILGATE_MODELS"] == nil {
            environment["VEILGATE_MODELS"] = repositoryRoot.appendingPathComponent(".cache/models").path
        }
        return environment
    }

    static func run(_ arguments: [String], in directory: URL = repositoryRoot) throws -> Run {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = environment
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
            errors: String(decoding: errorData, as: UTF8.self))
    }

    /// `run` without holding a thread while the command works: its output goes to files, read once it has exited.
    /// Long commands in async tests use it, so that they leave the few threads async tests share (two on a 2-core CI
    /// machine) to the tests that talk TLS.
    static func runAsync(_ arguments: [String], in directory: URL = repositoryRoot) async throws -> Run {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = environment
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("veilgate-run-\(UUID().uuidString)")
        let outputURL = base.appendingPathExtension("out"), errorsURL = base.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorsURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outputURL)
            try? FileManager.default.removeItem(at: errorsURL)
        }
        let outputHandle = try FileHandle(forWritingTo: outputURL),
            errorsHandle = try FileHandle(forWritingTo: errorsURL)
        process.standardOutput = outputHandle
        process.standardError = errorsHandle
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        try? outputHandle.close()
        try? errorsHandle.close()
        return Run(
            status: status, output: (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "",
            errors: (try? String(contentsOf: errorsURL, encoding: .utf8)) ?? "")
    }

    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("veilgate-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test(
        "serve refuses to run as root unless told to (the check runs where the tests run as root, as in CI)",
        .enabled(if: geteuid() == 0))
    func refusesRoot() async throws {
        try await HeavyTest.run {
            let folder = try Self.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let run = try Self.run(["serve", "--no-cameras", "--state", "state", "--certs", "certs"], in: folder)
            #expect(run.status != 0)
            #expect(run.errors.contains("refusing to run as root"), "\(run.errors)")
        }
    }

    @Test(
        "partner onboarding without the site making the key: partner request, then certs sign-request for the policy's identity"
    )
    func certificateRequest() async throws {
        try await HeavyTest.run {
            let folder = try Self.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let policy = Self.repositoryRoot.appendingPathComponent("policies").path
            let requested = try Self.run(
                [
                    "partner", "request", "--partner", "police", "--uri", "spiffe://city.example/partner/police",
                    "--out", "police",
                ], in: folder)
            #expect(requested.status == 0, "\(requested.errors)")
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("police.key").path))
            #expect(try Self.run(["certs", "init", "--certs", "certs"], in: folder).status == 0)
            let signed = try Self.run(
                ["certs", "sign-request", "police.csr", "--partner", "police", "--policy", policy, "--certs", "certs"],
                in: folder)
            #expect(signed.status == 0, "\(signed.errors)")
            #expect(signed.output.contains("spiffe://city.example/partner/police"))
            let issued = try FileManager.default.contentsOfDirectory(
                atPath: folder.appendingPathComponent("certs/issued").path)
            #expect(issued.contains { $0.hasPrefix("police-") && $0.hasSuffix(".pem") })
            #expect(!issued.contains { $0.hasSuffix(".key") }, "the site never had the partner's key")
            let wrong = try Self.run(
                [
                    "certs", "sign-request", "police.csr", "--partner", "bakerstreet-mall", "--policy", policy,
                    "--certs", "certs",
                ], in: folder)
            #expect(wrong.status != 0, "the police's request does not become the mall's certificate")
        }
    }

    @Test(
        "help texts match their snapshots",
        arguments: [
            ["--help"], ["policy", "--help"], ["policy", "lint", "--help"], ["policy", "explain", "--help"],
            ["vault", "--help"],
            ["redact", "--help"], ["certs", "--help"], ["serve", "--help"], ["partner", "--help"],
        ])
    func helpSnapshots(_ arguments: [String]) async throws {
        try await HeavyTest.run {
            let run = try Self.run(arguments)
            #expect(run.status == 0)
            let name = arguments.filter { $0 != "--help" }.joined(separator: "-")
            let snapshot = Self.repositoryRoot.appendingPathComponent(
                "Tests/VeilgateCLITests/Snapshots/help\(name.isEmpty ? "" : "-" + name).txt")
            if ProcessInfo.processInfo.environment["VEILGATE_RECORD_SNAPSHOTS"] == "1" {
                try Data(run.output.utf8).write(to: snapshot)
            }
            let expected = try String(contentsOf: snapshot, encoding: .utf8)
            #expect(run.output == expected, "help changed; rerun with VEILGATE_RECORD_SNAPSHOTS=1 if intended")
        }
    }

    @Test("lint: clean example exits 0; errors exit 1 as file:line:col")
    func lint() async throws {
        try await HeavyTest.run {
            let clean = try Self.run(["policy", "lint", "policies", "--at", "2026-12-01T00:00:00Z"])
            #expect(clean.status == 0)
            #expect(clean.output == "2 files checked: 0 errors, 0 warnings\n")

            let folder = try Self.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let broken = folder.appendingPathComponent("broken.yaml")
            try Data("veilgate: policy/v1\nmetadata:\n  controler: x\n".utf8).write(to: broken)
            let run = try Self.run(["policy", "lint", broken.path])
            #expect(run.status == 1)
            #expect(
                run.output.contains(
                    "\(broken.path):3:3: error: unknown key 'controler' in metadata; did you mean 'controller'? [VG101 unknown-key]"
                ))

            let json = try Self.run(["policy", "lint", broken.path, "--format", "json"])
            let findings = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]]
            #expect(findings?.first?["rule"] as? String == "VG101")
        }
    }

    @Test("lint finds every file of a folder: a quoted header or CRLF lines cannot hide a policy; strangers are errors")
    func lintDiscovery() async throws {
        try await HeavyTest.run {
            let folder = try Self.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            try Data("veilgate: \"policy/v1\"\r\nmetadata:\r\n  controler: x\r\n".utf8).write(
                to: folder.appendingPathComponent("quoted.yaml"))
            try Data(
                "# a long comment\n\(String(repeating: "#", count: 5000))\nveilgate: policy/v1\nmetadata: {}\n".utf8
            )
            .write(to: folder.appendingPathComponent("late.yaml"))
            try Data("name: something else\n".utf8).write(to: folder.appendingPathComponent("other.yml"))
            let run = try Self.run(["policy", "lint", folder.path])
            #expect(run.status == 1)
            #expect(run.output.contains("quoted.yaml:3:3: error: unknown key 'controler'"))
            #expect(run.output.contains("late.yaml:"))
            #expect(run.output.contains("other.yml:1:1: error: not a Veilgate file"))
            #expect(run.output.contains("3 files checked"))

            // The same folder cannot be signed.
            #expect(try Self.run(["policy", "keygen", "--out", "k"], in: folder).status == 0)
            let sign = try Self.run([
                "policy", "sign", folder.path, "--key", folder.appendingPathComponent("k.key").path,
            ])
            #expect(sign.status == 1)
            #expect(sign.errors.contains("refusing to sign a bundle with errors"))
        }
    }

    @Test("explain: allow exits 0, deny exits 2, JSON carries the rule ids")
    func explain() async throws {
        try await HeavyTest.run {
            let allow = try Self.run([
                "policy", "explain", "--partner", "police", "--camera", "market-square",
                "--action", "live", "--at", "2026-12-04T21:30:00Z",
            ])
            #expect(allow.status == 0)
            #expect(allow.output.hasPrefix("ALLOW  police → market-square  live"))
            #expect(allow.output.contains("decided by:     police-live"))
            #expect(allow.output.contains("redaction:      faces, plates, screens — blur, ellipse, margin 15 %"))

            let deny = try Self.run([
                "policy", "explain", "--partner", "bakerstreet-mall", "--camera", "market-square",
                "--action", "live", "--at", "2026-12-04T21:30:00Z", "--format", "json",
            ])
            #expect(deny.status == 2)
            let report = try JSONSerialization.jsonObject(with: Data(deny.output.utf8)) as? [String: Any]
            #expect(report?["decision"] as? String == "deny")
            #expect(report?["rules"] as? [String] == ["no-live-during-demonstrations"])

            let bad = try Self.run(["policy", "explain", "--partner", "police", "--camera", "x", "--action", "watch"])
            #expect(bad.status != 0)
            #expect(bad.errors.contains("--action must be live, clip, counts or alert:KIND"))
        }
    }

    @Test("explain for an alert says whether this site raises it for the camera, and when")
    func explainAlerts() async throws {
        try await HeavyTest.run {
            func explain(_ camera: String, _ kind: String, zone: String? = nil, json: Bool = false) throws -> Run {
                try Self.run(
                    ["policy", "explain", "--partner", "police", "--camera", camera, "--action", "alert:\(kind)"]
                        + (zone.map { ["--zone", $0] } ?? []) + (json ? ["--format", "json"] : []))
            }
            let runs = try explain("station-forecourt", "restricted-zone", zone: "platform-access")
            #expect(runs.status == 0)
            #expect(
                runs.output.contains(
                    "analytic:       raised by this site's analytics on camera station-forecourt: a person inside a zone for 1 s"
                ),
                "\(runs.output)")
            // Unattended objects run as well, with their threshold.
            let unattended = try explain("market-square", "unattended-object")
            #expect(
                unattended.output.contains(
                    "raised by this site's analytics on camera market-square: something that came to rest in a zone and stayed still, with nobody near it, for 60 s"
                ), "\(unattended.output)")
            let notListed = try explain("station-forecourt", "loitering", json: true)
            let report = try JSONSerialization.jsonObject(with: Data(notListed.output.utf8)) as? [String: Any]
            #expect(
                (report?["analytic"] as? [String])?.first?.contains("does not list loitering") == true,
                "\(notListed.output)")
            let wrongZone = try explain("station-forecourt", "restricted-zone", zone: "fountain")
            #expect(
                wrongZone.output.contains("'fountain' is not a zone or line of camera station-forecourt"),
                "\(wrongZone.output)")
            // Not an alert: nothing about analytics.
            #expect(
                !(try Self.run([
                    "policy", "explain", "--partner", "police", "--camera", "market-square", "--action", "live",
                ]))
                .output.contains("analytic:"))
        }
    }

    @Test("test: the example's policy tests pass; a failing test exits 1")
    func policyTests() async throws {
        try await HeavyTest.run {
            let run = try Self.run(["policy", "test", "policies"])
            #expect(run.status == 0)
            #expect(run.output.contains(" passed, 0 failed"))

            let folder = try Self.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            try FileManager.default.copyItem(
                at: Self.repositoryRoot.appendingPathComponent("policies/city-centre.yaml"),
                to: folder.appendingPathComponent("city-centre.yaml"))
            try Data(
                """
                veilgate: policy-tests/v1
                policy: city-centre.yaml
                tests:
                  - name: the mall watches the market square
                    request: {partner: bakerstreet-mall, camera: market-square, action: live, at: 2026-12-04T21:30:00Z}
                    expect: {decision: allow}
                """.utf8
            ).write(to: folder.appendingPathComponent("wrong.test.yaml"))
            let failing = try Self.run(["policy", "test", folder.path])
            #expect(failing.status == 1)
            #expect(failing.output.contains("FAIL  the mall watches the market square"))
            #expect(failing.output.contains("policy tests: 0 passed, 1 failed"))
        }
    }

    @Test("ropa and diff")
    func reports() async throws {
        try await HeavyTest.run {
            let html = try Self.run(["policy", "ropa", "policies", "--format", "html"])
            #expect(html.status == 0)
            #expect(html.output.hasPrefix("<!DOCTYPE html>"))
            #expect(html.output.contains("Baker Street Mall Management GmbH"))

            let same = try Self.run(["policy", "diff", "policies/city-centre.yaml", "policies/city-centre.yaml"])
            #expect(same.status == 0)
            #expect(same.output.contains("No partner gains or loses anything."))

            let folder = try Self.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let original = try String(
                contentsOf: Self.repositoryRoot.appendingPathComponent("policies/city-centre.yaml"), encoding: .utf8)
            let changed = original.replacingOccurrences(
                of: "kinds: [unattended-object]\n        fields: [kind, camera, zone, time]",
                with: "kinds: [unattended-object, restricted-zone]\n        fields: [kind, camera, zone, time]")
            #expect(changed != original)
            try Data(changed.utf8).write(to: folder.appendingPathComponent("new.yaml"))
            let diff = try Self.run([
                "policy", "diff", "policies/city-centre.yaml", folder.appendingPathComponent("new.yaml").path,
            ])
            #expect(diff.status == 1)
            #expect(diff.output.contains("partner northtown-gateway:\n  + alert:restricted-zone on station-forecourt"))
        }
    }

    @Test("redact: an image comes out redacted, with a JSON line of boxes; a missing input is a clear error")
    func redact() async throws {
        try await HeavyTest.run {
            let folder = try Self.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let city = Self.repositoryRoot.deletingLastPathComponent().appendingPathComponent(
                "shared/data/faces/city.jpg"
            )
            .path
            let output = folder.appendingPathComponent("city.jpg").path
            let boxes = folder.appendingPathComponent("boxes.jsonl").path
            let run = try Self.run([
                "redact", city, "-o", output, "--detections", boxes, "--classes", "faces", "--no-heads",
            ])
            #expect(run.status == 0, "\(run.errors)")
            #expect(run.output.contains("redacted 1 frame(s)"))
            #expect(FileManager.default.fileExists(atPath: output))
            let lines = try String(contentsOfFile: boxes, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 1)
            #expect(lines[0].components(separatedBy: "\"kind\":\"faces\"").count - 1 >= 14)
            let missing = try Self.run([
                "redact", folder.appendingPathComponent("none.mp4").path, "-o", output, "--classes", "faces",
            ])
            #expect(missing.status == 1)
            #expect(missing.errors.contains("error: cannot open"))
        }
    }

    /// Issue 11: a new user's first try, in a folder of their own, with no policy and no VEILGATE_MODELS: the built-in
    /// default profile (said so), the models of the checkout the binary was built in, and a PNG out.
    @Test(
        "redact works outside a Veilgate folder: built-in default profile, said so; --profile without a policy is refused"
    )
    func redactAnywhere() async throws {
        try await HeavyTest.run {
            let folder = try Self.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let city = Self.repositoryRoot.deletingLastPathComponent().appendingPathComponent(
                "shared/data/faces/city.jpg"
            )
            .path
            var environment = Self.environment
            environment["VEILGATE_MODELS"] = nil
            let process = Process()
            process.executableURL = Self.binary
            process.arguments = ["redact", city, "-o", "city.png", "--detections", "boxes.jsonl"]
            process.currentDirectoryURL = folder
            process.environment = environment
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(said)")
            #expect(said.contains("using the built-in default profile — faces and plates"))
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("city.png").path))
            let boxes = try String(contentsOf: folder.appendingPathComponent("boxes.jsonl"), encoding: .utf8)
            #expect(boxes.components(separatedBy: "\"kind\":\"faces\"").count - 1 >= 22)
            let profile = try Self.run(["redact", city, "-o", "x.png", "--profile", "strict"], in: folder)
            #expect(profile.status != 0)
            #expect(profile.errors.contains("there is no policy here"))
        }
    }

    @Test("keygen, sign and verify; a changed byte fails verification by name")
    func signing() async throws {
        try await HeavyTest.run {
            let folder = try Self.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let bundle = folder.appendingPathComponent("policies")
            try FileManager.default.copyItem(at: Self.repositoryRoot.appendingPathComponent("policies"), to: bundle)
            try? FileManager.default.removeItem(at: bundle.appendingPathComponent("bundle.sig"))
            let keygen = try Self.run(["policy", "keygen", "--out", "dpo"], in: folder)
            #expect(keygen.status == 0)
            #expect(try Self.run(["policy", "sign", "policies", "--key", "dpo.key"], in: folder).status == 0)
            let verified = try Self.run(["policy", "verify", "policies", "--public-key", "dpo.pub"], in: folder)
            #expect(verified.status == 0)
            #expect(verified.output.hasPrefix("verified policies:"))

            let policy = bundle.appendingPathComponent("city-centre.yaml")
            var data = try Data(contentsOf: policy)
            data[100] ^= 0x20
            try data.write(to: policy)
            let tampered = try Self.run(["policy", "verify", "policies", "--public-key", "dpo.pub"], in: folder)
            #expect(tampered.status == 1)
            #expect(tampered.errors.contains("city-centre.yaml: file was changed after the bundle was signed"))
        }
    }
}
