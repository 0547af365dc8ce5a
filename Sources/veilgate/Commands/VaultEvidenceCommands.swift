import ArgumentParser
import Foundation
import VeilAlerts
import VeilCore
import VeilFederation
import VeilPolicy
import VeilVault

// `veilgate vault hold …`, `vault export`, `vault verify-export` and `vault open-export`: evidence work on the vault.

struct VaultHoldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold", abstract: "Legal holds (evidence lock): exempt footage from expiry until released.",
        subcommands: [Place.self, Renew.self, Release.self, List.self])

    struct Place: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "place", abstract: "Place a hold on a camera's footage.")
        @OptionGroup var location: VaultLocation
        @OptionGroup var range: CameraRange
        @Option(
            name: .customLong("case"),
            help: ArgumentHelp("The case reference (stored with the hold, never logged).", valueName: "reference"))
        var caseReference: String?
        @Option(help: "Who places the hold.") var actor: String = "operator"

        func run() async throws {
            let (vault, _) = try await location.open()
            let (camera, start, end) = try range.parsed()
            let hold = try await vaultOperation {
                try await vault.placeHold(camera: camera, from: start, to: end, caseReference: caseReference, by: actor)
            }
            let expiry = hold.expiresAt.map { ", lapses \(ISO8601DateFormatter.veilgate($0)) unless renewed" } ?? ""
            print("placed \(hold.id) on \(camera) \(range.from) – \(range.to)\(expiry)")
        }
    }

    struct Renew: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "renew", abstract: "Extend a hold by the policy's maximum duration from now.")
        @OptionGroup var location: VaultLocation
        @Argument(help: "The hold id.") var hold: String
        @Option(help: "Who renews the hold.") var actor: String = "operator"

        func run() async throws {
            let (vault, _) = try await location.open()
            let renewed = try await vaultOperation { try await vault.renewHold(hold, by: actor) }
            print("renewed \(hold)" + (renewed.expiresAt.map { " until \(ISO8601DateFormatter.veilgate($0))" } ?? ""))
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "release", abstract: "Release a hold.")
        @OptionGroup var location: VaultLocation
        @Argument(help: "The hold id.") var hold: String
        @Option(help: "Who releases the hold.") var actor: String = "operator"

        func run() async throws {
            let (vault, _) = try await location.open()
            try await vaultOperation { try await vault.releaseHold(hold, by: actor) }
            print("released \(hold)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List active holds.")
        @OptionGroup var location: VaultLocation

        func run() async throws {
            let (vault, _) = try await location.open(mode: .readOnly)
            let holds = try await vaultOperation { try await vault.holds() }
            for hold in holds {
                print(
                    "\(hold.id)  \(hold.camera)  \(ISO8601DateFormatter.veilgate(hold.start)) – \(ISO8601DateFormatter.veilgate(hold.end))  placed by \(hold.placedBy)"
                )
            }
            print("\(holds.count) active hold(s)")
        }
    }
}

struct VaultExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a camera's footage in a range as a signed bundle a partner can verify."
    )

    @OptionGroup var location: VaultLocation
    @OptionGroup var range: CameraRange
    @Option(name: .shortAndLong, help: ArgumentHelp("The bundle folder to create.", valueName: "dir")) var output:
        String
    @Option(name: .customLong("requested-by"), help: "The operator or partner id the export is for (audited).")
    var requestedBy: String = "operator"
    @Option(
        help: ArgumentHelp(
            "Encrypt the export to this partner key (from `veilgate partner export-key`): only its holder opens it.",
            valueName: "file.pub"))
    var recipient: String?

    func run() async throws {
        let recipientKey = try await vaultOperation { try recipient.map { try RecipientPublicKey.load(from: $0) } }
        let (vault, _) = try await location.open()
        let (camera, start, end) = try range.parsed()
        let manifest = try await vaultOperation {
            try await vault.export(
                camera: camera, from: start, to: end, into: output, requestedBy: requestedBy, recipient: recipientKey)
        }
        print(
            "exported \(manifest.parts.count) segment(s) of \(camera) to \(output), signed by gateway key \(manifest.signer)"
                + (recipientKey.map { ", encrypted to recipient key \($0.fingerprint)" } ?? ""))
        print(
            "the receiving partner checks it with: veilgate vault verify-export \(output) --public-key gateway-signing.pub"
        )
        if recipientKey != nil {
            print(
                "and opens it with: veilgate vault open-export \(output) --key RECIPIENT.key --public-key gateway-signing.pub -o FOLDER"
            )
        } else {
            printError(
                "note: the parts are plain video: anyone who gets the bundle can watch it (--recipient encrypts it to the partner)"
            )
        }
    }
}

struct VaultVerifyExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-export",
        abstract: "Check an export bundle's signature and every part (chain of custody)."
    )

    @Argument(help: ArgumentHelp("The bundle folder.", valueName: "dir")) var bundle: String
    @Option(
        name: .customLong("public-key"), help: ArgumentHelp("The exporting gateway's public key.", valueName: "file"))
    var publicKey: String

    func run() async throws {
        let manifest = try await vaultOperation {
            try ExportVerifier.verify(bundle: bundle, publicKey: GatewayPublicKey.load(from: publicKey))
        }
        printSummary(of: manifest, "verified \(bundle)")
        if let transform = manifest.transform { print("  transform: \(transform)") }
        if let encryption = manifest.encryption {
            print(
                "  encrypted to recipient key \(encryption.recipient): its holder opens it with `veilgate vault open-export`"
            )
        }
    }
}

struct VaultOpenExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open-export",
        abstract: "Verify an export encrypted to you and decrypt it with your key (the receiving partner's side)."
    )

    @Argument(help: ArgumentHelp("The bundle folder.", valueName: "dir")) var bundle: String
    @Option(help: ArgumentHelp("Your recipient key (from `veilgate partner export-key`).", valueName: "file.key"))
    var key: String
    @Option(
        name: .customLong("public-key"), help: ArgumentHelp("The exporting gateway's public key.", valueName: "file"))
    var publicKey: String
    @Option(
        name: .shortAndLong, help: ArgumentHelp("The folder to write the opened export to (new).", valueName: "dir"))
    var output: String

    func run() async throws {
        let manifest = try await vaultOperation {
            try ExportVerifier.open(
                bundle: bundle, publicKey: GatewayPublicKey.load(from: publicKey), key: RecipientKey.load(from: key),
                into: output)
        }
        printSummary(of: manifest, "verified and opened \(bundle) into \(output)")
    }
}

/// What a verified export holds, where it came from and who signed it: `verify-export` and `open-export` say the same.
private func printSummary(of manifest: ExportManifest, _ verdict: String) {
    print("\(verdict): \(manifest.parts.count) part(s) of camera \(manifest.camera), \(manifest.from) – \(manifest.to)")
    print(
        "  exported \(manifest.createdAt) for \(manifest.requestedBy) under policy \(manifest.policyVersion), signed by \(manifest.signer)"
    )
}
