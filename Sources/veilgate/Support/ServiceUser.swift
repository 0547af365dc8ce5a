import ArgumentParser
import Foundation
import ServiceLifecycle
import Synchronization

/// `serve --user NAME`: a gateway started as root (to bind a port below 1024, or by an init system without
/// systemd's `User=`) gives root up for good once its listeners are bound, before any camera, sweep or reload
/// runs. What it made as root before that (the vault's index, the alert journal) is handed to the user first,
/// so the unprivileged process can go on writing its own state.
struct ServiceUser: Sendable {
    let name: String
    let uid: uid_t
    let gid: gid_t

    static func resolve(_ name: String) throws -> ServiceUser {
        guard let entry = getpwnam(name) else { throw ValidationError("--user \(name): no such user on this machine") }
        let user = ServiceUser(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
        guard user.uid != 0 else {
            throw ValidationError("--user \(name) is root (uid 0): name an unprivileged user such as veilgate")
        }
        return user
    }

    /// The state folder must already be the user's: the gateway hands over only what it creates inside it,
    /// never takes a folder someone else owns.
    func requireOwnership(of folder: String) throws {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: folder) else {
            throw ValidationError("\(folder) does not exist; create it (veilgate vault init) and chown -R \(name): it")
        }
        let owner = (attributes[.ownerAccountID] as? NSNumber)?.uint32Value
        guard owner == uid, attributes[.type] as? FileAttributeType == .typeDirectory else {
            throw ValidationError(
                "\(folder) must be a folder owned by \(name) (uid \(uid)), not uid \(owner.map(String.init) ?? "?"): run chown -R \(name): \(folder)"
            )
        }
    }

    /// Gives root-owned files inside `folder`, and the listed files, to the user. Links are changed, never followed.
    /// - Returns: how many entries changed owner.
    @discardableResult
    func handOver(folder: String, files: [String]) -> Int {
        var paths = files
        if let entries = FileManager.default.enumerator(atPath: folder) {
            for case let entry as String in entries { paths.append((folder as NSString).appendingPathComponent(entry)) }
        }
        var changed = 0
        for path in paths {
            // attributesOfItem does not follow a final link (lstat).
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                (attributes[.ownerAccountID] as? NSNumber)?.uint32Value == 0
            else { continue }
            if lchown(path, uid, gid) == 0 { changed += 1 }
        }
        return changed
    }

    /// Gives up root: supplementary groups, group, then user (glibc applies each to every thread of the process).
    /// Checked afterwards: a process that could become root again refuses to go on.
    func drop() throws {
        var groups = [gid]
        guard setgroups(1, &groups) == 0, setgid(gid) == 0, setuid(uid) == 0 else {
            throw ValidationError("cannot drop privileges to \(name): \(String(cString: strerror(errno)))")
        }
        guard getuid() == uid, geteuid() == uid, getgid() == gid, getegid() == gid, setuid(0) != 0 else {
            throw ValidationError("privileges were not dropped completely to \(name)")
        }
    }
}

/// Opens once the gateway listens and has given up root; the services that write state wait for it, so that none of
/// their files is made as root.
final class PrivilegeGate: Sendable {
    private let opened = Mutex(false)

    func open() { opened.withLock { $0 = true } }

    var isOpen: Bool { opened.withLock { $0 } }

    /// Runs `service` once the gate opens; returns without running it if the gateway shuts down first.
    func after(_ service: any Service) -> any Service { GatedService(inner: service, gate: self) }

    private struct GatedService: Service {
        let inner: any Service
        let gate: PrivilegeGate

        func run() async throws {
            while !gate.isOpen {
                if Task.isShuttingDownGracefully { return }
                try await Task.sleep(for: .milliseconds(20))
            }
            try await inner.run()
        }
    }
}
