import Foundation
import Testing

/// The systemd unit in scripts/systemd: valid, and locked down. Checked with `systemd-analyze` where the machine has it
/// (CI containers have the tool but no running systemd: `verify` and `security --offline` need none).
@Suite("Deployment: the systemd unit")
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

    @Test("the unit verifies and its sandbox exposure is low (systemd-analyze security)",
          .enabled(if: FileManager.default.isExecutableFile(atPath: analyze)))
    func unit() throws {
        let folder = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = try String(contentsOf: CLI.repositoryRoot.appendingPathComponent("scripts/systemd/veilgate.service"), encoding: .utf8)
        #expect(text.contains("User=veilgate") && text.contains("NoNewPrivileges=yes") && text.contains("ProtectSystem=strict"))
        #expect(text.contains("CapabilityBoundingSet=CAP_NET_BIND_SERVICE"))
        // `verify` wants the program to exist: the one just built stands in for /usr/bin/veilgate.
        let unit = folder.appendingPathComponent("veilgate.service")
        try text.replacingOccurrences(of: "/usr/bin/veilgate", with: CLI.binary.path).write(to: unit, atomically: true, encoding: .utf8)
        let verified = try Self.analyze(["verify", unit.path])
        #expect(verified.status == 0, "\(verified.output)")
        let security = try Self.analyze(["security", "--offline=yes", unit.path])
        let line = security.output.split(separator: "\n").first { $0.contains("Overall exposure level") }.map(String.init) ?? ""
        print(line)
        let level = line.split(separator: " ").compactMap { Double($0) }.first
        #expect(level != nil && level! <= 2.0, "\(line)")
    }

    @Test("serve --log-format json writes one JSON object per log line")
    func jsonLogs() throws {
        let folder = try CLI.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FederationCLITests.writePolicy(try FederationCLITests.examplePolicy(), in: folder)
        #expect(try CLI.run(["certs", "init", "--certs", "certs"], in: folder).status == 0)
        #expect(try CLI.run(["vault", "init", "--state", "state"], in: folder).status == 0)
        let gateway = try FederationCLITests.Gateway(in: folder, policy: "policies", extra: ["--no-cameras", "--log-format", "json"])
        #expect(gateway.stop() == 0)
        let lines = try String(contentsOf: gateway.log, encoding: .utf8).split(separator: "\n").filter { !$0.isEmpty }
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] != nil && object?["message"] != nil && object?["time"] != nil, "\(line)")
        }
    }
}
