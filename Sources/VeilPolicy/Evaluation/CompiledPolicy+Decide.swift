import Foundation
public import VeilCore

extension CompiledPolicy {
    /// A request with its ids resolved to the compiled tables' numbers; resolve once, decide many times.
    public struct ResolvedRequest: Sendable {
        public let request: AccessRequest
        let partner: Int
        let camera: Int
    }

    /// Resolves the request's ids, or returns the deny decision for an unknown partner or camera.
    public func resolve(_ request: AccessRequest) -> Result<ResolvedRequest, DenyDecision> {
        guard let partner = partnerIndex[request.partner] else {
            return .failure(DenyDecision(decision: .deny(request, [.unknownPartner, .defaultDeny])))
        }
        guard let camera = cameraIndex[request.camera] else {
            return .failure(DenyDecision(decision: .deny(request, [.unknownCamera, .defaultDeny])))
        }
        return .success(ResolvedRequest(request: request, partner: partner, camera: camera))
    }

    /// Decides a request: default deny; an explicit deny overrides every grant; when several grants allow,
    /// their restrictions combine so that the least revealing result wins.
    public func decide(_ request: AccessRequest) -> Decision {
        switch resolve(request) {
        case .success(let resolved): decide(resolved)
        case .failure(let denied): denied.decision
        }
    }

    public func decide(_ resolved: ResolvedRequest) -> Decision {
        let request = resolved.request
        let slot =
            (resolved.partner * Self.actionCount + request.action.kind.index) * cameraIndex.count + resolved.camera
        var clock = LocalClock(at: request.at, timeZone: timeZone)

        if let denyRules = denyTable[slot] {
            var matched: [Decision.Reason] = []
            for number in denyRules {
                let rule = denies[Int(number)]
                if rule.windows.isEmpty || clock.isOpen(rule.windows) { matched.append(.deniedByRule(rule.id)) }
            }
            if !matched.isEmpty { return .deny(request, matched) }
        }

        var allowing: [Int32] = []
        var missed: [Decision.Reason] = []
        grants: for number in grantTable[slot] ?? [] {
            let grant = grants[Int(number)]
            if case .alert(let kind) = request.action, !grant.kinds.contains(kind) { continue }
            for condition in grant.conditions {
                if let reason = condition.unmet(by: request, grant: grant.id, clock: &clock) {
                    missed.append(reason)
                    continue grants
                }
            }
            allowing.append(number)
        }
        guard let first = allowing.first else { return .deny(request, missed + [.defaultDeny]) }

        var firstGrant = grants[Int(first)]
        var decision = Decision(
            effect: .allow, request: request, redaction: firstGrant.redaction, grants: [firstGrant.id],
            reasons: [.granted(firstGrant.id)], maxAge: firstGrant.maxAge,
            justificationRecorded: firstGrant.justificationRequired || request.hasJustification,
            alertFields: firstGrant.fields, reshareAllowed: firstGrant.reshare, retention: nil)
        for number in allowing.dropFirst() {
            firstGrant = grants[Int(number)]
            decision.grants.append(firstGrant.id)
            decision.reasons.append(.granted(firstGrant.id))
            decision.redaction = decision.redaction!.merged(with: firstGrant.redaction)
            if let maxAge = firstGrant.maxAge { decision.maxAge = min(decision.maxAge ?? maxAge, maxAge) }
            decision.alertFields = decision.alertFields.filter(firstGrant.fields.contains)
            decision.reshareAllowed = decision.reshareAllowed && firstGrant.reshare
        }
        decision.reasons.append(contentsOf: missed)
        // Footage a camera never kept unredacted cannot be shared unredacted: clips are at least as redacted as stored.
        if request.action == .clip, !storesRawVideo[resolved.camera] {
            decision.redaction = decision.redaction!.merged(with: defaultRedaction)
        }
        decision.retention = retention(for: request, camera: resolved.camera, redaction: decision.redaction!)
        return decision
    }

    /// The retention rule for the data a request concerns: the most specific rule (one naming the alert
    /// kind beats a general events rule), the shortest duration among equals.
    func retention(for request: AccessRequest, camera: Int, redaction: RedactionSpec) -> RetentionOutcome? {
        let category: DataCategory
        var kind: AlertKind?
        switch request.action {
        case .live: return nil
        case .clip: category = redaction.isUnredacted ? .rawVideo : .redactedVideo
        case .alert(let alertKind):
            category = .events
            kind = alertKind
        case .counts: category = .counts
        }
        return retention(camera: camera, category: category, kind: kind)
    }

    func retention(camera: Int, category: DataCategory, kind: AlertKind?) -> RetentionOutcome? {
        retentionTable[camera * Self.categoryCount + DataCategory.allCases.firstIndex(of: category)!].outcome(for: kind)
    }

    /// The retention that applies to a camera's category (for reports and the vault's sweeper).
    public func retention(camera: CameraID, category: DataCategory, eventKind: AlertKind? = nil) -> RetentionOutcome? {
        cameraIndex[camera].flatMap { retention(camera: $0, category: category, kind: eventKind) }
    }
}

/// A decision that was made before evaluation, because the request named something unknown.
public struct DenyDecision: Error, Sendable {
    public let decision: Decision
}

/// The request's local day and minute in the policy's time zone, computed once and only if a rule has windows.
struct LocalClock {
    let at: Date
    let timeZone: TimeZone
    private var cached: (TimeWindow.Weekday, Int)?

    init(at: Date, timeZone: TimeZone) {
        self.at = at
        self.timeZone = timeZone
    }

    mutating func isOpen(_ windows: [TimeWindow]) -> Bool {
        let (weekday, minute) = local()
        return windows.contains { $0.contains(weekday: weekday, minute: minute) }
    }

    private mutating func local() -> (TimeWindow.Weekday, Int) {
        if let cached { return cached }
        let seconds = Int64(at.timeIntervalSince1970.rounded(.down)) + Int64(timeZone.secondsFromGMT(for: at))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // 1970-01-01 was a Thursday (index 3 with Monday as 0).
        let weekday = TimeWindow.Weekday(rawValue: Int(((days + 3) % 7 + 7) % 7))!
        let result = (weekday, Int(secondOfDay / 60))
        cached = result
        return result
    }
}
