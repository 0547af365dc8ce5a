/// What the vault needs to know from the policy to keep data only as long as allowed.
///
/// The policy target implements it and the executable hands it to the vault, so neither feature target
/// imports the other.
public protocol RetentionSchedule: Sendable {
    /// The version of the policy the schedule comes from, recorded with every erasure.
    var policyVersion: String { get }
    /// How long the category is kept for the camera (for events, of that kind); nil when no rule covers it.
    func retention(camera: CameraID, category: DataCategory, eventKind: AlertKind?) -> RetentionPeriod?
    /// Whether the policy lets this camera's data of this category be stored at all.
    func permitsStorage(camera: CameraID, category: DataCategory) -> Bool
    /// How long a legal hold lasts unless renewed; nil for "until released".
    var legalHoldMaxDuration: PolicyDuration? { get }
    /// Whether placing a hold needs a case reference.
    var legalHoldRequiresCaseReference: Bool { get }
}

/// A retention period and the rule that sets it.
public struct RetentionPeriod: Hashable, Sendable {
    public var rule: RuleID
    public var duration: PolicyDuration

    public init(rule: RuleID, duration: PolicyDuration) {
        self.rule = rule
        self.duration = duration
    }
}
