public import Foundation
public import VeilCore

/// A linted policy, indexed for evaluation: immutable, `Sendable`, and cheap to share between requests.
///
/// Ids are mapped to dense integers once; a decision is then a few array look-ups, which is what lets the
/// gateway decide every request and every alert without caching decisions.
public struct CompiledPolicy: Sendable {
    /// The document it was compiled from, for reports and `explain`.
    public let document: PolicyDocument
    public let timeZone: TimeZone
    public let defaultRedaction: RedactionSpec
    /// Every profile, resolved through `extends`.
    public let profiles: [RuleID: RedactionSpec]

    let cameraIndex: [CameraID: Int]
    let partnerIndex: [PartnerID: Int]
    let grants: [CompiledGrant]
    let denies: [CompiledDeny]
    /// `(partner × action kind × camera) → grant indices`, sparse: only slots some rule names are stored, so a
    /// policy's memory grows with its rules, not with partners × cameras.
    let grantTable: [Int: [Int32]]
    /// `(partner × action kind × camera) → deny-rule indices`, sparse.
    let denyTable: [Int: [Int32]]
    /// Per camera: whether it keeps original footage. Clips of a camera that does not are redacted as stored.
    let storesRawVideo: [Bool]
    /// `(camera × category) → the retention that applies`, resolved once so a decision does no searching.
    let retentionTable: [RetentionSlot]
    let partnersByURI: [String: PartnerID]
    let partnersByFingerprint: [String: PartnerID]

    static let actionCount = SharingActionKind.allCases.count
    static let categoryCount = DataCategory.allCases.count

    /// Compiles a document. Throws ``PolicyError/Code/invalidPolicy`` with the diagnostics when the
    /// linter finds errors: a policy with errors is never evaluated. Internal: a document alone does not say
    /// what the parser dropped, so callers go through ``PolicyLoader`` which checks both.
    init(_ document: PolicyDocument, lintedAt now: Date) throws {
        let diagnostics = PolicyLinter(now: now).lint(document)
        guard !diagnostics.containsErrors else {
            throw PolicyError(
                .invalidPolicy, "\(document.file): the policy has errors",
                diagnostics: diagnostics.filter { $0.severity == .error })
        }
        self.init(validated: document)
    }

    /// Compiles a document the linter has accepted.
    init(validated document: PolicyDocument) {
        self.document = document
        timeZone = document.metadata.timeZone
        let cameras = document.cameras.map(\.id)
        let partners = document.partners.map(\.id)
        let cameraIndex = Dictionary(uniqueKeysWithValues: cameras.enumerated().map { ($1, $0) })
        let partnerIndex = Dictionary(uniqueKeysWithValues: partners.enumerated().map { ($1, $0) })
        self.cameraIndex = cameraIndex
        self.partnerIndex = partnerIndex
        let resolver = ProfileResolver(
            profiles: Dictionary(uniqueKeysWithValues: document.redaction.profiles.map { ($0.id, $0) }))
        var profiles: [RuleID: RedactionSpec] = [:]
        for profile in document.redaction.profiles { profiles[profile.id] = resolver.resolve(profile.id) }
        self.profiles = profiles
        let defaultSpec =
            document.redaction.defaultProfile.flatMap { profiles[$0.value] }
            ?? RedactionSpec(classes: Set(RedactionClass.allCases), mode: .solid, shape: .box, margin: 0.2)
        defaultRedaction = defaultSpec

        var grantTable: [Int: [Int32]] = [:]
        var compiledGrants: [CompiledGrant] = []
        for (partnerNumber, partner) in document.partners.enumerated() {
            for grant in partner.grants {
                let index = Int32(compiledGrants.count)
                compiledGrants.append(
                    CompiledGrant(
                        grant, partner: partner.id, document: document, profiles: profiles,
                        defaultRedaction: defaultSpec))
                for camera in Self.cameraNumbers(grant.cameras, cameraIndex, cameras.count) {
                    grantTable[
                        (partnerNumber * Self.actionCount + grant.action.index) * cameras.count + camera, default: []
                    ]
                    .append(index)
                }
            }
        }
        var denyTable: [Int: [Int32]] = [:]
        var compiledDenies: [CompiledDeny] = []
        for rule in document.denies {
            let index = Int32(compiledDenies.count)
            compiledDenies.append(CompiledDeny(id: rule.id, windows: rule.windows))
            let partnerNumbers: [Int] =
                switch rule.partners {
                case .all: Array(0..<partners.count)
                case .ids(let ids): ids.compactMap { partnerIndex[$0.value] }
                }
            for partnerNumber in partnerNumbers {
                for action in rule.actions {
                    for camera in Self.cameraNumbers(rule.cameras, cameraIndex, cameras.count) {
                        denyTable[
                            (partnerNumber * Self.actionCount + action.index) * cameras.count + camera, default: []
                        ]
                        .append(index)
                    }
                }
            }
        }
        var retentionTable = [RetentionSlot](repeating: RetentionSlot(), count: cameras.count * Self.categoryCount)
        for rule in document.retention.rules {
            let category = DataCategory.allCases.firstIndex(of: rule.category)!
            for camera in Self.cameraNumbers(rule.cameras, cameraIndex, cameras.count) {
                retentionTable[camera * Self.categoryCount + category].add(rule)
            }
        }
        storesRawVideo = document.cameras.map { $0.produces.contains(.rawVideo) }
        grants = compiledGrants
        denies = compiledDenies
        self.grantTable = grantTable
        self.denyTable = denyTable
        self.retentionTable = retentionTable
        var byURI: [String: PartnerID] = [:]
        var byFingerprint: [String: PartnerID] = [:]
        for partner in document.partners {
            if let uri = partner.identity.uri { byURI[uri] = partner.id }
            if let fingerprint = partner.identity.fingerprint { byFingerprint[fingerprint] = partner.id }
        }
        partnersByURI = byURI
        partnersByFingerprint = byFingerprint
    }

    private static func cameraNumbers(_ selector: Selector<CameraID>, _ index: [CameraID: Int], _ count: Int) -> [Int] {
        switch selector {
        case .all: Array(0..<count)
        case .ids(let ids): ids.compactMap { index[$0.value] }
        }
    }

    // MARK: Alert snapshots

    /// The profiles of the grants that send snapshots of `camera`'s alerts (those naming the `snapshot` field): one
    /// snapshot redacted with the most protective of them goes to every partner (``snapshotRedaction(camera:)``). Empty
    /// when no grant sends one: then the camera makes none.
    public func snapshotRedactions(camera: CameraID) -> [RedactionSpec] {
        guard let number = cameraIndex[camera] else { return [] }
        var found: [RedactionSpec] = []
        for partnerNumber in partnerIndex.values {
            let slot =
                (partnerNumber * Self.actionCount + SharingActionKind.alert.index) * cameraIndex.count + number
            for index in grantTable[slot] ?? [] where grants[Int(index)].fields.contains(.snapshot) {
                found.append(grants[Int(index)].redaction)
            }
        }
        return found
    }

    /// The redaction a snapshot of `camera`'s alerts is made with — the least revealing of the grants that send one
    /// (``snapshotRedactions(camera:)``), so that every receiver gets at most what its own grant allows; where no one
    /// of them is at least as protective as all the others, their classes together, painted solid. Nil when no grant
    /// sends snapshots of the camera, or the policy keeps no events for it (a snapshot is kept with its alert).
    public func snapshotRedaction(camera: CameraID) -> RedactionSpec? {
        let specs = snapshotRedactions(camera: camera)
        guard !specs.isEmpty, permitsStorage(camera: camera, category: .events) else { return nil }
        if let strictest = specs.first(where: { candidate in
            specs.allSatisfy { candidate.isAtLeastAsProtective(as: $0) }
        }) {
            return strictest
        }
        return RedactionSpec(
            classes: specs.reduce(into: Set<RedactionClass>()) { $0.formUnion($1.classes) }, mode: .solid,
            shape: .box, margin: specs.map(\.margin).max() ?? 0.2)
    }

    // MARK: Identity

    /// The partner a verified client certificate belongs to, by its SAN URI.
    public func partner(forCertificateURI uri: String) -> PartnerID? { partnersByURI[uri] }

    /// The partner a verified client certificate belongs to, by its SHA-256 fingerprint (hex, any case).
    public func partner(forFingerprint fingerprint: String) -> PartnerID? {
        DocumentBuilder.normalisedFingerprint(fingerprint).flatMap { partnersByFingerprint[$0] }
    }

    public var version: String { document.metadata.version }

    /// The roles the policy gives a console operator; empty for a name it does not list.
    public func roles(of id: OperatorID) -> Set<OperatorRole> {
        Set(document.operators.first { $0.id == id }?.roles ?? [])
    }

    /// The two approvers whose keys an unmask layer is sealed to (`retention.unmasking.approvers`): role and public
    /// key.
    public var unmaskApprovers: [(role: String, key: String)] {
        (document.retention.unmasking?.approvers ?? []).map { ($0.role, $0.key) }
    }
}

/// A grant with its references resolved.
struct CompiledGrant: Sendable {
    let id: RuleID
    let partner: PartnerID
    let action: SharingActionKind
    /// What a request must meet for the grant to apply (see ``GrantCondition``).
    let conditions: [any GrantCondition]
    let purpose: PurposeID?
    let redaction: RedactionSpec
    let windows: [TimeWindow]
    let expiryDate: CalendarDate?
    let maxAge: PolicyDuration?
    let justificationRequired: Bool
    let kinds: Set<AlertKind>
    let zones: Set<ZoneID>
    let fields: [AlertField]
    let reshare: Bool
    let legalGround: String?

    /// Fields sent when a grant names none: what happened, where and when, never images or tracks.
    static let defaultAlertFields: [AlertField] = [.kind, .camera, .zone, .time, .count]

    init(
        _ grant: PolicyDocument.Grant, partner: PartnerID, document: PolicyDocument,
        profiles: [RuleID: RedactionSpec], defaultRedaction: RedactionSpec
    ) {
        id = grant.id
        self.partner = partner
        action = grant.action
        conditions = Self.conditions(of: grant, timeZone: document.metadata.timeZone)
        purpose = grant.purpose?.value
        redaction = grant.redaction.flatMap { profiles[$0.value] } ?? defaultRedaction
        windows = grant.windows
        expiryDate = grant.expires
        maxAge = grant.maxAge
        justificationRequired = grant.justificationRequired
        kinds = Set(grant.kinds)
        zones = Set(grant.zones)
        fields = grant.fields.isEmpty ? Self.defaultAlertFields : grant.fields.sorted()
        reshare = grant.reshare
        legalGround = grant.legalGround
    }
}

/// The retention of one camera's category: the shortest general rule, and per event kind the shortest rule
/// naming that kind (a kind-specific rule beats a general one).
struct RetentionSlot: Sendable {
    var general: RetentionOutcome?
    var byKind: [AlertKind: RetentionOutcome] = [:]

    mutating func add(_ rule: PolicyDocument.RetentionRule) {
        let outcome = RetentionOutcome(rule: rule.id, category: rule.category, duration: rule.duration)
        if rule.eventKinds.isEmpty {
            if general.map({ rule.duration < $0.duration }) ?? true { general = outcome }
        }
        for kind in rule.eventKinds where byKind[kind].map({ rule.duration < $0.duration }) ?? true {
            byKind[kind] = outcome
        }
    }

    func outcome(for kind: AlertKind?) -> RetentionOutcome? {
        kind.flatMap { byKind[$0] } ?? general
    }
}

struct CompiledDeny: Sendable {
    let id: RuleID
    let windows: [TimeWindow]
}
