import Foundation
import Testing
import VeilCore
import VeilMedia
import VeilTestSupport

@testable import VeilVision

/// Issue 3: in a wide CCTV shot (vtest.avi, people 35–150 px tall, faces far too small for the face
/// detector) the head of every walking person is covered. Ground truth: Fixtures/vtest-heads.json, 92 tight head boxes
/// on frames 0, 50, …, 750, checked by eye (issue 11: the earlier marks were loose person boxes whose "top sixth"
/// often lay above the head, which only a cover far larger than the head could satisfy).
@Suite("Heads of people in a wide CCTV shot")
struct HeadCoverageTests {
    static func headMarks() throws -> [Int: [Box]] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/vtest-heads.json")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        var result: [Int: [Box]] = [:]
        for (key, value) in object {
            guard let frame = Int(key), let boxes = value as? [[Double]] else { continue }
            result[frame] = boxes.map { Box(x1: $0[0], y1: $0[1], x2: $0[2], y2: $0[3]) }
        }
        return result
    }

    /// A head is covered when this much of its marked box is painted over.
    static let coveredShare = 0.8

    /// Measured: all 92 heads (91 of the loose marks before), with the detectors `veilgate redact` and the gateway use
    /// for faces with heads on (CenterFace; SSDLite at 0.2 on the frame plus a 2 × 2 grid of enlarged tiles;
    /// the motion fallback), detection every 5th frame, the tracker carrying boxes in between. Before the lower
    /// threshold, the motion fallback and the tracker's residues: 83 (people merged in groups or in front of each
    /// other, a small person half hidden by a car).
    /// `phase`: frames skipped before the pipeline starts. At 0 every sampled frame is a detection frame; at 2 each
    /// is three frames after one, so what covers the heads there is the tracker carrying boxes between detections.
    ///
    /// To see why: `VEILGATE_DIAGNOSE=1` prints each missed head with the pass's detections near it, and the painted
    /// area per frame split into covers seen in that frame and lost ones; `VEILGATE_DUMP=FILE` writes, per sampled
    /// frame, the painted boxes (track, seconds unseen, best network score, class) and the last pass's detections as
    /// JSON lines, to draw on the frames.
    @Test(
        "Heads of the walking people on sampled frames are covered, and no more of the rest obscured than today (default profile, one running pipeline)",
        arguments: [0, 2])
    func vtestHeads(phase: Int) async throws {
        try await HeavyTest.run {
            let truth = try Self.headMarks()
            #expect(truth.count == 16)
            let models = VisionModels(directory: VisionFixture.models)
            let source = try MediaSource(address: VisionFixture.data.appendingPathComponent("video/vtest.avi").path)
            var pipeline: RedactionPipeline?
            var heads = 0, covered = 0
            var missed: [String] = []
            var index = 0
            var tally = Collateral.Tally()
            var paintedShares: [Double] = []
            while let frame = try source.nextFrame() {
                defer { index += 1 }
                let target = index
                guard index >= phase else { continue }
                if pipeline == nil {
                    // One pipeline over the whole clip, as on a camera that keeps running.
                    // The example policy's default profile, so the collateral measured is what partners see.
                    let spec = CollateralTests.defaultProfile
                    pipeline = RedactionPipeline(
                        spec: spec, detectors: try models.detectors(for: spec.classes, headsOfPeople: true).detectors,
                        // Phase 2 measures what the tracker carries between scheduled
                        // detections, so no detection on motion moves them.
                        options: .init(detectEvery: 5, coverHeadsOfPeople: true, detectOnMotion: phase == 0))
                }
                // What is painted: the tracked boxes grown by the spec's margin (as the Redactor does).
                let margin = pipeline!.redactor.spec.margin
                let before = truth[target].map { _ in Collateral.detail(of: frame) }
                let coveredNow = try pipeline!.process(frame).filter { $0.kind == .faces }
                let boxes = coveredNow.map { $0.box.expanded(by: margin) }
                if ProcessInfo.processInfo.environment["VEILGATE_DIAGNOSE"] != nil, let heads = truth[target] {
                    func share(_ c: [RedactionTracker.Covered]) -> String {
                        Collateral.percent(
                            Collateral.paintedOutside(
                                c.map { $0.box.expanded(by: margin) }, ellipses: true, faces: heads, width: frame.width,
                                height: frame.height))
                    }
                    print(
                        "DIAG painted frame \(target): seen \(share(coveredNow.filter { $0.unseenFor == 0 })), lost \(share(coveredNow.filter { $0.unseenFor > 0 })); short \(share(coveredNow.filter { $0.unseenFor > 0 && $0.unseenFor < 0.3 })) long \(share(coveredNow.filter { $0.unseenFor >= 0.3 })) wide \(share(coveredNow.filter { $0.box.width > 1.6 * $0.box.height })) tall \(share(coveredNow.filter { $0.box.height > 1.3 * $0.box.width })); lost sizes "
                            + coveredNow.filter { $0.unseenFor > 0 }.map {
                                "\(Int($0.box.width))x\(Int($0.box.height))@\(String(format: "%.1f", $0.unseenFor))"
                            }.joined(separator: " "))
                }
                if let dump = ProcessInfo.processInfo.environment["VEILGATE_DUMP"], truth[target] != nil {
                    let line = coveredNow.map { c in
                        let b = c.box.expanded(by: margin)
                        return "[\(Int(b.x1)),\(Int(b.y1)),\(Int(b.x2)),\(Int(b.y2)),\(c.track),\(c.unseenFor),"
                            + "\(c.score),\"\(c.kind.rawValue)\"]"
                    }.joined(separator: ",")
                    let found = pipeline!.lastDetections.map { d in
                        "[\(Int(d.box.x1)),\(Int(d.box.y1)),\(Int(d.box.x2)),\(Int(d.box.y2)),\"\(d.kind.rawValue)\",\(d.score)]"
                    }.joined(separator: ",")
                    let text = "{\"phase\":\(phase),\"frame\":\(target),\"boxes\":[\(line)],\"found\":[\(found)]}\n"
                    if let handle = FileHandle(forWritingAtPath: dump) {
                        handle.seekToEndOfFile()
                        handle.write(Data(text.utf8))
                        try? handle.close()
                    } else {
                        _ = FileManager.default.createFile(atPath: dump, contents: Data(text.utf8))
                    }
                }
                guard let marked = truth[target], let before else { continue }
                tally =
                    tally
                    + Collateral.tally(
                        before: before, after: Collateral.detail(of: frame), faces: marked)
                paintedShares.append(
                    Collateral.paintedOutside(
                        boxes, ellipses: true, faces: marked, width: frame.width, height: frame.height))
                for head in marked {
                    heads += 1
                    let share = PlateRedactionTests.coverage(of: head, by: boxes, inner: 0)
                    if share >= Self.coveredShare {
                        covered += 1
                    } else {
                        missed.append("frame \(target) head \(Int(head.x1)),\(Int(head.y1)): \(Int(share * 100)) %")
                        if ProcessInfo.processInfo.environment["VEILGATE_DIAGNOSE"] != nil {
                            func text(_ b: Box) -> String { "\(Int(b.x1)),\(Int(b.y1))-\(Int(b.x2)),\(Int(b.y2))" }
                            let near = pipeline!.lastDetections.filter {
                                $0.box.intersectionOverUnion(head.expanded(by: 2)) > 0
                            }
                            print(
                                "DIAG phase \(phase) frame \(target) head \(text(head)): detections "
                                    + near.map {
                                        "\($0.kind.rawValue) \(text($0.box)) \(String(format: "%.2f", $0.score))"
                                    }
                                    .joined(separator: "; ")
                                    + " | painted "
                                    + boxes.filter { $0.intersectionOverUnion(head.expanded(by: 2)) > 0 }.map(text)
                                    .joined(
                                        separator: "; "))
                        }
                    }
                }
                if index >= 750 { break }
            }
            let painted = paintedShares.reduce(0, +) / Double(max(1, paintedShares.count))
            let worstPainted = paintedShares.max() ?? 0
            print(
                "vtest heads covered (phase \(phase)): \(covered) of \(heads); missed: \(missed); collateral \(tally); painted outside the heads \(Collateral.percent(painted)) of the picture on average, \(Collateral.percent(worstPainted)) at most"
            )
            #expect(
                tally.fraction <= CollateralTests.ceiling["video/vtest.avi"] ?? CollateralTests.goal,
                "collateral \(tally)")
            // The same judged by area, texture or not: an oval over empty road hides little texture but is plain to
            // see. 6.1–6.5 % before moving regions explained by the people found in them stopped getting head regions
            // of their own and lost covers grew to 1.3 × their size rather than 1.5 ×; 5.0–5.2 % then, measured
            // outside the loose marks' heads; 5.4–5.7 % outside the tight head marks; 4.9–5.2 % since head covers go
            // half a second after passes start missing them.
            #expect(painted <= 0.055, "painted outside the heads: \(Collateral.percent(painted)) of the picture")
            #expect(heads == 92 - (phase > 0 ? truth[0]?.count ?? 0 : 0))
            #expect(covered == heads, "every head covered; missed: \(missed)")
        }
    }

    /// The tile grid is looked at two tiles per pass, each tile at most twice a second of video: with detection on
    /// every 2nd frame of the 10 fps clip (every 0.2 s) each tile comes round every other pass, so at frame 50 (5.0 s)
    /// half the picture was last looked at closely 0.2 s before — its heads are covered by the whole-frame pass, the
    /// motion fallback and what the tracker carries from the last pass over their tile, which a pass that did not look
    /// at it does not count as a miss.
    @Test("Between two passes over a tile (two tiles a pass) the heads stay covered")
    func headsBetweenTilePasses() async throws {
        try await HeavyTest.run {
            let truth = try Self.headMarks()
            let models = VisionModels(directory: VisionFixture.models)
            let source = try MediaSource(address: VisionFixture.data.appendingPathComponent("video/vtest.avi").path)
            let detectors = try models.detectors(for: [.faces], headsOfPeople: true).detectors
            let people = try #require(detectors.compactMap { $0 as? PersonDetector }.first)
            let pipeline = RedactionPipeline(
                spec: RedactionSpec(classes: [.faces], mode: .solid), detectors: detectors,
                // As on a camera short of CPU (a pipeline economises after putting off a detection).
                options: .init(detectEvery: 2, coverHeadsOfPeople: true, detectOnMotion: false, economical: true))
            var heads = 0, covered = 0
            while let frame = try source.nextFrame(), frame.index <= 50 {
                let boxes = try pipeline.process(frame).filter { $0.kind == .faces }.map {
                    $0.box.expanded(by: pipeline.redactor.spec.margin)
                }
                for head in truth[frame.index] ?? [] {
                    heads += 1
                    if PlateRedactionTests.coverage(of: head, by: boxes, inner: 0) >= Self.coveredShare {
                        covered += 1
                    }
                }
            }
            // Detections at 0, 0.2, …, 5.0 s (and the passes lost tracks ask for): the first looks at every tile, each
            // after it at two that are due — each tile every 0.6 s.
            // Half the grid at a time, more often than the whole grid twice a second (9 passes by 5.0 s).
            #expect(people.tilePasses > 9)
            #expect(heads == (truth[0]?.count ?? 0) + (truth[50]?.count ?? 0))
            #expect(covered == heads)
        }
    }
}
