public import VeilCore

/// Every page of the console and who it is for. The server refuses a page (403, in the page and its API) to an operator
/// whose roles it does not name; the navigation shows only the pages the operator may open.
public enum ConsolePageKind: String, Sendable, CaseIterable, Codable {
    case cameras, alerts, policy, record, audit

    public var title: String {
        switch self {
        case .cameras: "Cameras"
        case .alerts: "Alerts"
        case .policy: "Policy"
        case .record: "Record of processing"
        case .audit: "Audit log"
        }
    }

    public var roles: Set<OperatorRole> {
        switch self {
        case .cameras, .alerts: [.operator]
        case .policy: [.dpo, .auditor]
        case .record: [.dpo, .auditor]
        case .audit: [.auditor, .dpo]
        }
    }
}
