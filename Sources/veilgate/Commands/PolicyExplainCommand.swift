import ArgumentParser
import Foundation
import VeilAnalytics
import VeilCore
import VeilGateway
import VeilPolicy

struct PolicyExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show how the policy decides one request, and why.",
        discussion: """
            Prints allow or deny, the redaction that applies, the retention of the data concerned, and the \
            ids and reasons of the rules that decided: the same facts the audit log records.

            Example: veilgate policy explain --partner police --camera market-square --action live \
            --at 2026-12-04T21:30:00Z
            """
    )

    @OptionGroup var location: PolicyLocation

    @Option(help: "The partner id asking.")
    var partner: String

    @Option(help: "The camera id asked for.")
    var camera: String

    @Option(help: ArgumentHelp("live, clip, counts or alert:KIND.", valueName: "action"))
    var action: String

    @Option(help: ArgumentHelp("The time of the request (ISO 8601); default now.", valueName: "time"))
    var at: String?

    @Option(
        name: .customLong("footage-age"),
        help: ArgumentHelp("For clips: how old the requested footage is (e.g. 36h).", valueName: "duration"))
    var footageAge: String?

    @Flag(help: "The request carries a justification (case or warrant reference).")
    var justification = false

    @Option(help: "For alerts: the zone or line concerned.")
    var zone: String?

    @Option(help: "Output format.")
    var format: OutputFormat = .text

    func run() throws {
        guard let sharingAction = SharingAction(parsing: action) else {
            throw ValidationError("--action must be live, clip, counts or alert:KIND (e.g. alert:loitering)")
        }
        let now = try parseTime(at)
        var request = AccessRequest(
            partner: PartnerID(partner), camera: CameraID(camera), action: sharingAction,
            at: now, hasJustification: justification, zone: zone.map(ZoneID.init))
        if let footageAge {
            guard let age = PolicyDuration(parsing: footageAge) else {
                throw ValidationError("--footage-age '\(footageAge)' is not a duration such as 36h or 7d")
            }
            request.footageStart = now.addingTimeInterval(-Double(age.seconds))
        }
        let policy: CompiledPolicy
        do { policy = try location.load(at: now) } catch let error as PolicyError { throw reportPolicyError(error) }
        let decision = policy.decide(request)
        var report = decision.report(in: policy)
        if case .alert(let kind) = sharingAction,
            let entry = policy.document.cameras.first(where: { $0.id.rawValue == camera })
        {
            report.analytic = CameraAnalytics.explain(kind, on: entry, zone: zone.map(ZoneID.init))
        }
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        case .text:
            print(Self.render(report))
        }
        if !decision.isAllowed { throw ExitCode(2) }
    }

    static func render(_ report: DecisionReport) -> String {
        var lines = [
            "\(report.decision.uppercased())  \(report.partner) → \(report.camera)  \(report.action)  at \(report.at)",
            "  policy version: \(report.policyVersion)",
            "  decided by:     \(report.rules.isEmpty ? "(default deny)" : report.rules.joined(separator: ", "))",
        ]
        if let redaction = report.redaction {
            if redaction.classes.isEmpty {
                lines.append("  redaction:      none — footage is shared unredacted")
            } else {
                lines.append(
                    "  redaction:      \(redaction.classes.joined(separator: ", ")) — \(redaction.mode), \(redaction.shape), margin \(Int((redaction.margin * 100).rounded())) %"
                )
            }
        }
        if let retention = report.retention {
            lines.append("  retention:      \(retention.category) kept \(retention.duration) (rule \(retention.rule))")
        }
        if let maxAge = report.maxAge { lines.append("  max footage age: \(maxAge)") }
        if report.justificationRecorded == true {
            lines.append("  obligation:     the request's justification is recorded in the audit log")
        }
        if let fields = report.alertFields { lines.append("  alert fields:   \(fields.joined(separator: ", "))") }
        if report.reshare == true { lines.append("  re-sharing:     allowed") }
        for (index, line) in (report.analytic ?? []).enumerated() {
            lines.append((index == 0 ? "  analytic:       " : "                  ") + line)
        }
        lines.append("  why:")
        lines += report.reasons.map { "    - \($0.text)" }
        return lines.joined(separator: "\n")
    }
}
