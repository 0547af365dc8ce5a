import Foundation
import Logging
import ServiceLifecycle
import VeilCore
import VeilFederation
import VeilPolicy

/// Runs one ``CameraPipeline`` per camera the policy in force has the gateway ingest, and follows policy reloads:
/// a camera the new policy adds starts, one it drops stops (what it recorded so far goes into the vault first), and
/// one whose source or recording changed restarts — so a DPO who stops a camera's recording or sharing does not
/// wait for a restart of the gateway.
struct CameraSupervisor: Service {
    /// The pipelines a policy calls for (with warnings about cameras it cannot ingest).
    let pipelines: @Sendable (CompiledPolicy, _ warn: (String) -> Void) throws -> [CameraPipeline]
    /// The first set, resolved at start-up (its warnings already printed).
    let initial: [CameraPipeline]
    let verifier: PeerVerifier
    let feeds: LiveFeeds
    let logger: Logger
    /// How often the policy in force is looked at (reloads happen on SIGHUP, in ``PolicyReloader``).
    var interval: Duration = .seconds(1)

    private struct Running {
        var fingerprint: String
        var task: Task<Void, Never>
    }

    func run() async throws {
        var running: [CameraID: Running] = [:]
        var version = verifier.current.authority.policyVersion
        apply(initial, to: &running)
        while !Task.isCancelledOrShuttingDown {
            try? await gracefulSleep(for: interval)
            let authority = verifier.current.authority
            guard authority.policyVersion != version, let policy = authority as? CompiledPolicy else { continue }
            version = authority.policyVersion
            do {
                let logger = self.logger
                let wanted = try pipelines(policy) { logger.warning("\($0)") }
                apply(wanted, to: &running)
            } catch {
                logger.error("cameras of the reloaded policy cannot be resolved; pipelines unchanged", metadata: ["error": "\(error)"])
            }
        }
        // Graceful shutdown reaches every pipeline too (the tasks inherit it): wait for their recordings to be stored.
        for camera in running.keys.sorted() { await running[camera]!.task.value }
    }

    private func apply(_ wanted: [CameraPipeline], to running: inout [CameraID: Running]) {
        let byCamera = Dictionary(wanted.map { ($0.camera, $0) }, uniquingKeysWith: { first, _ in first })
        for (camera, current) in running where byCamera[camera]?.fingerprint != current.fingerprint {
            current.task.cancel()  // the pipeline stores what it recorded before it ends
            running[camera] = nil
            if byCamera[camera] == nil {
                feeds.retire(camera: camera)
                logger.notice("camera no longer ingested under the policy in force", metadata: ["camera": "\(camera.rawValue)"])
            } else {
                feeds.interrupt(camera: camera)  // the new pipeline numbers its segments afresh
                logger.notice("camera restarted: its source or recording changed", metadata: ["camera": "\(camera.rawValue)"])
            }
        }
        for camera in byCamera.keys.sorted() where running[camera] == nil {
            let pipeline = byCamera[camera]!
            feeds.open(camera: camera)
            let logger = self.logger
            running[camera] = Running(fingerprint: pipeline.fingerprint, task: Task {
                do { try await pipeline.run() } catch {
                    logger.error("camera pipeline ended", metadata: ["camera": "\(camera.rawValue)", "error": "\(error)"])
                }
            })
        }
    }
}
