public import Foundation
public import VeilCore

// What the console shows and changes, as protocols the gateway implements over the policy in force, the live feeds,
// the alert journal and the vault (VeilConsole imports no other feature target).

/// Who the console's operators are: the `operators:` of the policy in force, and the site's revocation list.
public protocol OperatorDirectory: Sendable {
    /// The roles the policy in force gives `id`; empty when it does not list the name.
    func roles(of id: OperatorID) -> Set<OperatorRole>
    /// Whether the site revoked the certificate with this serial (lower-case hex).
    func isRevoked(serial: String) -> Bool
    /// The site's name and the version of the policy in force, for the page header.
    var site: String { get }
    var policyVersion: String { get }
    /// The site's map tiles for the cameras page, from the policy's `metadata.map`; nil for none.
    var map: ConsoleSiteMap? { get }
}

extension OperatorDirectory {
    public var map: ConsoleSiteMap? { nil }
}

/// Where the camera map's background comes from: the site's own tile server.
public struct ConsoleSiteMap: Sendable, Codable, Equatable {
    /// An https URL template with `{z}`, `{x}`, `{y}`.
    public var tiles: String
    public var attribution: String
    /// The tiles' origin, which the content security policy lets images come from.
    public var origin: String
    public init(tiles: String, attribution: String, origin: String) {
        self.tiles = tiles
        self.attribution = attribution
        self.origin = origin
    }
}

/// One camera as the console lists it: what it is, what runs on it, and the zones and lines drawn over its video.
public struct ConsoleCamera: Sendable, Codable, Equatable {
    public struct Zone: Sendable, Codable, Equatable {
        public var id: String
        /// Normalised `[x, y]` corners.
        public var polygon: [[Double]]
        public init(id: String, polygon: [[Double]]) {
            self.id = id
            self.polygon = polygon
        }
    }

    public struct Line: Sendable, Codable, Equatable {
        public var id: String
        public var from: [Double]
        public var to: [Double]
        public init(id: String, from: [Double], to: [Double]) {
            self.id = id
            self.from = from
            self.to = to
        }
    }

    public var id: String
    public var description: String
    /// The gateway runs a pipeline for it (its video can be watched).
    public var hasPipeline: Bool
    /// The analytics running on it (policy kinds).
    public var analytics: [String]
    /// What its live video hides, e.g. `faces+plates blur ellipse`.
    public var redaction: String
    public var zones: [Zone]
    public var lines: [Line]
    /// The pipeline's feed now: `connecting`, `streaming` or `unavailable`; nil without a pipeline.
    public var state: String?
    /// Frames processed per second over the last five seconds.
    public var framesPerSecond: Double?
    /// When the detectors last ran on its frames.
    public var lastDetection: Date?
    /// How many objects (people, faces, plates) the tracker follows in the newest frame: a count, never who.
    public var objectsInView: Int?
    /// Where it stands, `[latitude, longitude]` (WGS 84), and which way it looks (degrees from north).
    public var position: [Double]?
    public var heading: Double?

    public init(
        id: String, description: String, hasPipeline: Bool, analytics: [String], redaction: String, zones: [Zone],
        lines: [Line]
    ) {
        self.id = id
        self.description = description
        self.hasPipeline = hasPipeline
        self.analytics = analytics
        self.redaction = redaction
        self.zones = zones
        self.lines = lines
    }
}

/// One fragment of a camera's live video (fragmented MP4, starting with a keyframe).
public struct ConsoleLiveSegment: Sendable, Codable, Equatable {
    public var sequence: Int
    public var duration: Double
    public init(sequence: Int, duration: Double) {
        self.sequence = sequence
        self.duration = duration
    }
}

/// A camera's live video as operators watch it: redacted with the camera's default profile, like its recording.
public enum ConsoleLive: Sendable, Equatable {
    /// No pipeline runs for the camera.
    case noPipeline
    /// The rendition is starting (or the camera reconnecting): no segment yet.
    case warmingUp
    /// The initialisation segment and the newest segments, oldest first.
    case ready(initSegment: Data, segments: [ConsoleLiveSegment])
}

/// The cameras and their live video.
public protocol ConsoleCameras: Sendable {
    func cameras() -> [ConsoleCamera]
    /// Asking records demand: the camera's pipeline makes the rendition while someone watches.
    func live(camera: CameraID) -> ConsoleLive
    func liveSegment(camera: CameraID, sequence: Int) -> Data?
    /// An alert's snapshot (a redacted JPEG), if the vault keeps it and it is at least as redacted as the camera's
    /// default profile.
    func snapshot(_ reference: String, camera: CameraID) async throws -> Data?
}

/// One finding of the policy linter, positioned in the text that was linted.
public struct ConsoleDiagnostic: Sendable, Codable, Equatable {
    public var severity: String
    public var code: String
    public var message: String
    public var line: Int
    public var column: Int
    public init(severity: String, code: String, message: String, line: Int, column: Int) {
        self.severity = severity
        self.code = code
        self.message = message
        self.line = line
        self.column = column
    }
}

/// The policy in force as a text, its linter, and what it generates.
public protocol ConsolePolicyDesk: Sendable {
    /// The file the policy in force came from, its YAML and its version.
    func policyInForce() throws -> (file: String, text: String, version: String)
    /// Lints a draft exactly as `veilgate policy lint` would, positions in the draft.
    func lint(_ text: String) -> [ConsoleDiagnostic]
    /// The record of processing (GDPR Art. 30) generated from the policy in force, as Markdown.
    func recordOfProcessing() -> String
    /// What a draft changes against the policy in force, as `veilgate policy diff` prints it (what each partner gains
    /// or loses, each camera's recording, retention, analytics, zones and audio, the site's operators and holds); nil
    /// when the draft has errors (its diagnostics say which).
    func diff(_ text: String) -> String?
    /// The policy in force's text with one camera's zones and lines replaced (the zone editor's proposal), what it
    /// changes, and its lint. Throws ``ConsoleError`` `.refused` when the camera is not in the policy.
    func withGeometry(
        camera: CameraID, zones: [ConsoleCamera.Zone], lines: [ConsoleCamera.Line]
    ) throws
        -> ConsoleDraft
    /// The policy in force: who signed it, when it was put in force, whether only signed bundles are loaded.
    func deployment() -> ConsoleDeployment
    /// Reads the policy from disk again, as on SIGHUP (a signed bundle where the gateway requires one), and says what
    /// happened; `actor` is who asked.
    func reload(by actor: String) async -> ConsoleReload
    /// Deploys a signed bundle handed over as files (name → contents): checked against the DPO key, put in place of
    /// the bundle on disk and loaded as on SIGHUP; the files before it are put back when it is refused. Throws
    /// ``ConsoleError`` `.refused` when the upload is refused before the policy on disk changes.
    func deploy(files: [String: Data], by actor: String) async throws -> ConsoleReload
    /// Runs the DPO's policy tests of the policy folder (`veilgate policy test`) against a draft.
    func test(_ text: String) -> ConsolePolicyTestRun
}

/// The DPO's policy tests run against a draft: each case and whether the draft decides as it expects.
public struct ConsolePolicyTestRun: Sendable, Codable, Equatable {
    public struct Case: Sendable, Codable, Equatable {
        public var file: String
        public var name: String
        public var line: Int
        public var passed: Bool
        public var failures: [String]
        public init(file: String, name: String, line: Int, passed: Bool, failures: [String]) {
            self.file = file
            self.name = name
            self.line = line
            self.passed = passed
            self.failures = failures
        }
    }

    /// The test files found beside the policy in force.
    public var files: [String]
    public var cases: [Case]
    /// Why nothing ran (the draft has errors, a test file does not load); nil when the tests ran.
    public var problem: String?
    public init(files: [String], cases: [Case], problem: String?) {
        self.files = files
        self.cases = cases
        self.problem = problem
    }
}

/// The policy in force and how it got there.
public struct ConsoleDeployment: Sendable, Codable, Equatable {
    public var version: String
    /// SHA-256 of the DPO key that signed the bundle; nil when it was not signed.
    public var signer: String?
    public var loadedAt: Date
    /// Only bundles signed with the DPO's key are loaded (`serve --policy-key`).
    public var requiresSignature: Bool
    public init(version: String, signer: String?, loadedAt: Date, requiresSignature: Bool) {
        self.version = version
        self.signer = signer
        self.loadedAt = loadedAt
        self.requiresSignature = requiresSignature
    }
}

/// What a reload did: the version now in force, or why the one in force stays.
public struct ConsoleReload: Sendable, Codable, Equatable {
    public var loaded: Bool
    public var deployment: ConsoleDeployment
    public var message: String?
    public init(loaded: Bool, deployment: ConsoleDeployment, message: String?) {
        self.loaded = loaded
        self.deployment = deployment
        self.message = message
    }
}

/// A draft policy the console made, with what it changes and its lint: for the DPO to review, download and sign.
public struct ConsoleDraft: Sendable, Codable, Equatable {
    public var file: String
    public var text: String
    /// Nil when the draft has errors.
    public var diff: String?
    public var diagnostics: [ConsoleDiagnostic]
    public init(file: String, text: String, diff: String?, diagnostics: [ConsoleDiagnostic]) {
        self.file = file
        self.text = text
        self.diff = diff
        self.diagnostics = diagnostics
    }
}

/// One entry of the audit log as the console lists it: ids and rule ids, never personal data.
public struct ConsoleAuditEntry: Sendable, Codable, Equatable {
    public var sequence: Int64
    public var time: Date
    public var action: String
    public var actor: String
    public var subject: String
    public var rules: [String]
    public init(sequence: Int64, time: Date, action: String, actor: String, subject: String, rules: [String]) {
        self.sequence = sequence
        self.time = time
        self.action = action
        self.actor = actor
        self.subject = subject
        self.rules = rules
    }
}

/// Whether the audit log's chain and signed checkpoints verify.
public struct ConsoleAuditStatus: Sendable, Codable, Equatable {
    public var entries: Int
    public var checkpoints: Int
    public var intact: Bool
    public var problems: [String]
    public init(entries: Int, checkpoints: Int, intact: Bool, problems: [String]) {
        self.entries = entries
        self.checkpoints = checkpoints
        self.intact = intact
        self.problems = problems
    }
}

/// The tamper-evident audit log.
public protocol ConsoleAuditDesk: Sendable {
    /// Entries after `sequence`, oldest first.
    func entries(after sequence: Int64, limit: Int) throws -> [ConsoleAuditEntry]
    func verify() throws -> ConsoleAuditStatus
}

/// An operator's acknowledgement of an alert, with their note.
public struct ConsoleAcknowledgement: Sendable, Codable, Equatable {
    public var time: Date
    public var by: String
    public var note: String?
    public init(time: Date, by: String, note: String?) {
        self.time = time
        self.by = by
        self.note = note
    }
}

/// Operators' acknowledgements of alerts: kept with the alerts (and gone with them), audited without the note.
public protocol ConsoleAlertDesk: Sendable {
    /// False when the alert is no longer kept.
    func acknowledge(_ sequence: Int64, by actor: String, note: String?) async throws -> Bool
    func acknowledgements(of sequences: [Int64]) throws -> [Int64: ConsoleAcknowledgement]
}
