import ArgumentParser
import Foundation
import VeilCore
import VeilFederation
import VeilVault

/// `veilgate partner …`: the partner's side of the API, to see exactly what a certificate gets.
struct PartnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partner",
        abstract: "Call a Veilgate site's partner API with a client certificate (what a partner sees).",
        subcommands: [
            PartnerRequestCommand.self, PartnerExportKeyCommand.self, PartnerGetCommand.self, PartnerEventsCommand.self,
            PartnerLiveCommand.self, PartnerWatchlistCommand.self,
        ]
    )
}

struct PartnerIdentityOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The site, e.g. https://127.0.0.1:8443.", valueName: "url"))
    var server: String = "https://127.0.0.1:8443"

    @Option(help: ArgumentHelp("The client certificate (PEM); omit to connect without one.", valueName: "file"))
    var cert: String?

    @Option(help: ArgumentHelp("Its private key; default: the certificate's name with .key.", valueName: "file"))
    var key: String?

    @Option(help: ArgumentHelp("The site's CA certificate.", valueName: "file"))
    var ca: String = "certs/ca.pem"

    func client() async throws -> PartnerClient {
        let keyPath = key ?? cert.map { ($0 as NSString).deletingPathExtension + ".key" }
        return try await federationOperation {
            try PartnerClient(baseURL: server, certificatePath: cert, keyPath: keyPath, trustedCAPath: ca)
        }
    }
}

struct PartnerGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "GET a path (e.g. /v1/cameras); prints the status to stderr and the body to stdout or --output."
    )

    @OptionGroup var identity: PartnerIdentityOptions

    @Argument(help: ArgumentHelp("The path, e.g. /v1/cameras.", valueName: "path"))
    var path: String

    @Option(help: ArgumentHelp("A case or warrant reference, for grants that require one.", valueName: "text"))
    var justification: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the body to this file.", valueName: "file"))
    var output: String?

    func run() async throws {
        let client = try await identity.client()
        let response: PartnerClient.Response
        do {
            response = try await client.get(path, headers: justification.map { [("Veilgate-Justification", $0)] } ?? [])
        } catch {
            await client.shutdown()
            printError(
                "error: no answer from \(identity.server): the TLS handshake failed or the connection was refused (\(error))"
            )
            throw ExitCode(2)
        }
        await client.shutdown()
        printError("HTTP \(response.status)")
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: Data(response.body)) else {
                printError("error: cannot write \(output)")
                throw ExitCode(1)
            }
            printError("wrote \(response.body.count) bytes to \(output)")
        } else {
            print(response.text)
        }
        if response.status >= 400 { throw ExitCode(1) }
    }
}

struct PartnerEventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Follow /v1/alerts (Server-Sent Events), printing one JSON alert per line."
    )

    @OptionGroup var identity: PartnerIdentityOptions

    @Option(
        name: .customLong("last-event-id"),
        help: ArgumentHelp("Resume after this event id (0: from the start).", valueName: "id"))
    var lastEventID: Int64?

    @Option(help: "Stop after this many alerts.")
    var count: Int?

    @Option(
        help: ArgumentHelp(
            "Write each alert's snapshot to this folder as ID.jpg, printing the file's path in its place.",
            valueName: "folder"))
    var snapshots: String?

    func run() async throws {
        let client = try await identity.client()
        var received = 0
        if let snapshots {
            try FileManager.default.createDirectory(atPath: snapshots, withIntermediateDirectories: true)
        }
        do {
            try await client.events("/v1/alerts", lastEventID: lastEventID) { event in
                var data = event.data
                if let snapshots, let saved = Self.savingSnapshot(of: data, id: event.id, in: snapshots) {
                    data = saved
                }
                print("\(event.id.map(String.init) ?? "-")\t\(data)")
                received += 1
                return count.map { received < $0 } ?? true
            }
        } catch {
            await client.shutdown()
            printError("error: \(error)")
            throw ExitCode(1)
        }
        await client.shutdown()
    }

    /// The alert with its snapshot written to `folder` and replaced by the file's path; nil when it has none.
    static func savingSnapshot(of data: String, id: Int64?, in folder: String) -> String? {
        guard var alert = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any],
            let base64 = alert["snapshot"] as? String, let jpeg = Data(base64Encoded: base64)
        else { return nil }
        let path = (folder as NSString).appendingPathComponent("\(id.map(String.init) ?? UUID().uuidString).jpg")
        guard (try? jpeg.write(to: URL(fileURLWithPath: path))) != nil else { return nil }
        alert["snapshot"] = path
        guard let json = try? JSONSerialization.data(withJSONObject: alert, options: [.sortedKeys]) else { return nil }
        return String(decoding: json, as: UTF8.self)
    }
}

struct PartnerLiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract:
            "Follow a camera's live stream (HLS over mutual TLS) and write it as one fragmented MP4, or to stdout.",
        discussion: """
            The stream is redacted as the partner's live grant demands. FFmpeg's HLS reader does not present a \
            client certificate for segments, so this follows the playlist and writes the initialisation segment \
            and then every media segment in order: \
            `veilgate partner live market-square --cert police.pem -o - | ffplay -`.
            """
    )

    @OptionGroup var identity: PartnerIdentityOptions

    @Argument(help: ArgumentHelp("The camera id.", valueName: "camera"))
    var camera: String

    @Option(help: ArgumentHelp("A case or warrant reference, for grants that require one.", valueName: "text"))
    var justification: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("The MP4 file to write, or - for stdout.", valueName: "file"))
    var output: String

    @Option(help: ArgumentHelp("Stop after this much video (default: until interrupted).", valueName: "seconds"))
    var seconds: Double?

    func run() async throws {
        guard camera.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw ValidationError("'\(camera)' is not a camera id")
        }
        let sink: FileHandle
        if output == "-" {
            sink = .standardOutput
        } else {
            guard FileManager.default.createFile(atPath: output, contents: nil),
                let handle = FileHandle(forWritingAtPath: output)
            else {
                throw ValidationError("cannot create \(output)")
            }
            sink = handle
        }
        let client = try await identity.client()
        let follower = LiveStreamFollower(
            client: client, camera: camera,
            headers: justification.map { [("Veilgate-Justification", $0)] } ?? [],
            onUnavailable: { printError("HTTP 503 \($0)") })
        var written = 0.0, segments = 0, bytes = 0
        let limit = seconds
        do {
            try await follower.follow { chunk in
                switch chunk {
                case .initialization(let data):
                    sink.write(data)
                    bytes += data.count
                case .segment(let sequence, let duration, let data):
                    sink.write(data)
                    written += duration
                    segments += 1
                    bytes += data.count
                    printError("segment \(sequence): \(data.count) bytes, \(String(format: "%.1f", written)) s")
                }
                return limit.map { written < $0 } ?? true
            }
        } catch let error as FederationError {
            await client.shutdown()
            printError("error: \(error.message)")
            throw ExitCode(1)
        } catch {
            await client.shutdown()
            printError("error: \(error)")
            throw ExitCode(segments == 0 ? 2 : 1)
        }
        await client.shutdown()
        if output != "-" { try sink.close() }
        printError(
            "wrote \(segments) segment(s), \(String(format: "%.1f", written)) s, \(bytes) bytes"
                + (output == "-" ? "" : " to \(output)"))
    }
}

/// `veilgate partner request`: the partner makes its own key and a certificate request for the site to sign.
struct PartnerRequestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract:
            "Make a key (0600) and a certificate request for a site to sign (veilgate certs sign-request): the key stays here."
    )

    @Option(help: "Your partner id, as the site's policy names you.")
    var partner: String

    @Option(help: ArgumentHelp("The identity URI the site's policy names for you, if you know it.", valueName: "uri"))
    var uri: String?

    @Option(help: ArgumentHelp("Writes NAME.key and NAME.csr.", valueName: "name"))
    var out: String

    func run() async throws {
        guard PartnerID.isWellFormed(partner) else {
            throw ValidationError("--partner '\(partner.prefix(80))' is not a partner id")
        }
        let keyPath = out + ".key", requestPath = out + ".csr"
        try await federationOperation {
            try SiteAuthority.makeRequest(
                partner: PartnerID(partner), uri: uri, keyPath: keyPath, requestPath: requestPath)
        }
        print("key \(keyPath) (0600, keep it here) and request \(requestPath): send the request to the site")
    }
}

struct PartnerExportKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-key",
        abstract:
            "Make the key exports to this partner are encrypted to (on the partner's side): NAME.key (0600) and NAME.pub.",
        discussion: """
            Give NAME.pub to the site; keep NAME.key. The site's `veilgate vault export --recipient NAME.pub` then \
            writes a bundle only NAME.key opens, with `veilgate vault open-export`. See docs/rights.md.
            """
    )

    @Option(help: ArgumentHelp("Where to write the pair (NAME.key, NAME.pub).", valueName: "name")) var out: String

    func run() async throws {
        let publicKey = try await vaultOperation { try RecipientKey.generate(writingTo: out) }
        print(
            "wrote \(out).key (0600: keep it, never send it) and \(out).pub (give it to the site); key \(publicKey.fingerprint)"
        )
    }
}

/// `veilgate partner watchlist upload|show|clear`: the partner's own plate watchlist at a site (`/v1/watchlist`).
struct PartnerWatchlistCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watchlist",
        abstract: "Upload, show or clear your plate watchlist at a site (it keeps keyed hashes only).",
        discussion: """
            The file lists one PLATE,REFERENCE per line. Matches come as watchlist-match alerts on your alert stream, \
            carrying your reference (never the plate), to you alone. Needs a grant of watchlist-match alerts.
            """
    )

    enum Action: String, ExpressibleByArgument, CaseIterable {
        case upload, show, clear
    }

    @OptionGroup var identity: PartnerIdentityOptions

    @Argument(help: "upload, show or clear.") var action: Action
    @Argument(help: ArgumentHelp("The watchlist file (upload).", valueName: "file")) var file: String?
    @Option(help: ArgumentHelp("How long the site keeps it (at most 90d).", valueName: "duration"))
    var expires: String = "30d"

    func run() async throws {
        if action == .upload, file == nil { throw ValidationError("upload needs the watchlist file") }
        let body: [UInt8]? = try file.map { path in
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("\(path): cannot read the file")
            }
            return [UInt8](data)
        }
        let client = try await identity.client()
        let response: PartnerClient.Response
        do {
            switch action {
            case .upload:
                response = try await client.put(
                    "/v1/watchlist?expires=\(expires)", body: body ?? [], contentType: "text/csv")
            case .show: response = try await client.get("/v1/watchlist")
            case .clear: response = try await client.delete("/v1/watchlist")
            }
        } catch {
            await client.shutdown()
            printError("error: no answer from \(identity.server) (\(error))")
            throw ExitCode(2)
        }
        await client.shutdown()
        printError("HTTP \(response.status)")
        print(response.text)
        if response.status >= 400 { throw ExitCode(1) }
    }
}
