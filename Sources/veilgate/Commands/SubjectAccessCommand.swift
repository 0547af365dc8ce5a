import ArgumentParser
import Foundation
import VeilCore
import VeilGateway
import VeilVault
import VeilVision

/// `veilgate subject-access`: answer a data subject's access request (GDPR Art. 15) from stored original footage.
struct SubjectAccessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subject-access",
        abstract: "Export a camera's footage of one person, with everyone else hidden (GDPR Art. 15).",
        discussion: """
            Reads the camera's original footage in the range from the vault, follows everyone in it, and exports a \
            signed bundle in which the picture is covered but for the person selected: a point on them at a moment \
            (--select X,Y@TIME, X and Y normalised 0–1 or in pixels, TIME an ISO 8601 time or +SECONDS after --from), \
            or a track number from a first run with --detections. Fails closed: wherever the tracker loses the person, \
            they are covered too; select them again there with another --select.

            Examples:
              veilgate subject-access --camera market-square --from 2026-12-01T10:00:00Z --to 2026-12-01T10:05:00Z \\
                  --detections people.jsonl
              veilgate subject-access --camera market-square --from 2026-12-01T10:00:00Z --to 2026-12-01T10:05:00Z \\
                  --select 0.42,0.61@+12.5 --request SAR-2026-114 -o sar-2026-114
            """
    )

    @OptionGroup var location: VaultLocation
    @OptionGroup var range: CameraRange

    @Option(
        name: .customLong("select"),
        help: ArgumentHelp(
            "The subject: X,Y@TIME (a point on them at a moment) or track:N (from --detections). Repeat to take them up again where the tracker lost them.",
            valueName: "point"))
    var selections: [String] = []

    @Option(
        help: ArgumentHelp(
            "Write the people found, one JSON line per stretch of track (track, first and last time, boxes normalised), to choose from.",
            valueName: "file"))
    var detections: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("The bundle folder to create.", valueName: "dir"))
    var output: String?

    @Option(help: ArgumentHelp("The request's reference, recorded in the signed manifest.", valueName: "reference"))
    var request: String?

    @Option(name: .customLong("requested-by"), help: "Who handles the request (audited).")
    var requestedBy: String = "dpo"

    @Option(
        help: ArgumentHelp(
            "Encrypt the export to this key (from `veilgate partner export-key`): only its holder opens it.",
            valueName: "file.pub"))
    var recipient: String?

    @Option(help: "How everyone but the subject is covered: blur, pixelate or solid.")
    var mode: String = "blur"

    @Option(
        name: .customLong("unmask-request"),
        help: ArgumentHelp(
            "For a camera that keeps an unmask layer instead of raw video: an unmask request of the range (vault unmask-request), opened with two --approval.",
            valueName: "id"))
    var unmaskRequest: String?

    @Option(
        name: .customLong("approval"),
        help: ArgumentHelp("An approval of --unmask-request; give two.", valueName: "file"))
    var approvals: [String] = []

    @Option(
        name: .customLong("detect-every"),
        help: ArgumentHelp("Detect on every Nth frame; the tracker follows in between.", valueName: "n"))
    var detectEvery: Int = 2

    func run() async throws {
        guard let coverMode = RedactionMode(rawValue: mode) else {
            throw ValidationError("--mode must be blur, pixelate or solid")
        }
        guard !selections.isEmpty || detections != nil else {
            throw ValidationError(
                "choose the subject with --select X,Y@TIME, or list the people in the footage first with --detections FILE"
            )
        }
        guard selections.isEmpty || output != nil else { throw ValidationError("-o DIR: where to write the export") }
        let (camera, start, end) = try range.parsed()
        let parsed = try selections.map { text in
            try gatewayOperation { try SubjectSelection.parse(text, rangeStart: start) }
        }
        let recipientKey = try await vaultOperation { try recipient.map { try RecipientPublicKey.load(from: $0) } }
        let (vault, _) = try await location.open()
        // A camera with an unmask layer: its original pixels, opened with two approvals (audited as an unmask), are
        // read twice — once to follow everyone, once to draw the subject.
        var opened: [UnmaskedTrack]?
        if let unmaskRequest {
            let decoded = try await vaultOperation { try approvals.map(UnmaskApproval.load) }
            opened = try await vaultOperation {
                try await vault.unmask(request: unmaskRequest, approvals: decoded, by: requestedBy).1
            }
        } else if !approvals.isEmpty {
            throw ValidationError("--approval goes with --unmask-request")
        }
        printError(
            "following everyone in the \(opened == nil ? "original footage" : "unmasked recording") of \(camera) (detection every \(detectEvery) frame(s))…"
        )
        let started = Date()
        var progress = Progress(total: nil)
        let footage = try await vaultOperation {
            try await gatewayOperation {
                try await FollowedFootage.follow(
                    vault: vault, camera: camera, from: start, to: end, models: VisionModels(),
                    settings: .init(detectEvery: detectEvery), originals: opened.map(OriginalPixels.init),
                    progress: { frames in progress.update(frames: frames, elapsed: Date().timeIntervalSince(started)) })
            }
        }
        progress.finish()
        let people = footage.tracklets
        print(
            "followed \(footage.frameCount) frame(s) in \(String(format: "%.0f", Date().timeIntervalSince(started))) s: \(people.count) stretch(es) of track, \(Set(people.map(\.track)).count) track(s)"
        )
        if let detections { try Self.write(people, of: footage, to: detections) }
        guard !parsed.isEmpty, let output else {
            print("choose the subject with --select track:N or --select X,Y@TIME, and -o DIR")
            return
        }
        let transform = try gatewayOperation {
            try SubjectAccessTransform(
                footage: footage, selections: parsed, request: request, mode: coverMode,
                originals: opened.map(OriginalPixels.init))
        }
        let manifest = try await vaultOperation {
            try await gatewayOperation {
                try await vault.export(
                    camera: camera, from: start, to: end, into: output, requestedBy: requestedBy, transform: transform,
                    categories: [footage.category], recipient: recipientKey)
            }
        }
        let record = manifest.transformRecord ?? [:]
        print(
            "exported \(manifest.parts.count) segment(s) to \(output), signed by gateway key \(manifest.signer)"
                + (recipientKey.map { ", encrypted to recipient key \($0.fingerprint)" } ?? ""))
        print(
            "  the subject is shown in \(record["frames-subject-shown"] ?? "?") of \(record["frames"] ?? "?") frames (tracks \(record["subject-tracks"] ?? "?"); \(record["subject-stretches-chained"] ?? "0") stretch(es) taken up after the tracker lost them)"
        )
        if let hidden = Int(record["frames-subject-hidden"] ?? ""), hidden > 0 {
            print(
                "  where they are hidden the tracker did not see them, or lost them: look at the export, and add a --select where they reappear"
            )
        }
    }

    /// One line per stretch of track: what a DPO chooses a `track:N` from. Boxes are normalised, times ISO 8601.
    static func write(_ tracklets: [FollowedFootage.Tracklet], of footage: FollowedFootage, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let file = FileHandle(forWritingAtPath: path)
        else { throw ValidationError("\(path): cannot create") }
        defer { try? file.close() }
        func normalised(_ box: Box) -> [Double] {
            [box.x1, box.y1, box.x2, box.y2].enumerated().map { index, value in
                (value / Double(index % 2 == 0 ? footage.width : footage.height) * 1000).rounded() / 1000
            }
        }
        for tracklet in tracklets {
            let line: [String: Any] = [
                "track": tracklet.track, "first": Timestamp.precise(tracklet.first),
                "last": Timestamp.precise(tracklet.last), "frames": tracklet.frames.count,
                "firstBox": normalised(tracklet.boxes.first!), "lastBox": normalised(tracklet.boxes.last!),
            ]
            var data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
            data.append(0x0A)
            file.write(data)
        }
        print("  people found: \(path) (one line per stretch of track; choose one with --select track:N)")
    }
}
