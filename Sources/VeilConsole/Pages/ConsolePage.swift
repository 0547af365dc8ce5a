import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VeilCore

/// The console's pages and the files they load. Every page is the same document (`Assets/index.html`), whose script
/// draws the page its path names; the server decides first whether the operator may open it, and answers 403 with a
/// page saying why when not. Scripts and styles are the console's own, compiled into the binary; CodeMirror comes from
/// Debian's libjs-codemirror when it is installed (the policy editor falls back to a plain text area without it), and
/// Leaflet from libjs-leaflet for the camera map (the cameras page lists cameras without a map when it is missing).
enum ConsolePage {
    static let assets: [String: (bytes: [UInt8], type: String)] = [
        "console.js": (PackageResources.console_js, "text/javascript; charset=utf-8"),
        "console.css": (PackageResources.console_css, "text/css; charset=utf-8"),
    ]

    /// The files of libjs-codemirror the policy editor loads; nothing else of that folder is served.
    static let vendorFiles: [String: String] = [
        "codemirror.js": "lib/codemirror.js", "codemirror.css": "lib/codemirror.css",
        "yaml.js": "mode/yaml/yaml.js",
    ]

    /// The files of libjs-leaflet the camera map loads.
    static let leafletFiles: Set<String> = ["leaflet.js", "leaflet.css"]

    static func register(
        on router: Router<ConsoleRequestContext>, vendorDirectory: String?, leafletDirectory: String?
    ) {
        router.get("/") { _, context -> Response in
            let first = ConsolePageKind.allCases.first { context.holds(any: $0.roles) } ?? .cameras
            return Response(status: .seeOther, headers: [.location: "/\(first.rawValue)"])
        }
        for page in ConsolePageKind.allCases {
            router.get(RouterPath(page.rawValue)) { _, context -> Response in
                guard context.holds(any: page.roles) else {
                    return refusal(
                        .forbidden,
                        "\(page.title) is for \(page.roles.sorted().map(\.rawValue).joined(separator: " or ")); your roles: \(context.roles.sorted().map(\.rawValue).joined(separator: ", ")).",
                        navigation: true)
                }
                return Response(
                    status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.index_html)))
            }
        }
        router.get("assets/:file") { _, context -> Response in
            guard let asset = assets[context.parameters.get("file") ?? ""] else { return Response(status: .notFound) }
            return Response(
                status: .ok, headers: [.contentType: asset.type, .cacheControl: "no-cache"],
                body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
        }
        router.get("vendor/codemirror/:file") { _, context -> Response in
            guard let vendorDirectory, let relative = vendorFiles[context.parameters.get("file") ?? ""],
                let data = FileManager.default.contents(atPath: vendorDirectory + "/" + relative)
            else { return Response(status: .notFound) }
            return vendorFile(data, css: relative.hasSuffix(".css"))
        }
        router.get("vendor/leaflet/:file") { _, context -> Response in
            let file = context.parameters.get("file") ?? ""
            guard let leafletDirectory, leafletFiles.contains(file),
                let data = FileManager.default.contents(atPath: leafletDirectory + "/" + file)
            else { return Response(status: .notFound) }
            return vendorFile(data, css: file.hasSuffix(".css"))
        }
    }

    static func vendorFile(_ data: Data, css: Bool) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: css ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8",
                .cacheControl: "max-age=3600",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A refusal as a small page (with a way back to the console when the operator is known) — a browser shows it as
    /// it is; an API client reads the status.
    static func refusal(_ status: HTTPResponse.Status, _ message: String, navigation: Bool = false) -> Response {
        let page = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(status.code) — Veilgate console</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <link rel="stylesheet" href="/assets/console.css"></head>
            <body><main class="refusal"><h1>\(status.code) \(escape(status.reasonPhrase))</h1><p id="refusal">\(escape(message))</p>
            \(navigation ? "<p><a href=\"/\">Back to the console</a></p>" : "")</main></body></html>
            """
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
