public import VeilCore

/// Every page of the console and who it is for. The server refuses a page (403, in the page and its API) to an operator
/// whose roles it does not name; the navigation shows only the pages the operator may open.
public enum ConsolePageKind: String, Sendable, CaseIterable, Codable {
    case cameras, alerts, counts, zones, evidence, partners, policy, record, audit

    public var title: String {
        switch self {
        case .cameras: "Cameras"
        case .alerts: "Alerts"
        case .counts: "Counts"
        case .zones: "Zones & lines"
        case .evidence: "Evidence"
        case .partners: "Partners"
        case .policy: "Policy"
        case .record: "Record of processing"
        case .audit: "Audit log"
        }
    }

    public var roles: Set<OperatorRole> {
        switch self {
        case .cameras, .alerts: [.operator]
        // Numbers only: the DPO and auditor may see what the analytics count, too.
        case .counts: [.operator, .dpo, .auditor]
        case .evidence: [.evidenceOfficer, .dpo, .auditor]
        // A change of zones is a policy change: the DPO's.
        case .zones: [.dpo]
        case .partners: [.admin, .dpo, .auditor]
        case .policy: [.dpo, .auditor]
        case .record: [.dpo, .auditor]
        case .audit: [.auditor, .dpo]
        }
    }
}
