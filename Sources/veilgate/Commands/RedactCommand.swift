import ArgumentParser
import Foundation
import VeilCore
import VeilGateway
import VeilMedia
import VeilPolicy
import VeilVision

/// `veilgate redact`: faces, plates and people covered in a file, an image or a live source.
struct RedactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redact",
        abstract: "Redact faces, plates and people in a video, an image or a live source.",
        discussion: """
            Detects on the CPU every Nth frame (--detect-every) and at once when something new starts moving, \
            tracks between detections and fails closed: a face the detector misses for a moment stays covered. Video is re-encoded as H.264 MP4; JPEG and PNG images stay images.

            Examples:
              veilgate redact street.mp4 -o street-redacted.mp4
              veilgate redact city.jpg -o city-redacted.jpg --mode pixelate
              veilgate redact rtsp://10.0.0.5/stream1 -o live.mp4 --profile strict
            """
    )

    @Argument(
        help: ArgumentHelp(
            "A file (MP4, MKV, AVI, TS, JPEG, PNG) or an rtsp:// or http(s):// address.", valueName: "input"))
    var input: String

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp("The redacted output (.mp4, or .jpg/.png for images).", valueName: "file"))
    var output: String

    @Option(
        help: ArgumentHelp(
            "A redaction profile of the policy (default: the policy's default profile).", valueName: "name"))
    var profile: String?

    @Option(help: ArgumentHelp("Classes to cover instead of the profile's: faces,plates,persons.", valueName: "list"))
    var classes: String?

    @Option(help: "blur, pixelate or solid (overrides the profile).")
    var mode: String?

    @Option(
        name: .customLong("detect-every"),
        help: ArgumentHelp("Detect on every Nth frame; the tracker covers the rest.", valueName: "n"))
    var detectEvery: Int = 2

    @Flag(
        inversion: .prefixedNo, help: "Cover the heads of detected people, for faces too small to detect (wide shots).")
    var heads = true

    @Option(help: ArgumentHelp("Write every redacted box, frame by frame, as JSON lines.", valueName: "file"))
    var detections: String?

    @Option(help: "libx264 preset.")
    var preset: String = "veryfast"

    @Option(help: "libx264 constant rate factor (0–51).")
    var crf: Int = 23

    @Option(help: ArgumentHelp("Stop after this many seconds of input (live sources).", valueName: "seconds"))
    var seconds: Double?

    @Option(
        name: .customLong("face-threshold"),
        help: ArgumentHelp(
            "Face detector sensitivity, 0–1: lower finds more faces, and more that are none (default: the network's own — YuNet 0.45 for video, CenterFace 0.2 for pictures and --face-model).",
            valueName: "score"))
    var faceThreshold: Double?

    @Option(
        name: .customLong("face-model"),
        help: ArgumentHelp("The CenterFace model (default: $VEILGATE_MODELS or .cache/models).", valueName: "file"))
    var faceModel: String?

    @Option(
        help: ArgumentHelp(
            "A camera of the policy whose footage this is: its privacy masks are painted over first.", valueName: "id"))
    var camera: String?

    @OptionGroup var policyLocation: PolicyLocation

    func run() async throws {
        // The policy is read once, where something needs it: the profile (unless --classes), or --camera's masks.
        let hasPolicy = !(policyLocation.policy == "policies" && !FileManager.default.fileExists(atPath: "policies"))
        let policy: CompiledPolicy? = (classes == nil && hasPolicy) || camera != nil ? try loadPolicy() : nil
        let spec = try redactionSpec(policy: policy)
        var masks: PrivacyMasks?
        if let camera, let policy {
            masks = PrivacyMasks(try policy.camera(camera, for: "--camera"))
            if let masks {
                printError("painting \(masks.polygons.count) privacy mask(s) of camera \(camera) over every frame")
            }
        }
        let source: MediaSource
        do { source = try MediaSource(address: input) } catch let error as MediaError {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        let isImage = [".jpg", ".jpeg", ".png"].contains { output.lowercased().hasSuffix($0) }
        // A photo is looked at closely (small faces in a crowd); video at the speed a camera needs.
        let faceInputWidth = isImage ? min(1920, max(640, source.width * 2)) : 640
        let pipeline = RedactionPipeline(
            spec: spec, detectors: try makeDetectors(for: spec, faceInputWidth: faceInputWidth),
            options: .init(detectEvery: detectEvery, coverHeadsOfPeople: heads))
        var journal: FileHandle?
        if let detections {
            guard
                FileManager.default.createFile(
                    atPath: detections, contents: nil, attributes: [.posixPermissions: 0o600])
            else {
                throw ValidationError("\(detections): cannot create")
            }
            journal = FileHandle(forWritingAtPath: detections)
        }
        defer { try? journal?.close() }
        printError(
            "redacting \(redactedAddress(input)) (\(source.width)×\(source.height), \(source.codecName)) — covering \(spec)"
        )
        let started = Date()
        var frames = 0
        do {
            if isImage {
                guard let frame = try source.nextFrame() else { throw ValidationError("\(input): no picture") }
                masks?.apply(to: frame)
                let covered = try pipeline.process(frame)
                try record(covered, frame: frame, to: journal)
                try ImageWriter.write(frame, to: output)
                frames = 1
            } else {
                let writer = try MP4Writer(
                    path: output, width: source.width - source.width % 2, height: source.height - source.height % 2,
                    frameRate: source.frameRate, settings: EncoderSettings(preset: preset, crf: crf))
                let length = [source.duration, seconds].compactMap { $0 }.min()
                var progress = Progress(total: length.map { Int($0 * source.frameRate) })
                for try await frame in source.frames {
                    if let seconds, frame.time > seconds { break }
                    masks?.apply(to: frame)
                    let covered = try pipeline.process(frame)
                    try record(covered, frame: frame, to: journal)
                    try writer.write(frame)
                    frames += 1
                    progress.update(frames: frames, elapsed: Date().timeIntervalSince(started))
                }
                try writer.finish()
                progress.finish()
            }
        } catch let error as MediaError {
            printError("error: \(error)")
            throw ExitCode(1)
        } catch let error as VisionError {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        let elapsed = Date().timeIntervalSince(started)
        let perClass = pipeline.detectionsPerClass.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key.rawValue)" }
        print(
            "redacted \(frames) frame(s) in \(String(format: "%.1f", elapsed)) s (\(String(format: "%.1f", Double(frames) / max(elapsed, 0.001))) fps)"
        )
        print(
            "  detections: \(perClass.isEmpty ? "none" : perClass.joined(separator: ", ")); tracks: \(pipeline.tracksStarted); detections on motion: \(pipeline.detectionsOnMotion); decoder errors: \(source.decodeErrors)"
        )
        print("  output: \(output)" + (detections.map { "; boxes: \($0)" } ?? ""))
    }

    func loadPolicy() throws -> CompiledPolicy {
        do { return try policyLocation.load(at: Date()) } catch let error as PolicyError {
            throw reportPolicyError(error)
        }
    }

    /// What is redacted where there is no policy: what identifies a person in any footage.
    static let builtInDefault = RedactionSpec(classes: [.faces, .plates], mode: .blur, shape: .ellipse, margin: 0.15)

    /// The profile (or the classes and mode given), from the policy's redaction section; the built-in default where
    /// there is no policy.
    func redactionSpec(policy: CompiledPolicy?) throws -> RedactionSpec {
        var spec: RedactionSpec
        if let classes {
            let parsed = try classes.split(separator: ",").map { name -> RedactionClass in
                guard let value = RedactionClass(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--classes: '\(name)' is not one of faces, plates, persons, screens")
                }
                return value
            }
            spec = RedactionSpec(classes: Set(parsed), mode: .blur, shape: .ellipse, margin: 0.2)
        } else if let policy {
            if let profile {
                guard let named = policy.profiles[RuleID(profile)] else {
                    throw ValidationError(
                        "--profile: '\(profile)' is not a profile of the policy (\(policy.profiles.keys.map(\.rawValue).sorted().joined(separator: ", ")))"
                    )
                }
                spec = named
            } else {
                spec = policy.defaultRedaction
            }
        } else {
            // Outside a Veilgate site folder: anyone can still redact a photo or a clip.
            if let profile {
                throw ValidationError(
                    "--profile \(profile): there is no policy here (./policies) to take it from; name one with --policy"
                )
            }
            printError(
                "no policy here (./policies): using the built-in default profile — faces and plates, blurred (--policy FILE for a policy's profiles)"
            )
            spec = Self.builtInDefault
        }
        if let mode {
            guard let value = RedactionMode(rawValue: mode) else {
                throw ValidationError("--mode must be blur, pixelate or solid")
            }
            spec.mode = value
        }
        guard !spec.classes.isEmpty else { throw ValidationError("nothing to redact: the profile covers no class") }
        return spec
    }

    func makeDetectors(for spec: RedactionSpec, faceInputWidth: Int) throws -> [any ObjectDetector] {
        do {
            guard (0.01...0.99).contains(faceThreshold ?? 0.5) else {
                throw ValidationError("--face-threshold must be between 0.01 and 0.99")
            }
            let (detectors, warnings) = try VisionModels().detectors(
                for: spec.classes, headsOfPeople: heads, faceModel: faceModel,
                faceInputWidth: faceInputWidth, faceThreshold: faceThreshold)
            for warning in warnings { printError("warning: \(warning)") }
            return detectors
        } catch let error as VisionError {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }

    func record(_ covered: [RedactionTracker.Covered], frame: VideoFrame, to journal: FileHandle?) throws {
        guard let journal else { return }
        struct Line: Encodable {
            var frame: Int
            var time: Double
            var boxes: [RedactionTracker.Covered]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var data = try encoder.encode(Line(frame: frame.index, time: frame.time, boxes: covered))
        data.append(0x0A)
        journal.write(data)
    }
}

/// A one-line progress display on standard error: frames, rate, and time left when the length is known.
struct Progress {
    let total: Int?
    private var lastPrint = Date.distantPast
    private let interactive = isatty(STDERR_FILENO) != 0

    init(total: Int?) { self.total = total }

    mutating func update(frames: Int, elapsed: Double) {
        guard Date().timeIntervalSince(lastPrint) >= (interactive ? 0.25 : 5) else { return }
        lastPrint = Date()
        let rate = Double(frames) / max(elapsed, 0.001)
        var line = "  \(frames) frames, \(String(format: "%.1f", rate)) fps"
        if let total, total > 0 {
            let fraction = min(1, Double(frames) / Double(total))
            let filled = Int(fraction * 24)
            let remaining = Double(max(0, total - frames)) / max(rate, 0.001)
            line =
                "  [" + String(repeating: "#", count: filled) + String(repeating: ".", count: 24 - filled) + "] "
                + "\(Int(fraction * 100)) %  \(frames)/\(total) frames, \(String(format: "%.1f", rate)) fps, ETA \(Int(remaining)) s"
        }
        FileHandle.standardError.write(Data(((interactive ? "\r" : "") + line + (interactive ? "" : "\n")).utf8))
    }

    func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
