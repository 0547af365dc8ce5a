import Foundation
import Logging
import Testing
import VeilCore
import VeilMedia
import VeilTestSupport
import VeilVault
import VeilVision

@testable import VeilGateway

/// Issue 16, item 3, on real footage: the camera pipeline records vtest redacted with an unmask layer beside it (and,
/// for the comparison only, the original); two approvals open the layer, and the rendered clip has the original pixels
/// back where the redaction covered them, and the request's watermark.
@Suite("Unmask layer on real footage")
struct UnmaskLayerTests {
    static func meanDifference(
        _ a: LumaFrame, _ b: LumaFrame,
        in crop: UnmaskLayer.Crop
    ) -> Double {
        var total = 0.0
        for y in crop.y..<crop.y + crop.height {
            for x in crop.x..<crop.x + crop.width {
                total += abs(Double(a.luma[y * a.width + x]) - Double(b.luma[y * b.width + x]))
            }
        }
        return total / Double(max(1, crop.width * crop.height))
    }

    @Test("recorded by the pipeline, opened with two approvals, rendered: the covered faces are back, watermarked")
    func recordedOpenedRendered() async throws {
        let state = try TestPaths.temporaryFolder("veilgate-unmask")
        defer {
            if ProcessInfo.processInfo.environment["VEILGATE_DIAGNOSE"] == nil {
                try? FileManager.default.removeItem(atPath: state)
            } else {
                print("DIAG kept \(state)")
            }
        }
        try RecipientKey.generate(writingTo: state + "/dpo")
        try RecipientKey.generate(writingTo: state + "/officer")
        let dpo = try RecipientKey.load(from: state + "/dpo.key")
        let officer = try RecipientKey.load(from: state + "/officer.key")

        // The default profile's faces and plates, as the example policy records redacted video.
        let profile = RedactionSpec(classes: [.faces, .plates], mode: .blur, shape: .ellipse, margin: 0.15)
        let live = MemoryLiveSink(wanted: [])
        let recordings = MemoryRecordingSink()
        var settings = CameraPipeline.Settings()
        settings.segmentDuration = 1
        // Detection on schedule whatever the machine's load: this measures the layer and erasure, not how detection
        // follows the CPU (under CI's load deferred detections once gave covers that overlapped every erased area).
        settings.lagTolerance = 1_000_000
        let pipeline = CameraPipeline(
            camera: "square", address: TestPaths.vtest, paced: true, live: live, models: CameraPipelineTests.models,
            settings: settings,
            recording: .init(
                categories: [.rawVideo: .unredacted, .redactedVideo: profile], segmentDuration: 3, sink: recordings,
                unmaskApprovers: [
                    .init(role: "dpo", key: dpo.publicKey), .init(role: "duty-officer", key: officer.publicKey),
                ]),
            tracks: nil, logger: Logger(label: "test"))
        try await CameraPipelineTests.run(pipeline, live: live) {
            recordings.segments.filter { $0.category == .unmaskLayer }.count >= 2
        }
        let recorded = recordings.segments
        let layers = recorded.filter { $0.category == .unmaskLayer }
        let raw = recorded.filter { $0.category == .rawVideo }
        let redacted = recorded.filter { $0.category == .redactedVideo }
        #expect(layers.count >= 2 && raw.count >= 2 && redacted.count >= 2)

        // Into a vault, as the gateway's recording sink stores them.
        let configuration = VaultConfiguration.standard(stateDirectory: state + "/state", environment: [:])
        try Vault.initialise(configuration)
        let vault = try Vault(
            configuration: configuration, schedule: KeepsCategories([.rawVideo, .redactedVideo, .unmaskLayer]))
        for segment in recorded {
            try await vault.store(
                [UInt8](segment.bytes),
                as: SegmentDescriptor(
                    camera: segment.camera, category: segment.category, start: segment.start, end: segment.end,
                    container: segment.category == .unmaskLayer ? UnmaskLayer.container : "mp4",
                    policyVersion: "unmask-test", redaction: segment.redaction))
        }
        try #require(redacted.count >= 2)
        let from = redacted[0].start, to = redacted[1].end
        let layerBytes = layers.filter { $0.start < to }.map(\.bytes.count).reduce(0, +)
        let rawBytes = raw.filter { $0.start < to }.map(\.bytes.count).reduce(0, +)
        let redactedBytes = redacted.filter { $0.start < to }.map(\.bytes.count).reduce(0, +)

        let decodedLayers = try layers.filter { $0.start < to }.map {
            try UnmaskLayer(decoding: [UInt8]($0.bytes), segment: "test")
        }
        let pixelBytes = decodedLayers.flatMap(\.tracks).map(\.sealed.ciphertext.count).reduce(0, +)
        let cropCount = decodedLayers.flatMap(\.tracks).map(\.crops.count).reduce(0, +)
        print(
            "unmask layer on vtest: \(decodedLayers.map(\.tracks.count)) tracks, \(cropCount) areas; pixels \(pixelBytes) bytes, the rest (where covers were) \(layerBytes - pixelBytes)"
        )
        let request = try await vault.requestUnmask(
            camera: "square", from: from, to: to.addingTimeInterval(-0.01), reason: "test", by: "operator",
            writingTo: state + "/request.json")
        let approvals = try [dpo, officer].map {
            try UnmaskApprovals.approve(
                requestAt: state + "/request.json", publicKey: #require(vault.publicKey), key: $0
            ).1
        }
        let (_, opened) = try await vault.unmask(request: request.id, approvals: approvals, by: "operator")
        #expect(!opened.isEmpty)
        if ProcessInfo.processInfo.environment["VEILGATE_DIAGNOSE"] != nil {
            for track in opened.prefix(12) {
                print(
                    "DIAG track \(track.track.track) \(track.track.kind) canvas \(track.track.canvasWidth)x\(track.track.canvasHeight) crops \(track.track.crops.count) bytes \(track.pixels.count) sizes \(Set(track.track.crops.map { "\($0.width)x\($0.height)" }))"
                )
            }
        }
        let result = try await Unmasking.render(
            vault: vault, request: request, opened: opened, to: state + "/unmasked.mp4")
        #expect(result.framesUnmasked > 0 && result.crops > 0)

        // Frame by frame against the original: where a face was covered, the rendered clip is the original again.
        let rendered = try LumaFrame.all(of: MediaSource(address: state + "/unmasked.mp4"))
        let originals = try raw.filter { $0.start < to }.flatMap { try LumaFrame.all(of: [[UInt8]($0.bytes)]) }
        let covered = try redacted.filter { $0.start < to }.flatMap { try LumaFrame.all(of: [[UInt8]($0.bytes)]) }
        #expect(
            rendered.count == covered.count && originals.count >= rendered.count,
            "rendered \(rendered.count), redacted \(covered.count), original \(originals.count), result \(result.frames)"
        )
        var restored: [Double] = [], hidden: [Double] = []
        let start = from.timeIntervalSince1970
        let crops = opened.flatMap(\.track.crops).filter { $0.width >= 8 && $0.height >= 8 && $0.y > 30 }
        for (index, frame) in rendered.enumerated() where index < originals.count {
            let date = start + Double(index) / 10
            for crop in crops where abs(crop.time - date) < 0.05 {
                restored.append(Self.meanDifference(frame, originals[index], in: crop))
                hidden.append(Self.meanDifference(covered[index], originals[index], in: crop))
            }
        }
        if ProcessInfo.processInfo.environment["VEILGATE_DIAGNOSE"] != nil {
            for shift in -1...1 {
                var total = 0.0, count = 0.0
                for (index, frame) in rendered.enumerated() where index + shift >= 0 && index + shift < originals.count
                {
                    let date = start + Double(index) / 10
                    for crop in crops where abs(crop.time - date) < 0.05 {
                        total += Self.meanDifference(frame, originals[index + shift], in: crop)
                        count += 1
                    }
                }
                print(
                    "DIAG drawn \(result.crops) of \(opened.flatMap(\.track.crops).count) in \(result.framesUnmasked) frames; crop times \(opened.flatMap(\.track.crops).prefix(4).map { $0.time - start }) segment starts \(redacted.prefix(2).map { $0.start.timeIntervalSince1970 - start })"
                )
                print(
                    "DIAG shift \(shift): \(total / max(1, count)) over \(Int(count)); times \(rendered.prefix(3).map(\.time)) \(originals.prefix(3).map(\.time)) \(covered.prefix(3).map(\.time))"
                )
            }
        }
        let meanRestored = restored.reduce(0, +) / Double(max(1, restored.count))
        let meanHidden = hidden.reduce(0, +) / Double(max(1, hidden.count))
        print(
            "unmask layer on vtest: \(restored.count) covered areas compared; mean luma difference from the original \(String(format: "%.1f", meanRestored)) unmasked, \(String(format: "%.1f", meanHidden)) redacted; layer \(layerBytes) bytes = \(String(format: "%.0f", 100 * Double(layerBytes) / Double(max(1, rawBytes)))) % of the raw video (\(rawBytes)), redacted video \(redactedBytes)"
        )
        #expect(restored.count >= 20)
        #expect(meanRestored < 4, "the unmasked areas are the original again")
        #expect(meanHidden > 3 * meanRestored, "and differ from it in the redacted recording")
        #expect(layerBytes < rawBytes, "the layer costs less than keeping raw video")
        // Art. 17: one subject's regions erased from the layer; a new request with new approvals unmasks everyone else,
        // and leaves them as the redacted recording had them.
        // The DPO points at the subject's blurred head, as `vault erase-subject --select` does: the woman walking on
        // frame 50 (hand-marked 544,211–583,306 in vtest-people.json), 5 s into the recording at 10 fps.
        let numbered = try await vault.unmaskTracks(
            camera: "square", from: from, to: to.addingTimeInterval(-0.01), at: from.addingTimeInterval(5), x: 563,
            y: 222)
        #expect(!numbered.isEmpty)
        let subject = Set(numbered.map(\.track)).sorted().map(String.init).joined(separator: ",")
        let erased = try await vault.eraseFromUnmaskLayers(
            camera: "square", from: from, to: to.addingTimeInterval(-0.01), tracks: numbered, by: "dpo")
        #expect(erased.segments >= 1 && erased.regions > 0)
        let again = try await vault.requestUnmask(
            camera: "square", from: from, to: to.addingTimeInterval(-0.01), reason: "test", by: "operator",
            writingTo: state + "/again.json")
        let approvedAgain = try [dpo, officer].map {
            try UnmaskApprovals.approve(requestAt: state + "/again.json", publicKey: #require(vault.publicKey), key: $0)
                .1
        }
        let reopened = try await vault.unmask(request: again.id, approvals: approvedAgain, by: "operator").1
        #expect(!reopened.isEmpty)
        #expect(
            !reopened.contains { track in
                numbered.contains { $0.segment == track.segment.id && $0.track == track.track.track }
            })
        _ = try await Unmasking.render(vault: vault, request: again, opened: reopened, to: state + "/after-erasure.mp4")
        let after = try LumaFrame.all(of: MediaSource(address: state + "/after-erasure.mp4"))
        var subjectAfter: [Double] = []
        let subjectCrops = opened.filter { track in
            numbered.contains { $0.segment == track.segment.id && $0.track == track.track.track }
        }.flatMap(\.track.crops).filter {
            $0.width >= 8 && $0.height >= 8 && $0.y > 30
        }
        for (index, frame) in after.enumerated() where index < originals.count {
            let date = start + Double(index) / 10
            for crop in subjectCrops where abs(crop.time - date) < 0.05 {
                // Where no one else's cover overlaps, the erased subject stays as the redaction left them.
                let others = reopened.flatMap(\.track.crops).filter { other in
                    abs(other.time - date) < 0.05 && other.x < crop.x + crop.width && crop.x < other.x + other.width
                        && other.y < crop.y + crop.height && crop.y < other.y + other.height
                }
                if others.isEmpty { subjectAfter.append(Self.meanDifference(frame, originals[index], in: crop)) }
            }
        }
        let meanAfter = subjectAfter.reduce(0, +) / Double(max(1, subjectAfter.count))
        print(
            "erasure by subject: track \(subject), \(erased.regions) regions erased; after it the subject's areas differ from the original by \(String(format: "%.1f", meanAfter)) (\(subjectAfter.count) areas)"
        )
        #expect(!subjectAfter.isEmpty)
        #expect(meanAfter > 3 * meanRestored, "the erased subject is not unmasked")

        // The watermark: a dark band with light letters at the top left of every frame.
        for frame in rendered.prefix(3) {
            let band = (10..<24).flatMap { y in (10..<120).map { x in frame.luma[y * frame.width + x] } }
            #expect(band.contains { $0 > 200 } && band.contains { $0 < 40 })
        }
    }
}
