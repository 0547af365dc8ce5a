import ArgumentParser
import Foundation
import VeilAnalytics
import VeilCore
import VeilGateway
import VeilMedia
import VeilPolicy
import VeilVault
import VeilVision

/// `veilgate analyse`: a camera's analytics on a file, as an operator tunes zones and lines before deploying them.
struct AnalyseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyse",
        abstract:
            "Run a camera's analytics (zones, lines, loitering, crowds) on a file; print its alerts as JSON lines.",
        discussion: """
            People are detected and tracked as in redaction; the camera's policy entry says which analytics run and \
            on which zones and lines. Alerts go to standard output, one JSON object per line (no snapshot, no \
            identity); counts and a summary to standard error.

            With --overlay, the video is also written redacted with the policy's default profile, with the camera's \
            zones (yellow), lines (cyan), privacy masks (magenta) and the people tracked (green; red while in an \
            alert) drawn on it: to see what the analytics see while tuning zones. An overlay is for the operator, \
            never shared.

            Example:
              veilgate analyse vtest.avi --camera market-square --policy policies --overlay overlay.mp4
            """
    )

    @Argument(help: ArgumentHelp("A video file (or an rtsp:// or http(s):// address).", valueName: "input"))
    var input: String

    @Option(help: ArgumentHelp("The camera of the policy whose analytics, zones and lines apply.", valueName: "id"))
    var camera: String

    @Option(
        name: .customLong("detect-every"),
        help: ArgumentHelp("Detect on every Nth frame; the tracker follows people in between.", valueName: "n"))
    var detectEvery: Int = 2

    @Option(help: ArgumentHelp("Stop after this many seconds of input.", valueName: "seconds"))
    var seconds: Double?

    @Option(
        name: .customLong("loitering-after"),
        help: ArgumentHelp(
            "Seconds in a zone that make loitering, in every zone (default: the policy's thresholds, else 60).",
            valueName: "seconds"))
    var loiteringAfter: Double?

    @Option(
        name: .customLong("crowd-threshold"),
        help: ArgumentHelp(
            "People in a zone at once that make a crowd, in every zone (default: the policy's thresholds, else 20).",
            valueName: "n"))
    var crowdThreshold: Int?

    @Option(
        help: ArgumentHelp(
            "Also write the redacted video with zones, lines, masks and tracked people drawn on it.", valueName: "file")
    )
    var overlay: String?

    @OptionGroup var policyLocation: PolicyLocation

    @Option(
        help: ArgumentHelp(
            "The gateway's state folder, for the partners' watchlists (watchlist-match). Default: $VEILGATE_STATE or ./state.",
            valueName: "dir"))
    var state: String = ProcessInfo.processInfo.environment["VEILGATE_STATE"] ?? "state"

    func run() async throws {
        guard detectEvery >= 1 else { throw ValidationError("--detect-every must be at least 1") }
        guard (loiteringAfter ?? 1) > 0, (crowdThreshold ?? 1) >= 1 else {
            throw ValidationError("--loitering-after and --crowd-threshold must be positive")
        }
        let policy: CompiledPolicy
        do { policy = try policyLocation.load(at: Date()) } catch let error as PolicyError {
            throw reportPolicyError(error)
        }
        let entry = try policy.camera(camera, for: "--camera")
        let supported = CameraAnalytics.Setup.supported
        for analytic in Set(entry.analytics).subtracting(supported).sorted() {
            printError("note: \(analytic.rawValue) is listed for \(camera) but not analysed yet")
        }
        // The options, where given, override the policy's thresholds for the camera and every zone: a tuning aid.
        let (loitering, crowd) = (loiteringAfter, crowdThreshold)
        guard
            let setup = CameraAnalytics.Setup(
                entry,
                overriding: { thresholds in
                    if let loitering { thresholds.loiteringAfter = loitering }
                    if let crowd { thresholds.crowdThreshold = crowd }
                })
        else {
            let names = supported.map(\.rawValue).sorted().joined(separator: ", ")
            throw ValidationError("\(camera) lists none of the analytics this build runs (\(names))")
        }
        let running = setup.analytics
        var analytics = CameraAnalytics(setup, origin: Date())
        // The camera's privacy masks are painted first, as in the gateway: nobody under one is detected or counted.
        let masks = PrivacyMasks(entry)

        let source: MediaSource
        let pipeline: RedactionPipeline
        var writer: MP4Writer?
        var plates: PlateWatch?
        var vehicles: VehicleWatch?
        do {
            // Sound where the camera listens for loud sounds (measured in memory, never kept).
            source = try MediaSource(address: input, options: SourceOptions(keepAudio: running.contains(.loudSound)))
            // People are what the analytics count: the person detector with its tile grid, and what moves like one.
            // An overlay is redacted as well, with the default profile: its classes are detected too.
            // Plates as well where the camera matches them against watchlists.
            let classes = Set([RedactionClass.persons]).union(overlay == nil ? [] : policy.defaultRedaction.classes)
                .union(running.contains(.watchlistMatch) ? [.plates] : [])
            let detectors = try VisionModels().detectors(for: classes, headsOfPeople: true).detectors
            pipeline = RedactionPipeline(
                spec: RedactionSpec(classes: classes), detectors: detectors,
                options: .init(detectEvery: detectEvery, coverHeadsOfPeople: overlay != nil))
            if let overlay {
                writer = try MP4Writer(
                    path: overlay, width: source.width, height: source.height, frameRate: source.frameRate)
            }
            if running.contains(.watchlistMatch) {
                plates = PlateWatch(
                    camera: entry.id, reader: try VisionModels().plateReader(),
                    watchlists: try watchlistOperation { try Watchlists(state: state) })
            }
            if running.contains(.vehicleDwell) { vehicles = VehicleWatch(detector: try VisionModels().vehicles()) }
        } catch let error as MediaError {
            printError("error: \(error)")
            throw ExitCode(1)
        } catch let error as VisionError {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        printError(
            "analysing \(redactedAddress(input)) as \(camera): \(running.map(\.rawValue).sorted().joined(separator: ", ")) on "
                + "\(entry.zones.count) zone(s) and \(entry.lines.count) line(s)"
                + (masks.map { ", under \($0.polygons.count) privacy mask(s)" } ?? ""))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        var frames = 0, alertCount = 0
        let started = Date()
        var progress = Progress(
            total: [source.duration, seconds].compactMap { $0 }.min().map { Int($0 * source.frameRate) })
        var still = running.contains(.unattendedObject) ? StillObjectDetector() : nil
        var sound = running.contains(.loudSound) ? LoudSoundListener(camera: entry.id) : nil
        do {
            for try await frame in source.frames {
                if let seconds, frame.time > seconds { break }
                masks?.apply(to: frame)
                let covered = try pipeline.track(frame)
                let people = TrackedObject.people(in: covered, width: source.width, height: source.height)
                let seen =
                    people
                    + (vehicles?.vehicles(in: frame, at: frame.time, width: source.width, height: source.height) ?? [])
                let stillObjects = still?.update(frame).map(StillObject.init) ?? []
                let origin = analytics.origin
                let sounds = sound?.alerts(for: frame.audio, origin: origin) ?? []
                let alerts =
                    sounds
                    + analytics.observe(
                        Observation(
                            time: frame.time, objects: seen,
                            aspectRatio: Double(source.width) / Double(max(1, source.height)),
                            stillObjects: stillObjects))
                    + (plates?.observe(
                        TrackedFrame(
                            camera: entry.id, time: frame.time, origin: origin, width: source.width,
                            height: source.height, tracks: covered, picture: frame)) ?? [])
                for alert in alerts {
                    var line = try encoder.encode(alert)
                    line.append(0x0A)
                    FileHandle.standardOutput.write(line)
                    alertCount += 1
                }
                if let writer {
                    Redactor(spec: policy.defaultRedaction).apply(to: frame, boxes: covered.map { ($0.kind, $0.box) })
                    AnalyticsOverlay.draw(
                        on: frame, camera: entry, masks: masks, people: seen,
                        alerted: Set(alerts.compactMap(\.track)))
                    try writer.write(frame)
                }
                frames += 1
                progress.update(frames: frames, elapsed: Date().timeIntervalSince(started))
            }
        } catch let error as MediaError {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        progress.finish()
        if let writer, let overlay {
            try writer.finish()
            printError("overlay: \(overlay)")
        }
        analytics.finish()
        for count in analytics.takeMinuteCounts() {
            var line = try encoder.encode(count)
            line.insert(contentsOf: Data(#"{"counts":"#.utf8), at: 0)
            line.append(contentsOf: Data("}\n".utf8))
            FileHandle.standardError.write(line)
        }
        let totals = analytics.lineTotals.sorted { $0.key.rawValue < $1.key.rawValue }
            .map { "\($0.key): \($0.value.in) in, \($0.value.out) out" }
        printError(
            "analysed \(frames) frame(s): \(alertCount) alert(s); people tracked: \(pipeline.tracksStarted)"
                + (totals.isEmpty ? "" : "; lines — " + totals.joined(separator: "; ")))
    }
}
