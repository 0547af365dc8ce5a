import Foundation
import VeilAlerts
import VeilAnalytics
import VeilConsole
import VeilCore
import VeilFederation
import VeilPolicy
import VeilVault
import X509

// The console's sources (VeilConsole's protocols) over the gateway's parts: the policy in force, the live feeds, the
// vault's snapshots and audit log.

/// Operators and their roles from the policy in force; revocations from the trust the partner API uses too.
struct PolicyOperatorDirectory: OperatorDirectory {
    let policy: PolicyInForce
    let verifier: PeerVerifier

    func roles(of id: OperatorID) -> Set<OperatorRole> { policy.policy.roles(of: id) }
    func isRevoked(serial: String) -> Bool { verifier.current.revokedSerials.contains(serial) }
    var site: String { policy.policy.document.metadata.site }
    var policyVersion: String { policy.policy.version }
    var map: ConsoleSiteMap? {
        guard let map = policy.policy.document.metadata.map, let origin = map.origin else { return nil }
        return ConsoleSiteMap(tiles: map.tiles, attribution: map.attribution, origin: origin)
    }
}

/// The policy's cameras and their live video, redacted with the policy's default profile — what the recording keeps,
/// never less.
struct GatewayConsoleCameras: ConsoleCameras {
    let policy: PolicyInForce
    let live: LiveFeeds
    let status: CameraStatusBoard
    let snapshots: any AlertSnapshotStore

    func cameras() -> [ConsoleCamera] {
        let policy = self.policy.policy
        let running = Set(live.cameras)
        func point(_ point: NormalisedPoint) -> [Double] { [point.x, point.y] }
        return policy.document.cameras.map { camera in
            var listed = ConsoleCamera(
                id: camera.id.rawValue, description: camera.description, hasPipeline: running.contains(camera.id),
                analytics: camera.analytics.map(\.rawValue), redaction: policy.defaultRedaction.description,
                zones: camera.zones.map { .init(id: $0.id.rawValue, polygon: $0.polygon.map(point)) },
                lines: camera.lines.map { .init(id: $0.id.rawValue, from: point($0.from), to: point($0.to)) })
            if let position = camera.position {
                listed.position = [position.latitude, position.longitude]
                listed.heading = position.heading
            }
            if let now = status.status(of: camera.id) {
                listed.state = now.state
                listed.framesPerSecond = now.framesPerSecond
                listed.lastDetection = now.lastDetection
                listed.objectsInView = now.objectsInView
            }
            return listed
        }
    }

    func live(camera: CameraID) -> ConsoleLive {
        let redaction = policy.policy.defaultRedaction
        switch live.request(camera: camera, redaction: redaction) {
        case .noPipeline: return .noPipeline
        case .warmingUp: return .warmingUp
        case .ready(_, let segments):
            guard let initSegment = live.initSegment(camera: camera, redaction: redaction) else { return .warmingUp }
            return .ready(
                initSegment: initSegment,
                segments: segments.map { ConsoleLiveSegment(sequence: $0.sequence, duration: $0.duration) })
        }
    }

    func liveSegment(camera: CameraID, sequence: Int) -> Data? {
        live.segment(camera: camera, redaction: policy.policy.defaultRedaction, sequence: sequence)?.bytes
    }

    func snapshot(_ reference: String, camera: CameraID) async throws -> Data? {
        try await snapshots.snapshot(reference, camera: camera, required: policy.policy.defaultRedaction)
    }
}

/// The policy file the gateway loaded, the linter, and the record of processing of the policy in force.
struct PolicyFileDesk: ConsolePolicyDesk {
    let policyPath: String
    let policy: PolicyInForce
    let reloader: PolicyReloader
    let upload: PolicyUpload

    func deployment() -> ConsoleDeployment {
        let now = policy.current
        return ConsoleDeployment(
            version: now.policy.version, signer: now.signer, loadedAt: now.loadedAt,
            requiresSignature: reloader.requiresSignature)
    }

    func reload(by actor: String) async -> ConsoleReload {
        switch reloader.reload(by: actor) {
        case .loaded: ConsoleReload(loaded: true, deployment: deployment(), message: nil)
        case .refused(let reason): ConsoleReload(loaded: false, deployment: deployment(), message: reason)
        }
    }

    func deploy(files: [String: Data], by actor: String) async throws -> ConsoleReload {
        let outcome: PolicyReloader.Outcome
        do { outcome = try upload.deploy(files, by: actor) } catch { throw ConsoleError(.refused, error.message) }
        switch outcome {
        case .loaded: return ConsoleReload(loaded: true, deployment: deployment(), message: nil)
        case .refused(let reason): return ConsoleReload(loaded: false, deployment: deployment(), message: reason)
        }
    }

    func test(_ text: String) -> ConsolePolicyTestRun {
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: policyPath, isDirectory: &isFolder)
        let folder = exists && isFolder.boolValue ? policyPath : (policyPath as NSString).deletingLastPathComponent
        let suites: [PolicyTestSuite]
        do {
            suites = try PolicyLoader.files(at: folder.isEmpty ? "." : folder, of: .tests).map {
                try PolicyTestSuite.load(file: $0)
            }
        } catch {
            return ConsolePolicyTestRun(
                files: [], cases: [],
                problem: PolicyReloader.reason(error).replacingOccurrences(of: folder + "/", with: ""))
        }
        let files = suites.map { ($0.file as NSString).lastPathComponent }
        guard let draft = try? PolicyLoader.compile(data: Data(text.utf8), file: "draft.yaml", now: Date()) else {
            return ConsolePolicyTestRun(
                files: files, cases: [], problem: "The draft has errors: fix them (see Lint) to test it.")
        }
        // The folder holds one policy: its tests run against the draft whatever file name they give it.
        let cases = suites.flatMap { suite in
            suite.run(against: draft).map {
                ConsolePolicyTestRun.Case(
                    file: (suite.file as NSString).lastPathComponent, name: $0.name, line: $0.location.line,
                    passed: $0.passed, failures: $0.failures)
            }
        }
        return ConsolePolicyTestRun(files: files, cases: cases, problem: nil)
    }

    func policyInForce() throws -> (file: String, text: String, version: String) {
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: policyPath, isDirectory: &isFolder)
        let file =
            exists && isFolder.boolValue
            ? (try? PolicyLoader.policyFiles(at: policyPath).first) ?? policyPath : policyPath
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConsoleError(.sourceUnavailable, "\(file): cannot read the policy")
        }
        return ((file as NSString).lastPathComponent, String(decoding: data, as: UTF8.self), policy.policy.version)
    }

    func lint(_ text: String) -> [ConsoleDiagnostic] {
        PolicyLoader.lint(data: Data(text.utf8), file: "draft.yaml", now: Date()).diagnostics.map {
            ConsoleDiagnostic(
                severity: $0.severity.rawValue, code: $0.rule.code, message: $0.message, line: $0.location.line,
                column: $0.location.column)
        }
    }

    func diff(_ text: String) -> String? {
        guard let draft = try? PolicyLoader.compile(data: Data(text.utf8), file: "draft.yaml", now: Date()) else {
            return nil
        }
        return PolicyDiff(old: policy.policy, new: draft).render()
    }

    func withGeometry(
        camera: CameraID, zones: [ConsoleCamera.Zone], lines: [ConsoleCamera.Line]
    ) throws
        -> ConsoleDraft
    {
        let (file, text, _) = try policyInForce()
        func point(_ values: [Double]) -> NormalisedPoint {
            NormalisedPoint(x: values.first ?? 0, y: values.count > 1 ? values[1] : 0)
        }
        let edited: String
        do {
            edited = try GeometryEdit.replacing(
                in: text, camera: camera,
                zones: zones.map { .init(id: $0.id, polygon: $0.polygon.map(point)) },
                lines: lines.map { .init(id: $0.id, from: point($0.from), to: point($0.to)) }, file: file)
        } catch let error as PolicyError {
            throw ConsoleError(.refused, error.message)
        }
        return ConsoleDraft(file: file, text: edited, diff: diff(edited), diagnostics: lint(edited))
    }

    func recordOfProcessing() -> String {
        RecordOfProcessing(policy.policy, analyticsRun: CameraAnalytics.Setup.supported).render(.markdown)
    }
}

/// The vault's audit log, verified with the key that signs it.
struct VaultConsoleAudit: ConsoleAuditDesk {
    let vault: Vault

    func entries(after sequence: Int64, limit: Int) throws -> [ConsoleAuditEntry] {
        try vault.audit.entries(after: sequence, limit: limit).map {
            ConsoleAuditEntry(
                sequence: $0.seq, time: $0.time, action: $0.action, actor: $0.actor, subject: $0.subject,
                rules: $0.rules)
        }
    }

    func verify() throws -> ConsoleAuditStatus {
        guard let key = vault.audit.signerPublicKey else {
            throw ConsoleError(.sourceUnavailable, "the vault is open read-only: its audit log cannot be verified here")
        }
        // The configured anchor, when it exists yet (it is written at the first signed checkpoint).
        let verification = try vault.audit.verify(publicKey: key)
        return ConsoleAuditStatus(
            entries: verification.entries, checkpoints: verification.checkpoints, intact: verification.isIntact,
            problems: verification.problems.map(\.description))
    }
}

/// Legal holds in the gateway's own vault — the running gateway does the vault work the CLI cannot do while it holds
/// the vault's lock — and the console's approvals in the same audit log.
struct VaultEvidenceDesk: ConsoleEvidenceDesk {
    let vault: Vault
    let policy: PolicyInForce
    /// Where a download's export bundle is written while it is sent (`STATE/console-exports`, 0700), removed after.
    let exportsFolder: String

    /// What an export of original footage holds: the identifiable recording and its sound; of redacted footage, what
    /// was stored redacted.
    static func categories(original: Bool) -> Set<DataCategory> {
        original ? [.rawVideo, .audio] : [.redactedVideo]
    }

    func footage(camera: CameraID, from: Date, to: Date, original: Bool) async throws -> [ConsoleFootagePart] {
        let categories = Self.categories(original: original)
        return try await refusedByName { try await vault.segments(camera: camera, from: from, to: to) }
            .filter { categories.contains($0.descriptor.category) }
            .map {
                ConsoleFootagePart(
                    id: $0.id, start: $0.descriptor.start, end: $0.descriptor.end,
                    category: $0.descriptor.category.rawValue)
            }
    }

    func originalSegment(_ id: String, camera: CameraID, from: Date, to: Date) async throws -> Data? {
        guard let segment = try await vault.segment(id), segment.descriptor.camera == camera,
            segment.descriptor.category == .rawVideo, segment.descriptor.end > from, segment.descriptor.start < to
        else { return nil }
        return Data(try await refusedByName { try await vault.read(id) })
    }

    func exportBundle(camera: CameraID, from: Date, to: Date, original: Bool, by actor: String) async throws -> String {
        do {
            try FileManager.default.createDirectory(
                atPath: exportsFolder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch { throw ConsoleError(.sourceUnavailable, "\(exportsFolder): cannot create the exports folder") }
        let bundle = exportsFolder + "/" + UUID().uuidString.lowercased()
        do {
            _ = try await refusedByName {
                try await vault.export(
                    camera: camera, from: from, to: to, into: bundle, requestedBy: actor,
                    categories: Self.categories(original: original))
            }
        } catch {
            discardExport(bundle)
            throw error
        }
        return bundle
    }

    func discardExport(_ folder: String) {
        guard folder.hasPrefix(exportsFolder + "/") else { return }
        try? FileManager.default.removeItem(atPath: folder)
    }

    func holds() async throws -> [ConsoleHold] {
        try await refusedByName { try await vault.holds().map(Self.listed) }
    }

    func placeHold(
        camera: CameraID, from: Date, to: Date, caseReference: String, by actor: String
    ) async throws
        -> ConsoleHold
    {
        try await refusedByName {
            Self.listed(
                try await vault.placeHold(camera: camera, from: from, to: to, caseReference: caseReference, by: actor))
        }
    }

    func renewHold(_ id: String, by actor: String) async throws -> ConsoleHold {
        try await refusedByName { Self.listed(try await vault.renewHold(id, by: actor)) }
    }

    func releaseHold(_ id: String, by actor: String) async throws {
        try await refusedByName { try await vault.releaseHold(id, by: actor) }
    }

    func erase(camera: CameraID, from: Date, to: Date, by actor: String) async throws -> Int {
        try await refusedByName { try await vault.erase(camera: camera, from: from, to: to, by: actor) }
    }

    func audit(_ action: String, actor: String, subject: String, details: [String: String]) async throws {
        try vault.audit.append(AuditLog.Action("console-" + action), actor: actor, subject: subject, details: details)
    }

    var holdRoles: Set<OperatorRole> {
        let named = Set(policy.policy.document.retention.legalHold.approvers.compactMap(OperatorRole.init(rawValue:)))
        return named.isEmpty ? [.evidenceOfficer, .dpo] : named
    }

    var cameraIDs: [CameraID] { policy.policy.document.cameras.map(\.id) }

    func retentionCalendar() async throws -> [ConsoleRetentionRow] {
        let policy = self.policy.policy
        return try await refusedByName { try await vault.summary() }.map { row in
            let period: RetentionPeriod? = policy.retention(camera: row.camera, category: row.category, eventKind: nil)
            let keep = period.map { TimeInterval($0.duration.seconds) }
            return ConsoleRetentionRow(
                camera: row.camera.rawValue, category: row.category.rawValue, segments: row.count, oldest: row.from,
                newest: row.to, rule: period?.rule.rawValue, duration: period?.duration.description,
                oldestExpires: keep.map { row.from + $0 }, newestExpires: keep.map { row.to + $0 })
        }
    }

    static func listed(_ hold: LegalHold) -> ConsoleHold {
        ConsoleHold(
            id: hold.id, camera: hold.camera.rawValue, from: hold.start, to: hold.end, placedAt: hold.placedAt,
            placedBy: hold.placedBy, expiresAt: hold.expiresAt)
    }

    /// What the vault refuses (an unknown hold, a missing case reference) is shown to the operator as it says.
    private func refusedByName<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as VaultError {
            throw ConsoleError(.refused, error.message)
        }
    }
}

/// The policy's partners and operators with the certificates the site CA issued them; revocation as
/// `veilgate certs revoke` does it, applied at once.
struct GatewayConsolePartners: ConsolePartners {
    let policy: PolicyInForce
    let certs: SiteAuthority
    let vault: Vault

    private func certificates(
        _ issued: [IssuedCertificate], where matches: (IssuedCertificate) -> Bool
    )
        -> [ConsoleCertificate]
    {
        let revoked = policy.current.revokedSerials
        let now = Date()
        return issued.filter(matches).map { item in
            let notAfter = item.certificate.notValidAfter
            let state = revoked.contains(item.serial) ? "revoked" : notAfter < now ? "expired" : "valid"
            return ConsoleCertificate(
                serial: item.serial, notAfter: notAfter, state: state,
                expiresSoon: state == "valid" && notAfter.timeIntervalSince(now) < Self.expiryWarning)
        }
    }

    func partners() throws -> [ConsolePartner] {
        let issued = try certs.issued()
        return policy.policy.document.partners.map { partner in
            ConsolePartner(
                id: partner.id.rawValue, organisation: partner.organisation, role: partner.role.rawValue,
                identity: partner.identity.uri ?? partner.identity.fingerprint.map { "sha256:" + $0 } ?? "",
                grants: partner.grants.map { grant in
                    let cameras: String
                    switch grant.cameras {
                    case .all: cameras = "*"
                    case .ids(let ids): cameras = ids.map(\.value.rawValue).joined(separator: ", ")
                    }
                    return .init(
                        id: grant.id.rawValue, action: grant.action.rawValue, cameras: cameras,
                        expires: grant.expires?.description)
                },
                certificates: certificates(issued) {
                    $0.partner == partner.id && $0.uri?.hasPrefix(OperatorID.uriPrefix) != true
                })
        }
    }

    func operators() throws -> [ConsoleOperator] {
        let issued = try certs.issued()
        return policy.policy.document.operators.map { entry in
            ConsoleOperator(
                name: entry.id.rawValue, roles: entry.roles.map(\.rawValue),
                certificates: certificates(issued) { $0.uri == entry.id.certificateURI })
        }
    }

    func revoke(serial: String, by actor: String) async throws {
        guard try certs.issued().contains(where: { $0.serial == serial }) else {
            throw ConsoleError(.refused, "This site issued no certificate with serial \(serial).")
        }
        do {
            try certs.revoke(serials: [serial])
            let serials = try certs.revocationList().serials
            policy.update { $0.revokedSerials = serials }
        } catch let error as FederationError {
            throw ConsoleError(.refused, "The revocation list could not be written: \(error.message)")
        }
        try vault.audit.append(AuditLog.Action("certificate-revoked"), actor: actor, subject: "certificate:\(serial)")
    }
}

/// Acknowledgements in the alert journal, beside the alerts they acknowledge; audited without the note.
struct JournalAlertDesk: ConsoleAlertDesk {
    let journal: AlertJournal
    let vault: Vault

    func acknowledge(_ sequence: Int64, by actor: String, note: String?) async throws -> Bool {
        guard try journal.acknowledge(sequence, by: actor, note: note) else { return false }
        try vault.audit.append(
            AuditLog.Action("alert-acknowledged"), actor: actor, subject: "alert:\(sequence)",
            details: ["note": note == nil ? "none" : "written"])
        return true
    }

    func acknowledgements(of sequences: [Int64]) throws -> [Int64: ConsoleAcknowledgement] {
        try journal.acknowledgements(of: sequences).mapValues {
            ConsoleAcknowledgement(time: $0.time, by: $0.by, note: $0.note)
        }
    }
}
