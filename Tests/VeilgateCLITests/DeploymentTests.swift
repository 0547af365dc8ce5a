import Foundation
import Testing
import VeilTestSupport

/// The systemd unit in scripts/systemd: valid, and locked down. Checked with `systemd-analyze` where the machine has it
/// (CI containers have the tool but no running systemd: `verify` and `security --offline` need none).
@Suite("Deployment: the systemd unit, privileges", .serialized)
struct DeploymentTests {
    typealias CLI = VeilgateCLITests
    static let analyze = "/usr/bin/systemd-analyze"

    static func analyze(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: analyze)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(
        "the unit verifies and its sandbox exposure is low (systemd-analyze security)",
        .enabled(if: FileManager.default.isExecutableFile(atPath: analyze)))
    func unit() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let text = try String(
                contentsOf: CLI.repositoryRoot.appendingPathComponent("scripts/systemd/veilgate.service"),
                encoding: .utf8)
            #expect(
                text.contains("User=veilgate") && text.contains("NoNewPrivileges=yes")
                    && text.contains("ProtectSystem=strict"))
            #expect(text.contains("CapabilityBoundingSet=CAP_NET_BIND_SERVICE"))
            // `verify` wants the program to exist: the one just built stands in for /usr/bin/veilgate.
            let unit = folder.appendingPathComponent("veilgate.service")
            try text.replacingOccurrences(of: "/usr/bin/veilgate", with: CLI.binary.path).write(
                to: unit, atomically: true, encoding: .utf8)
            let verified = try Self.analyze(["verify", unit.path])
            #expect(verified.status == 0, "\(verified.output)")
            let security = try Self.analyze(["security", "--offline=yes", unit.path])
            let line =
                security.output.split(separator: "\n").first { $0.contains("Overall exposure level") }.map(String.init)
                ?? ""
            print(line)
            let level = line.split(separator: " ").compactMap { Double($0) }.first
            #expect(level != nil && level! <= 2.0, "\(line)")
        }
    }

    /// Owner, and real/effective/saved/filesystem user ids of every thread of `pid`, from /proc.
    static func threadUserIDs(_ pid: Int32) throws -> Set<String> {
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        return Set(
            try tasks.map { task in
                let status = try String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
                let uid = status.split(separator: "\n").first { $0.hasPrefix("Uid:") } ?? ""
                let capabilities = status.split(separator: "\n").first { $0.hasPrefix("CapEff:") } ?? ""
                return uid.split(whereSeparator: \.isWhitespace).dropFirst().joined(separator: " ") + " "
                    + (capabilities.split(whereSeparator: \.isWhitespace).last.map(String.init) ?? "")
            })
    }

    @Test(
        "serve --user: started as root on a port below 1024, it gives root up on every thread once bound, and writes state as the user",
        .enabled(if: geteuid() == 0 && getpwnam("nobody") != nil))
    func dropsPrivileges() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            try FederationCLITests.writePolicy(try FederationCLITests.examplePolicy(), in: folder)
            let (police, _) = try FederationCLITests.site(in: folder, policy: "policies")
            #expect(try CLI.run(["vault", "init", "--state", "state"], in: folder).status == 0)
            let nobody = try #require(getpwnam("nobody")).pointee

            // The state folder must be the user's first: the gateway takes nothing it is not given.
            let refused = try CLI.run(
                [
                    "serve", "--user", "nobody", "--no-cameras", "--state", "state", "--certs", "certs",
                    "--policy", "policies",
                ], in: folder)
            #expect(refused.status != 0 && refused.errors.contains("chown -R nobody"), "\(refused.errors)")
            let root = try CLI.run(
                [
                    "serve", "--user", "root", "--no-cameras", "--state", "state", "--certs", "certs", "--policy",
                    "policies",
                ],
                in: folder)
            #expect(root.status != 0 && root.errors.contains("name an unprivileged user"), "\(root.errors)")

            // As an operator would: the state (and, here, the folder its audit anchor sits in) belongs to the service
            // user.
            chown(folder.path, nobody.pw_uid, nobody.pw_gid)
            let state = folder.appendingPathComponent("state").path
            for entry in [""] + (FileManager.default.subpaths(atPath: state) ?? []) {
                lchown(state + "/" + entry, nobody.pw_uid, nobody.pw_gid)
            }
            let port = Int.random(in: 700...999)
            let gateway = try FederationCLITests.Gateway(
                in: folder, policy: "policies", extra: ["--no-cameras", "--user", "nobody", "--port", "\(port)"])
            #expect(gateway.port == port)
            let expected = "\(nobody.pw_uid) \(nobody.pw_uid) \(nobody.pw_uid) \(nobody.pw_uid) 0000000000000000"
            #expect(
                try Self.threadUserIDs(gateway.process.processIdentifier) == [expected],
                "every thread: the user, no capability")
            let cameras = try CLI.run(
                [
                    "partner", "get", "/v1/cameras", "--server", "https://127.0.0.1:\(port)", "--ca", "certs/ca.pem",
                    "--cert", police,
                ], in: folder)
            #expect(cameras.status == 0 && cameras.output.contains("market-square"), "\(cameras.errors)")
            #expect(
                gateway.stop() == 0, "SIGTERM shuts down gracefully, and the closing checkpoint is written as the user")

            for entry in FileManager.default.subpaths(atPath: state) ?? [] {
                var info = stat()
                lstat(state + "/" + entry, &info)
                #expect(info.st_uid == nobody.pw_uid, "\(entry) belongs to uid \(info.st_uid)")
            }
            let audit = try CLI.run(["audit", "verify", "--state", "state", "--policy", "policies"], in: folder)
            #expect(audit.status == 0, "\(audit.output)\(audit.errors)")
        }
    }

    /// A plain-HTTP GET on loopback (the health port), with curl.
    static func fetch(_ url: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "--max-time", "5", url]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// The value of one sample line of a Prometheus exposition (0 when absent).
    static func sample(_ exposition: String, _ series: String) -> Double {
        exposition.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap {
            Double($0.split(separator: " ").last ?? "")
        } ?? 0
    }

    @Test(
        "/metrics on the health port counts client certificates by outcome, access decisions, camera frames; names no partner certificate"
    )
    func metrics() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let policy = CLI.repositoryRoot.appendingPathComponent("policies").path
            let (police, _) = try FederationCLITests.site(in: folder, policy: policy)
            #expect(try CLI.run(["vault", "init", "--state", "state"], in: folder).status == 0)
            try FederationCLITests.cityCamera(in: folder)
            let healthPort = Int.random(in: 20_000...40_000)
            let gateway = try FederationCLITests.Gateway(
                in: folder, policy: policy,
                extra: [
                    "--health-port", "\(healthPort)", "--camera-source", "market-square=camera.mp4", "--no-analytics",
                ])
            defer { _ = gateway.stop() }
            let server = "https://127.0.0.1:\(gateway.port)"
            let cameras = try CLI.run(
                ["partner", "get", "/v1/cameras", "--server", server, "--ca", "certs/ca.pem", "--cert", police],
                in: folder)
            #expect(cameras.status == 0)
            // A certificate from another CA claiming the police: refused by the verifier (one without any never reaches
            // it).
            #expect(try CLI.run(["certs", "init", "--certs", "forged"], in: folder).status == 0)
            #expect(
                try CLI.run(
                    ["certs", "issue", "--partner", "police", "--policy", policy, "--certs", "forged"], in: folder
                )
                .status == 0)
            let forged = try #require(
                FileManager.default.subpaths(atPath: folder.path + "/forged/issued")?.first { $0.hasSuffix(".pem") })
            #expect(
                try CLI.run(
                    [
                        "partner", "get", "/v1/cameras", "--server", server, "--ca", "certs/ca.pem",
                        "--cert", "forged/issued/" + forged,
                    ], in: folder
                ).status == 2)

            var exposition = ""
            let deadline = Date().addingTimeInterval(60)
            repeat {
                try await Task.sleep(for: .seconds(0.5))
                exposition = try Self.fetch("http://127.0.0.1:\(healthPort)/metrics")
            } while Self.sample(exposition, #"veilgate_camera_frames_total{camera="market-square"}"#) < 1
                && Date() < deadline
            #expect(
                Self.sample(exposition, #"veilgate_client_certificates_total{outcome="trusted"}"#) >= 1, "\(exposition)"
            )
            #expect(Self.sample(exposition, #"veilgate_client_certificates_total{outcome="refused"}"#) >= 1)
            #expect(Self.sample(exposition, #"veilgate_access_total{action="decision",effect="allow"}"#) >= 1)
            #expect(Self.sample(exposition, #"veilgate_camera_frames_total{camera="market-square"}"#) >= 1)
            #expect(try Self.fetch("http://127.0.0.1:\(healthPort)/health").contains(#""status":"ok""#))
            // Identities stay out: no partner id, no certificate file name or fingerprint.
            let fingerprint = String(police.split(separator: "-").last?.prefix(16) ?? "none")
            #expect(!exposition.contains("police") && !exposition.contains(fingerprint))
            #expect(gateway.stop() == 0)
        }
    }

    @Test("serve --log-format json writes one JSON object per log line")
    func jsonLogs() async throws {
        try await HeavyTest.run {
            let folder = try CLI.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            try FederationCLITests.writePolicy(try FederationCLITests.examplePolicy(), in: folder)
            #expect(try CLI.run(["certs", "init", "--certs", "certs"], in: folder).status == 0)
            #expect(try CLI.run(["vault", "init", "--state", "state"], in: folder).status == 0)
            let gateway = try FederationCLITests.Gateway(
                in: folder, policy: "policies", extra: ["--no-cameras", "--log-format", "json"])
            #expect(gateway.stop() == 0)
            let lines = try String(contentsOf: gateway.log, encoding: .utf8).split(separator: "\n").filter {
                !$0.isEmpty
            }
            #expect(!lines.isEmpty)
            for line in lines {
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object?["level"] != nil && object?["message"] != nil && object?["time"] != nil, "\(line)")
            }
        }
    }
}
