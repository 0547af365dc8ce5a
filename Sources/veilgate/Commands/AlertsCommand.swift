import ArgumentParser
import Foundation
import VeilAlerts
import VeilCore
import VeilFederation

/// `veilgate alerts …`: the alert journal that partners' streams replay from.
struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Raise and list alerts in the site's alert journal (what camera pipelines do).",
        subcommands: [AlertsRaiseCommand.self, AlertsListCommand.self]
    )
}

struct AlertJournalLocation: ParsableArguments {
    @Option(help: ArgumentHelp("The gateway's state folder. Default: $VEILGATE_STATE or ./state.", valueName: "dir"))
    var state: String = ProcessInfo.processInfo.environment["VEILGATE_STATE"] ?? "state"

    func open() async throws -> AlertJournal {
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        return try await alertsOperation { try AlertJournal(path: state + "/alerts.sqlite") }
    }
}

struct AlertsRaiseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raise",
        abstract: "Append an alert; a running `veilgate serve` delivers it to every partner whose grant covers it."
    )

    @OptionGroup var location: AlertJournalLocation
    @Option(help: "The camera id.") var camera: String
    @Option(
        help:
            "The alert kind (restricted-zone, loitering, line-crossing, crowd-count, unattended-object, loud-sound, running, vehicle-dwell)."
    )
    var kind: String
    @Option(help: "The zone or line.") var zone: String?
    @Option(help: "A count (crowd counts, crossings).") var count: Int?

    func run() async throws {
        let journal = try await location.open()
        let alert = Alert(
            kind: AlertKind(kind), camera: CameraID(camera), zone: zone.map(ZoneID.init), time: Date(), count: count)
        let entry = try await alertsOperation { try journal.append(alert) }
        print("alert \(entry.sequence): \(kind) at \(camera)\(zone.map { " (\($0))" } ?? "")")
    }
}

struct AlertsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List journaled alerts.")

    @OptionGroup var location: AlertJournalLocation
    @Option(help: "Only alerts after this sequence number.") var after: Int64 = 0

    func run() async throws {
        let journal = try await location.open()
        for entry in try await alertsOperation({ try journal.entries(after: after) }) {
            let alert = entry.alert
            print(
                "\(entry.sequence)\t\(ISO8601DateFormatter.veilgate(alert.time))\t\(alert.camera.rawValue)\t\(alert.kind.rawValue)\t\(alert.zone?.rawValue ?? "-")"
            )
        }
    }
}
