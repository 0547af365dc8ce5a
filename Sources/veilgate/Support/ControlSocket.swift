import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VeilPolicy
import VeilVault

#if canImport(Glibc)
    import Glibc
#endif

/// The running gateway's control socket, `STATE/control.sock`: the vault and audit commands that need the vault
/// open for writing — which `serve` holds — are sent here by the CLI and run inside the gateway, on its open vault and
/// under the policy in force, their output sent back. Without a running gateway they run directly, as before.
///
/// Only the gateway's own user (or root) can connect: the socket is 0600 in the private state folder, and the peer's
/// credentials are checked. Only the commands in ``forwardable`` are run. Each request is one JSON object (the
/// command's arguments, with paths made absolute by the client, and its state folder); each answer one JSON object
/// (exit status, output, errors). Logged without arguments: they may name cases or people's selections.
final class ControlSocket: Service, Sendable {
    static let fileName = "control.sock"
    /// The commands a running gateway runs for the CLI (the first words of their arguments).
    static let forwardable: [[String]] = [
        ["vault", "hold"], ["vault", "retention"], ["vault", "erase"], ["vault", "export"], ["vault", "read"],
        ["vault", "ingest"], ["vault", "list"], ["vault", "erase-subject"], ["vault", "unmask-request"],
        ["vault", "unmask"], ["audit", "checkpoint"], ["audit", "show"], ["audit", "verify"],
    ]

    struct Request: Codable {
        var arguments: [String]
        var state: String
    }

    struct Answer: Codable {
        var status: Int32
        var output: String
        var errors: String
    }

    /// What a forwarded command opens instead of the vault: the gateway's.
    struct SharedVault: Sendable {
        var state: String
        var vault: Vault
        var policy: @Sendable () -> CompiledPolicy
    }

    /// Set while a forwarded command runs (``VaultLocation/open(mode:)`` reads it).
    @TaskLocal static var serving: SharedVault?

    let shared: SharedVault
    let path: String
    let logger: Logger
    private let stopping = Mutex(false)

    init(state: String, vault: Vault, policy: @escaping @Sendable () -> CompiledPolicy, logger: Logger) {
        let state = Self.absolute(state)
        shared = SharedVault(state: state, vault: vault, policy: policy)
        path = (state as NSString).appendingPathComponent(Self.fileName)
        self.logger = logger
    }

    static func absolute(_ path: String) -> String {
        let absolute =
            path.hasPrefix("/")
            ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        return (absolute as NSString).standardizingPath
    }

    func run() async throws {
        let listener = try listen()
        defer {
            close(listener)
            unlink(path)
        }
        await withGracefulShutdownHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                // Accepting blocks: a thread of its own, polling so that shutdown is noticed within half a second.
                let thread = Thread { [self] in
                    acceptLoop(listener)
                    done.resume()
                }
                thread.name = "veilgate-control"
                thread.start()
            }
        } onGracefulShutdown: {
            self.stopping.withLock { $0 = true }
        }
    }

    private func listen() throws -> Int32 {
        unlink(path)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ValidationError("cannot create the control socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw ValidationError("the state folder's path is too long for its control socket: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        // Made 0600 from the start: nobody else may connect even for a moment.
        let previous = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        umask(previous)
        guard bound == 0, Glibc.listen(descriptor, 8) == 0 else {
            close(descriptor)
            throw ValidationError("cannot listen on \(path)")
        }
        return descriptor
    }

    private func acceptLoop(_ listener: Int32) {
        while !stopping.withLock({ $0 }) {
            var ready = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 500) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            guard Self.peerMayControl(connection), let request = Self.readRequest(connection) else {
                close(connection)
                continue
            }
            Task { await self.serve(request, on: connection) }
        }
    }

    /// The peer runs as the gateway's user or as root.
    static func peerMayControl(_ connection: Int32) -> Bool {
        var credentials = PeerCredentials()
        var size = socklen_t(MemoryLayout<PeerCredentials>.size)
        guard getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &credentials, &size) == 0 else { return false }
        return credentials.uid == 0 || credentials.uid == geteuid()
    }

    /// `struct ucred` (Linux, SO_PEERCRED), which the Glibc module leaves out without _GNU_SOURCE.
    struct PeerCredentials {
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
    }

    static func readRequest(_ connection: Int32) -> Request? {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while data.count < 256 * 1024 {
            let count = read(connection, &buffer, buffer.count)
            if count <= 0 { break }
            data.append(contentsOf: buffer[0..<count])
        }
        return try? JSONDecoder().decode(Request.self, from: data)
    }

    private func serve(_ request: Request, on connection: Int32) async {
        defer { close(connection) }
        let answer = await run(request)
        logger.notice(
            "control socket: command run for the CLI",
            metadata: [
                "command": "\(request.arguments.prefix(2).joined(separator: " "))", "status": "\(answer.status)",
            ])
        guard let data = try? JSONEncoder().encode(answer) else { return }
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(connection, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    func run(_ request: Request) async -> Answer {
        guard Self.absolute(request.state) == shared.state else {
            return Answer(
                status: 1, output: "",
                errors: "error: the running gateway keeps the state folder \(shared.state), not \(request.state)\n")
        }
        guard Self.forwardable.contains(where: { request.arguments.starts(with: $0) }) else {
            return Answer(
                status: 64, output: "", errors: "error: a running gateway does not run this command for the CLI\n")
        }
        let captured = CapturedOutput()
        var status: Int32 = 0
        await CommandOutput.$captured.withValue(captured) {
            await Self.$serving.withValue(shared) {
                do {
                    var command = try Veilgate.parseAsRoot(request.arguments)
                    if var asynchronous = command as? any AsyncParsableCommand {
                        try await asynchronous.run()
                    } else {
                        try command.run()
                    }
                } catch {
                    status = Veilgate.exitCode(for: error).rawValue
                    let message = Veilgate.fullMessage(for: error)
                    if !message.isEmpty { printError(message) }
                }
            }
        }
        return Answer(
            status: status, output: captured.standardOutput.withLock { $0 },
            errors: captured.standardError.withLock { $0 })
    }
}

/// The CLI's side: a command that found the vault held by a running gateway sends itself there.
enum ControlClient {
    /// Options whose value is a path: made absolute before the command is sent (the gateway runs elsewhere).
    static let pathOptions: Set<String> = [
        "-o", "--output", "--policy", "--state", "--certs", "--recipient", "--public-key", "--anchor", "--key",
        "--detections", "--approval", "--request-file",
    ]

    /// Runs this process's command in the gateway holding `state`, prints what it printed, and returns its exit code;
    /// nil when no gateway answers there.
    static func forward(state: String) -> ExitCode? {
        let socketPath = (ControlSocket.absolute(state) as NSString).appendingPathComponent(ControlSocket.fileName)
        guard FileManager.default.fileExists(atPath: socketPath) else { return nil }
        var arguments: [String] = []
        var previous = ""
        var hasState = false
        for argument in CommandLine.arguments.dropFirst() {
            if pathOptions.contains(previous) || (!argument.hasPrefix("-") && isExistingRelativePath(argument)) {
                arguments.append(ControlSocket.absolute(argument))
            } else if let equals = argument.firstIndex(of: "="), pathOptions.contains(String(argument[..<equals])) {
                arguments.append(
                    String(argument[..<equals]) + "=" + ControlSocket.absolute(String(argument[equals...].dropFirst())))
            } else {
                arguments.append(argument)
            }
            if argument == "--state" || argument.hasPrefix("--state=") { hasState = true }
            previous = argument
        }
        if !hasState { arguments += ["--state", ControlSocket.absolute(state)] }
        guard
            let answer = exchange(
                ControlSocket.Request(arguments: arguments, state: ControlSocket.absolute(state)), at: socketPath)
        else { return nil }
        FileHandle.standardError.write(Data("(the vault is held by the running gateway: it ran this command)\n".utf8))
        FileHandle.standardOutput.write(Data(answer.output.utf8))
        FileHandle.standardError.write(Data(answer.errors.utf8))
        return ExitCode(answer.status)
    }

    static func isExistingRelativePath(_ argument: String) -> Bool {
        !argument.hasPrefix("/") && argument.contains("/") && FileManager.default.fileExists(atPath: argument)
            || (!argument.hasPrefix("/") && argument.contains(".") && FileManager.default.fileExists(atPath: argument))
    }

    static func exchange(_ request: ControlSocket.Request, at path: String) -> ControlSocket.Answer? {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0, let data = try? JSONEncoder().encode(request) else { return nil }
        let sent = data.withUnsafeBytes { write(descriptor, $0.baseAddress!, $0.count) }
        guard sent == data.count else { return nil }
        shutdown(descriptor, Int32(SHUT_WR))
        var answer = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count <= 0 { break }
            answer.append(contentsOf: buffer[0..<count])
        }
        return try? JSONDecoder().decode(ControlSocket.Answer.self, from: answer)
    }
}
