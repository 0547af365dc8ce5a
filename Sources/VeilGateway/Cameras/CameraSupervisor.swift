import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
import VeilCore
public import VeilPolicy

/// Runs one ``CameraPipeline`` per camera the policy in force has the gateway ingest, and follows policy reloads:
/// a camera the new policy adds starts, one it drops stops (what it recorded so far goes into the vault first), and
/// one whose source or recording changed restarts — so a DPO who stops a camera's recording or sharing does not
/// wait for a restart of the gateway.
///
/// A replacement starts only once the pipeline it replaces has finished (one connection to the camera, one writer
/// of its live segments at a time), and shutdown — graceful or a cancelled service group — waits for every
/// pipeline, stopping ones included, so their last recordings are stored.
public struct CameraSupervisor: Service {
    /// The pipelines a policy calls for (with warnings about cameras it cannot ingest).
    let pipelines: @Sendable (CompiledPolicy, _ warn: (String) -> Void) throws -> [CameraPipeline]
    /// The first set, resolved at start-up (its warnings already printed).
    let initial: [CameraPipeline]
    /// Reloads arrive from here (``PolicyReloader`` swaps them in on SIGHUP).
    let updates: AsyncStream<PolicyInForce.Snapshot>
    /// The version the initial set was resolved under.
    let initialVersion: String
    let feeds: any LiveSegmentSink
    let logger: Logger

    /// Subscribes to `policy` at once, so no reload after this is missed.
    public init(
        pipelines: @escaping @Sendable (CompiledPolicy, _ warn: (String) -> Void) throws -> [CameraPipeline],
        initial: [CameraPipeline], policy: PolicyInForce, feeds: any LiveSegmentSink, logger: Logger
    ) {
        self.pipelines = pipelines
        self.initial = initial
        updates = policy.updates()
        initialVersion = policy.policy.version
        self.feeds = feeds
        self.logger = logger
    }

    /// Every pipeline task, current or stopping: cancelled together when the service is (a plain `Task` inherits
    /// graceful shutdown but not cancellation).
    private final class Tasks: Sendable {
        let all = Mutex<[Task<Void, Never>]>([])
        func add(_ task: Task<Void, Never>) { all.withLock { $0.append(task) } }
        func cancelAll() { all.withLock { $0.forEach { $0.cancel() } } }
        func waitForAll() async { for task in all.withLock({ $0 }) { await task.value } }
    }

    private struct Running {
        var fingerprint: String
        var task: Task<Void, Never>
    }

    public func run() async throws {
        let tasks = Tasks()
        await withTaskCancellationHandler {
            var running: [CameraID: Running] = [:]
            var stopping: [CameraID: Task<Void, Never>] = [:]
            var version: String?
            apply(initial, to: &running, stopping: &stopping, tasks: tasks)
            for await snapshot in updates.cancelOnGracefulShutdown() {
                let policy = snapshot.policy
                // A revocation alone changes nothing here; a policy of the same version is the same policy.
                guard policy.version != version ?? initialVersion else { continue }
                version = policy.version
                do {
                    let logger = self.logger
                    let wanted = try pipelines(policy) { logger.warning("\($0)") }
                    apply(wanted, to: &running, stopping: &stopping, tasks: tasks)
                } catch {
                    logger.error(
                        "cameras of the reloaded policy cannot be resolved; pipelines unchanged",
                        metadata: ["error": "\(error)"])
                }
            }
            await tasks.waitForAll()
        } onCancel: {
            tasks.cancelAll()
        }
    }

    /// `stopping`: cameras being stopped (their pipeline finishing, then their live feed retired); one that comes
    /// back waits for that first.
    private func apply(
        _ wanted: [CameraPipeline], to running: inout [CameraID: Running],
        stopping: inout [CameraID: Task<Void, Never>], tasks: Tasks
    ) {
        let byCamera = Dictionary(wanted.map { ($0.camera, $0) }, uniquingKeysWith: { first, _ in first })
        var replaced: [CameraID: Task<Void, Never>] = [:]
        for (camera, current) in running where byCamera[camera]?.fingerprint != current.fingerprint {
            current.task.cancel()  // the pipeline stores what it recorded before it ends
            running[camera] = nil
            if byCamera[camera] == nil {
                let feeds = self.feeds
                let retiring = Task {
                    await current.task.value
                    feeds.retire(camera: camera)
                }
                tasks.add(retiring)
                stopping[camera] = retiring
                logger.notice(
                    "camera no longer ingested under the policy in force", metadata: ["camera": "\(camera.rawValue)"])
            } else {
                replaced[camera] = current.task
                logger.notice(
                    "camera restarted: its source or recording changed", metadata: ["camera": "\(camera.rawValue)"])
            }
        }
        for camera in byCamera.keys.sorted() where running[camera] == nil {
            let pipeline = byCamera[camera]!
            let previous = replaced[camera] ?? stopping.removeValue(forKey: camera), feeds = self.feeds,
                logger = self.logger
            let task = Task {
                if let previous {
                    await previous.value
                    feeds.interrupt(camera: camera)  // the new pipeline numbers its segments afresh
                }
                guard !Task.isCancelled else { return }
                feeds.open(camera: camera)
                do { try await pipeline.run() } catch {
                    logger.error(
                        "camera pipeline ended", metadata: ["camera": "\(camera.rawValue)", "error": "\(error)"])
                }
            }
            tasks.add(task)
            running[camera] = Running(fingerprint: pipeline.fingerprint, task: task)
        }
    }
}
