import ArgumentParser
import Foundation
import VeilCore
import VeilGateway
import VeilVault

// `veilgate vault approver-key`, `unmask-request`, `approve-unmask` and `unmask`: opening a camera's unmask layer
// under the two-person rule (docs/rights.md).

struct VaultApproverKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approver-key",
        abstract: "Make an unmasking approver's key pair (on the approver's side): NAME.key (0600) and NAME.pub.",
        discussion: """
            The DPO puts the public key, with the approver's role, in the policy (retention.unmasking.approvers); the \
            approver keeps NAME.key and uses it with `veilgate vault approve-unmask`.
            """
    )

    @Option(help: ArgumentHelp("Where to write the pair (NAME.key, NAME.pub).", valueName: "name")) var out: String

    func run() async throws {
        let publicKey = try await vaultOperation { try RecipientKey.generate(writingTo: out) }
        let hex = try String(contentsOfFile: out + ".pub", encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        print("wrote \(out).key (0600: keep it, never send it) and \(out).pub; key \(publicKey.fingerprint)")
        print("for the policy (retention.unmasking.approvers):  - {role: ROLE, key: \(hex)}")
    }
}

struct VaultUnmaskRequestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unmask-request",
        abstract: "Ask the two approvers to unmask a camera's footage in a range (writes a signed request for them)."
    )

    @OptionGroup var location: VaultLocation
    @OptionGroup var range: CameraRange
    @Option(help: ArgumentHelp("Why (the approvers read it; audited).", valueName: "text")) var reason: String
    @Option(name: .customLong("requested-by"), help: "Who asks (audited).") var requestedBy: String = "operator"
    @Option(name: .shortAndLong, help: ArgumentHelp("The request file to write.", valueName: "file")) var output: String

    func run() async throws {
        let (vault, _) = try await location.open()
        let (camera, start, end) = try range.parsed()
        let request = try await vaultOperation {
            try await vault.requestUnmask(
                camera: camera, from: start, to: end, reason: reason, by: requestedBy, writingTo: output)
        }
        let roles = request.approvers.sorted { $0.key < $1.key }.map {
            "\($0.key) (key \($0.value.joined(separator: " or ")))"
        }
        print(
            "request \(request.id): \(Set(request.shares.map(\.segment)).count) layer segment(s) of \(camera); written to \(output) and \(output).sig"
        )
        print("  send it to \(roles.joined(separator: " and ")); each runs:")
        print(
            "  veilgate vault approve-unmask \(output) --key APPROVER.key --public-key gateway-signing.pub -o approval.json"
        )
        print("  then: veilgate vault unmask --request \(request.id) --approval A.json --approval B.json -o clip.mp4")
    }
}

struct VaultApproveUnmaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve-unmask",
        abstract: "Approve an unmask request with your approver key (the approver's side; no vault needed)."
    )

    @Argument(help: ArgumentHelp("The request file (its .sig beside it).", valueName: "file")) var request: String
    @Option(help: ArgumentHelp("Your approver key (from `veilgate vault approver-key`).", valueName: "file.key"))
    var key: String
    @Option(
        name: .customLong("public-key"), help: ArgumentHelp("The gateway's public key.", valueName: "file"))
    var publicKey: String
    @Option(name: .shortAndLong, help: ArgumentHelp("The approval file to write.", valueName: "file")) var output:
        String

    func run() async throws {
        guard !FileManager.default.fileExists(atPath: output) else {
            throw ValidationError("\(output) already exists; choose a new file")
        }
        let (asked, approval) = try await vaultOperation {
            try UnmaskApprovals.approve(
                requestAt: request, publicKey: GatewayPublicKey.load(from: publicKey), key: RecipientKey.load(from: key)
            )
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard
            FileManager.default.createFile(
                atPath: output, contents: try encoder.encode(approval), attributes: [.posixPermissions: 0o600])
        else { throw ValidationError("\(output): cannot write") }
        print(
            "approved \(asked.id) as \(approval.role): camera \(asked.camera), \(asked.from) – \(asked.to), asked by \(asked.requestedBy)"
        )
        print("  reason: \(asked.reason)")
        print(
            "  covers \(approval.shares.count) tracked area(s) in \(Set(approval.shares.map(\.segment)).count) segment(s), each checked to be of that camera and time"
        )
        print("  wrote \(output): it opens nothing without the other role's approval, and serves this request only")
    }
}

struct VaultUnmaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unmask",
        abstract: "Render an unmasked clip of a request with two approvals of different roles (watermarked, audited)."
    )

    @OptionGroup var location: VaultLocation
    @Option(help: ArgumentHelp("The request id (unmask-…).", valueName: "id")) var request: String
    @Option(name: .customLong("approval"), help: ArgumentHelp("An approval file; give two.", valueName: "file"))
    var approvals: [String] = []
    @Option(name: .customLong("requested-by"), help: "Who renders the clip (audited).")
    var requestedBy: String = "operator"
    @Option(name: .shortAndLong, help: ArgumentHelp("The clip to write (.mp4).", valueName: "file")) var output: String

    func run() async throws {
        guard !FileManager.default.fileExists(atPath: output) else {
            throw ValidationError("\(output) already exists; choose a new file")
        }
        let decoded = try await vaultOperation { try approvals.map(UnmaskApproval.load) }
        let (vault, _) = try await location.open()
        let (asked, opened) = try await vaultOperation {
            try await vault.unmask(request: request, approvals: decoded, by: requestedBy)
        }
        let result = try await gatewayOperation {
            try await Unmasking.render(vault: vault, request: asked, opened: opened, to: output)
        }
        print(
            "unmasked \(asked.id): \(result.frames) frame(s) of \(asked.camera) from \(result.segments) segment(s), original pixels drawn back in \(result.framesUnmasked) of them (\(result.crops) area(s)); watermarked \"UNMASKED \(asked.id)\""
        )
        print("  wrote \(output); the request is used up (its approvals open nothing again); audited as unmask")
    }
}

struct VaultEraseSubjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase-subject",
        abstract:
            "Erase a data subject's regions from a camera's unmask layers (GDPR Art. 17); the redacted video stays.",
        discussion: """
            Point at the subject's covered face or plate in the redacted recording (--select X,Y@TIME, X and Y \
            normalised 0–1 or in pixels, TIME ISO 8601 or +SECONDS after --from; repeat for each moment the tracker took \
            them up anew), or name tracks (--track N). Every layer segment holding them is stored again without them and \
            the old one's key destroyed: nobody can unmask them again, whatever is approved.
            """
    )

    @OptionGroup var location: VaultLocation
    @OptionGroup var range: CameraRange
    @Option(
        name: .customLong("select"),
        help: ArgumentHelp("A point on the subject's cover at a moment.", valueName: "point"))
    var selections: [String] = []
    @Option(
        name: .customLong("track"),
        help: ArgumentHelp(
            "A track of the layer to erase, from its first segment in the range on (numbers restart with the pipeline: prefer --select).",
            valueName: "n"))
    var tracks: [Int] = []
    @Option(name: .customLong("requested-by"), help: "Who erases (audited).") var requestedBy: String = "dpo"

    func run() async throws {
        guard !selections.isEmpty || !tracks.isEmpty else {
            throw ValidationError("point at the subject with --select X,Y@TIME, or name tracks with --track N")
        }
        let (camera, start, end) = try range.parsed()
        let (vault, _) = try await location.open()
        var chosen = try await vaultOperation {
            tracks.isEmpty
                ? [] : try await vault.unmaskTracks(camera: camera, from: start, to: end, numbered: Set(tracks))
        }
        for text in selections {
            let selection = try gatewayOperation { try SubjectSelection.parse(text, rangeStart: start) }
            guard case .point(let x, let y, let date) = selection.target else {
                throw ValidationError("--select \(text): use --track N for a track")
            }
            let found = try await vaultOperation {
                try await vault.unmaskTracks(camera: camera, from: start, to: end, at: date, x: x, y: y)
            }
            guard !found.isEmpty else {
                throw ValidationError(
                    "--select \(text): no covered region of the unmask layer is there then; point at the subject's blurred face or plate"
                )
            }
            chosen.formUnion(found)
        }
        let selected = chosen
        let erased = try await vaultOperation {
            try await vault.eraseFromUnmaskLayers(
                camera: camera, from: start, to: end, tracks: selected, by: requestedBy)
        }
        print(
            "erased \(erased.regions) region(s) of \(Set(selected.map(\.track)).count) track(s) from \(erased.segments) unmask-layer segment(s) of \(camera); the redacted video is unchanged; audited as erasure"
        )
    }
}
