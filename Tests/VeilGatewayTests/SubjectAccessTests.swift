import Foundation
import Testing
import VeilCore
import VeilGateway
import VeilMedia
import VeilTestSupport
import VeilVault
import VeilVision

/// Issue 16, item 2: a subject access on stored original footage of vtest. The subject — the man in jeans walking
/// up the path on frames 50–100 (hand-marked: `vtest-people.json` 50: 667,252–711,373; 100: 582,149–617,237) — stays
/// visible, and every other hand-marked head on those frames is covered.
@Suite("Subject access (GDPR Art. 15)")
struct SubjectAccessTests {
    static let camera = CameraID("square")
    /// 2025-11-25 12:00 UTC: when the footage was recorded, in the test.
    static let recorded = Date(timeIntervalSince1970: 1_764_072_000)
    /// vtest frames 25 to 124 (10 fps), stored as two 5 s segments.
    static let firstFrame = 25, frameCount = 100
    static let length = 10.0

    /// The vtest ground truth on frames 50 and 100 (person boxes), as HeadCoverageTests reads it.
    static let marked: [Int: [Box]] = [
        50: [
            Box(x1: 544, y1: 211, x2: 583, y2: 306), Box(x1: 498, y1: 216, x2: 540, y2: 308),
            Box(x1: 667, y1: 252, x2: 711, y2: 373), Box(x1: 368, y1: 180, x2: 405, y2: 262),
            Box(x1: 405, y1: 180, x2: 430, y2: 260), Box(x1: 430, y1: 172, x2: 460, y2: 248),
        ],
        100: [
            Box(x1: 340, y1: 193, x2: 378, y2: 274), Box(x1: 373, y1: 177, x2: 405, y2: 262),
            Box(x1: 423, y1: 180, x2: 450, y2: 258), Box(x1: 489, y1: 145, x2: 523, y2: 221),
            Box(x1: 515, y1: 151, x2: 542, y2: 216), Box(x1: 582, y1: 149, x2: 617, y2: 237),
        ],
    ]
    static let subject: [Int: Box] = [
        50: Box(x1: 667, y1: 252, x2: 711, y2: 373), 100: Box(x1: 582, y1: 149, x2: 617, y2: 237),
    ]

    /// The top sixth of a marked person, the middle half across (HeadCoverageTests' head).
    static func head(of person: Box) -> Box {
        Box(
            x1: person.x1 + person.width * 0.25, y1: person.y1, x2: person.x2 - person.width * 0.25,
            y2: person.y1 + person.height / 6)
    }

    /// A vault holding vtest frames 25–124 as the camera's original footage, recorded from `recorded` on.
    static func vaultWithFootage() async throws -> (Vault, String) {
        let state = try TestPaths.temporaryFolder("veilgate-subject-access")
        let configuration = VaultConfiguration.standard(stateDirectory: state, environment: [:])
        try Vault.initialise(configuration)
        let vault = try Vault(configuration: configuration, schedule: KeepsCategories([.rawVideo, .redactedVideo]))
        let source = try MediaSource(address: TestPaths.vtest)
        let writer = try SegmentWriter(
            folder: state + "/recording", width: source.width, height: source.height, frameRate: source.frameRate,
            segmentDuration: 5)
        var segments: [SegmentWriter.Segment] = []
        var index = 0
        var firstTime: Double?
        while let frame = try source.nextFrame(), index < firstFrame + frameCount {
            defer { index += 1 }
            guard index >= firstFrame else { continue }
            firstTime = firstTime ?? frame.time
            if let closed = try writer.write(frame) { segments.append(closed) }
        }
        if let closed = try writer.finish() { segments.append(closed) }
        #expect(segments.count == 2)
        for segment in segments {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: segment.path)))
            let start = recorded.addingTimeInterval(segment.start - (firstTime ?? 0))
            try await vault.store(
                bytes,
                as: SegmentDescriptor(
                    camera: camera, category: .rawVideo, start: start,
                    end: recorded.addingTimeInterval(segment.end - (firstTime ?? 0)),
                    policyVersion: "subject-access-test", redaction: .unredacted))
        }
        return (vault, state)
    }

    /// How much of the original's detail (variance of horizontal and vertical luma differences) the output keeps in a
    /// box: about 1 where nothing was painted, near 0 under a blur.
    static func detailKept(
        _ box: Box, original: LumaFrame, output: LumaFrame
    )
        -> Double
    {
        func detail(_ luma: [UInt8], _ width: Int) -> Double {
            var values: [Double] = []
            for y in Int(box.y1)..<Int(box.y2) {
                for x in Int(box.x1)..<Int(box.x2) {
                    let here = Double(luma[y * width + x])
                    values.append(abs(here - Double(luma[y * width + x + 1])))
                    values.append(abs(here - Double(luma[(y + 1) * width + x])))
                }
            }
            let mean = values.reduce(0, +) / Double(max(values.count, 1))
            return values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(values.count, 1)) + mean * mean
        }
        let before = detail(original.luma, original.width)
        return before > 0 ? detail(output.luma, output.width) / before : 1
    }

    @Test("the subject stays visible and every other marked head is covered, in a signed export of stored footage")
    func subjectVisibleOthersCovered() async throws {
        let (vault, state) = try await Self.vaultWithFootage()
        // VEILGATE_DIAGNOSE keeps the export to look at.
        defer {
            if ProcessInfo.processInfo.environment["VEILGATE_DIAGNOSE"] == nil {
                try? FileManager.default.removeItem(atPath: state)
            } else {
                print("DIAG subject-access export kept in \(state)/subject-access")
            }
        }
        let from = Self.recorded, to = Self.recorded.addingTimeInterval(Self.length)
        let footage = try await FollowedFootage.follow(
            vault: vault, camera: Self.camera, from: from, to: to, models: VisionModels(directory: TestPaths.models))
        #expect(footage.frameCount == Self.frameCount)
        // The subject pointed at on frame 50 (2.5 s into the footage): the middle of his chest.
        let selection = try SubjectSelection.parse("689,300@+2.5", rangeStart: from)
        let transform = try SubjectAccessTransform(footage: footage, selections: [selection], request: "SAR-test-1")
        if ProcessInfo.processInfo.environment["VEILGATE_DIAGNOSE"] != nil {
            let selected = try footage.selectedTracklets([selection])
            let sightings = footage.subjectSightings(selected)
            print(
                "DIAG selected \(selected.map { "\($0.track)@\($0.frames.first!)-\($0.frames.last!)" }) chained \(sightings.chained): "
                    + Set(sightings.sightings.map(\.track)).sorted().map(String.init).joined(separator: ","))
            for tracklet in footage.tracklets where [32, 46, 21, 5, 43, 4, 26].contains(tracklet.track) {
                for (f, b) in zip(tracklet.frames, tracklet.boxes) where f >= 20 && f <= 40 {
                    print("DIAGF \(tracklet.track) \(f) \(Int(b.x1)),\(Int(b.y1))-\(Int(b.x2)),\(Int(b.y2))")
                }
            }
            for tracklet in footage.tracklets {
                let (a, b) = (tracklet.boxes.first!, tracklet.boxes.last!)
                print(
                    "DIAG tracklet \(tracklet.track) frames \(tracklet.frames.first!)-\(tracklet.frames.last!) from \(Int(a.x1)),\(Int(a.y1))-\(Int(a.x2)),\(Int(a.y2)) to \(Int(b.x1)),\(Int(b.y1))-\(Int(b.x2)),\(Int(b.y2))"
                )
            }
        }
        let bundle = state + "/subject-access"
        let manifest = try await vault.export(
            camera: Self.camera, from: from, to: to, into: bundle, requestedBy: "dpo", transform: transform,
            categories: [.rawVideo])
        // Signed, with the request on the record.
        let verified = try ExportVerifier.verify(bundle: bundle, publicKey: #require(vault.publicKey))
        #expect(verified == manifest)
        #expect(manifest.transformRecord?["request"] == "SAR-test-1")
        #expect(manifest.transformRecord?["selections"] == "689,300@2025-11-25T12:00:02.500Z")
        #expect(manifest.parts.allSatisfy { $0.redaction.hasPrefix("all but the subject") })
        let shown = try #require(Int(manifest.transformRecord?["frames-subject-shown"] ?? ""))
        #expect(shown >= 50, "the subject shown in \(shown) of \(Self.frameCount) frames")

        let parts = try manifest.parts.map {
            try [UInt8](Data(contentsOf: URL(fileURLWithPath: bundle + "/" + $0.file)))
        }
        let stored = try await vault.segments(camera: Self.camera, from: from, to: to)
            .sorted { $0.descriptor.start < $1.descriptor.start }
        let originals = try LumaFrame.all(of: await stored.asyncMap { try await vault.read($0.id) })
        let outputs = try LumaFrame.all(of: parts)
        #expect(originals.count == Self.frameCount && outputs.count == Self.frameCount)
        var report: [String] = []
        for (frame, people) in Self.marked.sorted(by: { $0.key < $1.key }) {
            let index = frame - Self.firstFrame
            for person in people {
                let kept = Self.detailKept(Self.head(of: person), original: originals[index], output: outputs[index])
                let isSubject = person == Self.subject[frame]
                report.append(
                    "frame \(frame) \(Int(person.x1)),\(Int(person.y1)) \(isSubject ? "subject" : "other"): \(Int(kept * 100)) %"
                )
                if isSubject {
                    #expect(
                        kept >= 0.6, "the subject's head on frame \(frame) keeps \(Int(kept * 100)) % of its detail")
                } else {
                    #expect(
                        kept < 0.3, "a head on frame \(frame) at \(person) keeps \(Int(kept * 100)) % of its detail")
                }
            }
        }
        print(
            "subject access on vtest: shown in \(shown) of \(Self.frameCount) frames; " + report.joined(separator: "; ")
        )
    }

    @Test("a point on nobody, a moment outside the footage and an unknown track are refused, saying what there is")
    func selectionsRefused() async throws {
        let (vault, state) = try await Self.vaultWithFootage()
        defer { try? FileManager.default.removeItem(atPath: state) }
        let from = Self.recorded
        let footage = try await FollowedFootage.follow(
            vault: vault, camera: Self.camera, from: from, to: from.addingTimeInterval(Self.length),
            models: VisionModels(directory: TestPaths.models), settings: .init(detectEvery: 5))
        // The grass at the bottom left: nobody there.
        let nobody = try SubjectSelection.parse("0.1,0.9@+2.5", rangeStart: from)
        #expect {
            _ = try SubjectAccessTransform(footage: footage, selections: [nobody], request: nil)
        } throws: { String(describing: $0).contains("nobody was found at that point then; people then: track:") }
        let late = try SubjectSelection.parse("0.5,0.5@+30", rangeStart: from)
        #expect {
            _ = try SubjectAccessTransform(footage: footage, selections: [late], request: nil)
        } throws: { String(describing: $0).contains("no footage of that moment") }
        #expect {
            _ = try SubjectAccessTransform(footage: footage, selections: [.init(.track(9999))], request: nil)
        } throws: { String(describing: $0).contains("no person has that track") }
        #expect(throws: GatewayError.self) { try SubjectSelection.parse("12@+1", rangeStart: from) }
        #expect(!footage.tracklets.isEmpty)
    }
}

extension Sequence {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
