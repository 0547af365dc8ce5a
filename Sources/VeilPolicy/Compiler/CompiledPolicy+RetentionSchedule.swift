public import VeilCore

/// The policy is the vault's retention schedule.
extension CompiledPolicy: RetentionSchedule {
    public var policyVersion: String { version }

    public func retention(camera: CameraID, category: DataCategory, eventKind: AlertKind?) -> RetentionPeriod? {
        let outcome: RetentionOutcome? = retention(camera: camera, category: category, eventKind: eventKind)
        return outcome.map { RetentionPeriod(rule: $0.rule, duration: $0.duration) }
    }

    public func permitsStorage(camera: CameraID, category: DataCategory) -> Bool {
        document.cameras.first { $0.id == camera }?.produces.contains(category) ?? false
    }

    public var legalHoldMaxDuration: PolicyDuration? { document.retention.legalHold.maxDuration }
    public var legalHoldRequiresCaseReference: Bool { document.retention.legalHold.requiresCaseReference }
}
