import ArgumentParser
import Foundation
import VeilAlerts
import VeilCore
import VeilFederation
import VeilPolicy
import VeilVault

/// `veilgate vault …`: the encrypted retention vault.
struct VaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vault",
        abstract: "Keep recordings encrypted, only as long as the policy allows; holds, erasure and signed exports.",
        discussion: """
            Segments are encrypted with libsodium under per-segment keys, wrapped per camera, category and day, \
            wrapped again by the key-encryption key. Expiry and erasure destroy keys (crypto-shredding). \
            See docs/vault.md.
            """,
        subcommands: [
            VaultInitCommand.self, VaultIngestCommand.self, VaultListCommand.self, VaultReadCommand.self,
            VaultRetentionCommand.self, VaultHoldCommand.self, VaultExportCommand.self, VaultVerifyExportCommand.self,
            VaultOpenExportCommand.self, VaultEraseCommand.self, VaultRotateKEKCommand.self,
            VaultApproverKeyCommand.self, VaultUnmaskRequestCommand.self, VaultApproveUnmaskCommand.self,
            VaultUnmaskCommand.self, VaultEraseSubjectCommand.self,
        ]
    )
}

struct VaultInitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the vault folders, the key-encryption key and the gateway signing key (idempotent)."
    )

    @Option(help: ArgumentHelp("The gateway's state folder.", valueName: "dir"))
    var state: String = ProcessInfo.processInfo.environment["VEILGATE_STATE"] ?? "state"

    func run() async throws {
        let configuration = VaultConfiguration.standard(
            stateDirectory: state, environment: ProcessInfo.processInfo.environment)
        let created = try await vaultOperation { try Vault.initialise(configuration) }
        if created.isEmpty { print("vault at \(state) is already initialised") }
        for path in created { print("created \(path)") }
        print(
            "keep \(configuration.keystoreDirectory) out of backups of \(configuration.vaultDirectory): expiry destroys its keys"
        )
    }
}

struct VaultIngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Store a media file as a segment (what the pipeline does for each recorded segment)."
    )

    @OptionGroup var location: VaultLocation

    @Argument(help: ArgumentHelp("The media file.", valueName: "file"))
    var file: String

    @Option(help: "The camera id.")
    var camera: String

    @Option(help: "The data category: redacted-video or raw-video.")
    var category: String = DataCategory.redactedVideo.rawValue

    @Option(help: ArgumentHelp("When the segment starts (ISO 8601); default now.", valueName: "time"))
    var start: String?

    @Option(help: ArgumentHelp("How long the segment lasts.", valueName: "duration"))
    var duration: String = "6s"

    @Option(
        name: .customLong("repeat"),
        help: ArgumentHelp("Store the file this many times as consecutive segments.", valueName: "n"))
    var repeatCount: Int = 1

    func run() async throws {
        guard let category = DataCategory(rawValue: category) else {
            throw ValidationError(
                "--category must be one of: \(DataCategory.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let length = PolicyDuration(parsing: duration) else {
            throw ValidationError("--duration '\(duration)' is not a duration")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("\(file): cannot read")
        }
        let (vault, policy) = try await location.open()
        let container = (file as NSString).pathExtension.isEmpty ? "bin" : (file as NSString).pathExtension.lowercased()
        var startTime = try parseTime(start, option: "--start")
        // What the camera pipeline records each category with: original footage and sound as they came.
        let redaction = category == .redactedVideo ? policy.defaultRedaction : RedactionSpec.unredacted
        for _ in 0..<max(1, repeatCount) {
            let descriptor = SegmentDescriptor(
                camera: CameraID(camera), category: category, start: startTime,
                end: startTime.addingTimeInterval(Double(length.seconds)), container: container,
                policyVersion: policy.version, redaction: redaction)
            let stored = try await vaultOperation { try await vault.store([UInt8](data), as: descriptor) }
            print("stored segment \(stored.id) (\(stored.size) bytes encrypted)")
            startTime = descriptor.end
        }
    }
}

struct VaultListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Summarise what the vault holds.")

    @OptionGroup var location: VaultLocation

    @Option(help: "List the segments of this camera.")
    var camera: String?

    func run() async throws {
        let (vault, _) = try await location.open(mode: .readOnly)
        if let camera {
            let segments = try await vaultOperation {
                try await vault.segments(camera: CameraID(camera), from: .distantPast, to: .distantFuture)
            }
            for segment in segments {
                print(
                    "\(segment.id)  \(ISO8601DateFormatter.veilgate(segment.descriptor.start))  \(segment.descriptor.category.rawValue)  \(segment.size) bytes"
                )
            }
            print("\(segments.count) segment(s)")
            return
        }
        let summary = try await vaultOperation { try await vault.summary() }
        if summary.isEmpty { print("the vault is empty") }
        for row in summary {
            print(
                "\(row.camera)  \(row.category.rawValue)  \(row.count) segment(s)  \(ISO8601DateFormatter.veilgate(row.from)) – \(ISO8601DateFormatter.veilgate(row.to))"
            )
        }
        let holds = try await vaultOperation { try await vault.holds() }
        if !holds.isEmpty { print("\(holds.count) active legal hold(s): veilgate vault hold list") }
    }
}

struct VaultReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "Decrypt one segment to a file (audited as a view).")

    @OptionGroup var location: VaultLocation

    @Argument(help: "The segment id.")
    var segment: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the plaintext.", valueName: "file"))
    var output: String

    @Option(help: "Who is reading, for the audit log.")
    var actor: String = "operator"

    func run() async throws {
        let (vault, _) = try await location.open()
        // The view is recorded before any plaintext leaves the vault.
        _ = try await vaultOperation { try vault.audit.append(.view, actor: actor, subject: segment) }
        let plaintext = try await vaultOperation { try await vault.read(segment) }
        guard
            FileManager.default.createFile(
                atPath: output, contents: Data(plaintext), attributes: [.posixPermissions: 0o600])
        else {
            throw ValidationError("\(output): cannot write")
        }
        print("wrote \(output) (\(plaintext.count) bytes)")
    }
}

struct VaultRetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Apply the policy's retention rules: destroy what is past retention (keys first).",
        discussion: "With --dry-run, shows what would be destroyed and by which rule, changing nothing."
    )

    @OptionGroup var location: VaultLocation

    @Flag(help: "Show what would be destroyed, and why, without destroying anything.")
    var dryRun = false

    @Option(help: ArgumentHelp("Judge retention at this time instead of now (ISO 8601).", valueName: "time"))
    var at: String?

    func run() async throws {
        let now = try parseTime(at)
        let (vault, policy) = try await location.open()
        let plan = try await vaultOperation { try await vault.retentionPlan(at: now) }
        print("retention at \(ISO8601DateFormatter.veilgate(now)) under policy \(plan.policyVersion):")
        for group in plan.groups {
            let held = group.held > 0 ? ", \(group.held) kept under legal hold" : ""
            print(
                "  \(group.camera)  \(group.category.rawValue): \(group.segmentIDs.count) segment(s) past \(group.duration) (rule \(group.rule))\(held)"
            )
        }
        for bucket in plan.buckets { print("  key \(bucket) will be destroyed with whatever its day still holds") }
        for hold in plan.lapsedHolds { print("  hold \(hold) reached its maximum duration and lapses") }
        for item in plan.tampered { print("  ALTERED: \(item): its index row fails authentication") }
        for item in plan.unscheduled {
            print(
                "  warning: \(item.camera) \(item.category): \(item.count) item(s) with no retention rule in the policy; kept"
            )
        }
        if plan.groups.isEmpty && plan.buckets.isEmpty && plan.lapsedHolds.isEmpty {
            print("  nothing is past retention")
        }
        guard !dryRun else {
            print("dry run: nothing destroyed")
            return
        }
        let report = try await vaultOperation { try await vault.apply(plan) }
        // Alerts and counts are kept in the alert journal, under the same schedule (as the running gateway's sweep
        // does).
        let journalPath = location.state + "/alerts.sqlite"
        let alerts =
            FileManager.default.fileExists(atPath: journalPath)
            ? try await alertsOperation { try AlertJournal(path: journalPath).applyRetention(policy, now: now) } : 0
        print(
            "destroyed \(report.segmentsDestroyed) segment(s), \(report.keysDestroyed) bucket key(s); deleted \(alerts) alert(s)"
        )
        if !report.tampered.isEmpty {
            printError(
                "warning: \(report.tampered.count) altered index row(s) skipped and audited; investigate them (everything else due was destroyed)"
            )
        }
    }
}

struct VaultEraseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "Erase a camera's footage in a range (GDPR Art. 17): destroy its keys and files, and record it."
    )

    @OptionGroup var location: VaultLocation
    @OptionGroup var range: CameraRange
    @Option(help: "Who erases, for the audit log.") var actor: String = "operator"

    func run() async throws {
        let (vault, _) = try await location.open()
        let (camera, start, end) = try range.parsed()
        let count = try await vaultOperation { try await vault.erase(camera: camera, from: start, to: end, by: actor) }
        print("erased \(count) segment(s) of \(camera); their keys are destroyed")
    }
}

struct VaultRotateKEKCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-kek",
        abstract:
            "Replace the key-encryption key: rewrap every bucket key and re-authenticate the index (gateway stopped).",
        discussion: """
            Afterwards the old key opens nothing in the keystore. With a key file, the new key is written beside it \
            (kek.key.next) and replaces it at the end; if the rotation is interrupted, the vault stays closed until this \
            command is run again, which finishes it. With the key in $VEILGATE_KEK, put the new key in $VEILGATE_NEW_KEK \
            and switch the service to it afterwards. See docs/operations.md.
            """
    )

    @Option(help: ArgumentHelp("The gateway's state folder.", valueName: "dir"))
    var state: String = ProcessInfo.processInfo.environment["VEILGATE_STATE"] ?? "state"

    @Option(help: "Who rotates, for the audit log.") var actor: String = "operator"

    func run() async throws {
        let configuration = VaultConfiguration.standard(
            stateDirectory: state, environment: ProcessInfo.processInfo.environment)
        let report = try await vaultOperation { try Vault.rotateKeyEncryptionKey(configuration, by: actor) }
        if report.resumed { print("finished an interrupted rotation") }
        print(
            "rewrapped \(report.keysRewrapped) key(s) and re-authenticated \(report.rowsReauthenticated) index row(s) under the new key-encryption key"
        )
        if report.rowsLeftInvalid > 0 {
            printError(
                "warning: \(report.rowsLeftInvalid) index row(s) verify under neither key (edited by hand) and stay refused; see `veilgate vault retention`"
            )
        }
        print("the new key is in \(report.newKeyLocation); the old key opens nothing in the keystore now")
        print(
            "back up the new key as you did the old one; keystore backups made before today still open with the old key (keep none)"
        )
    }
}
