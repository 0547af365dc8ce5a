import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VeilCore

// Footage out of the vault from the evidence page: signed export bundles (redacted at once, original once a second
// person approved) and watching original footage (once approved), each for the operator who asked, for a limited time,
// every download and every segment watched audited.
extension OperatorAPI {
    struct NewTakeout: Codable {
        var camera: String
        var from: Date
        var to: Date
        /// Original (identifiable) footage rather than what was stored redacted.
        var original: Bool?
        /// Why original footage is needed, for the approver.
        var reason: String?
    }

    /// The longest range one export or view may cover.
    static let maximumTakeoutSpan: TimeInterval = 24 * 3600

    /// The most a reason may say.
    static let maximumReason = 300

    /// The request's camera and range, checked; `alwaysOriginal` for a view (its body need not say `original`).
    func takeout(_ request: Request, alwaysOriginal: Bool) async throws -> NewTakeout {
        let body = try await request.body.collect(upTo: 16 * 1024)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard var takeout = try? decoder.decode(NewTakeout.self, from: Data(body.readableBytesView)),
            takeout.from < takeout.to
        else { throw ConsoleError(.refused, "Expected camera, from and to (ISO 8601 times, from before to).") }
        guard takeout.to.timeIntervalSince(takeout.from) <= Self.maximumTakeoutSpan else {
            throw ConsoleError(.refused, "One request covers at most 24 hours of footage.")
        }
        guard evidence.cameraIDs.contains(CameraID(takeout.camera)) else {
            throw ConsoleError(.refused, "The policy has no camera '\(takeout.camera.prefix(64))'.")
        }
        takeout.reason = takeout.reason?.trimmingCharacters(in: .whitespacesAndNewlines)
        let needsReason = alwaysOriginal || takeout.original == true
        takeout.original = needsReason
        if needsReason {
            guard let reason = takeout.reason, !reason.isEmpty, reason.count <= Self.maximumReason else {
                throw ConsoleError(
                    .refused,
                    "Original footage needs a reason for the approver (at most \(Self.maximumReason) characters).")
            }
        }
        let parts = try await evidence.footage(
            camera: CameraID(takeout.camera), from: takeout.from, to: takeout.to, original: needsReason)
        guard !parts.isEmpty else {
            throw ConsoleError(
                .refused,
                "The vault keeps no \(needsReason ? "original" : "redacted") footage of \(takeout.camera) in that range."
            )
        }
        return takeout
    }

    /// What a request for a camera's footage in a range is about, as the approvals list shows it.
    static func subject(camera: String, from: Date, to: Date) -> String {
        let formatter = ISO8601DateFormatter()
        return "\(camera) \(formatter.string(from: from)) – \(formatter.string(from: to))"
    }

    // MARK: Exports

    func listExports(_ context: ConsoleRequestContext) throws -> Response {
        try .json(grants.grants(of: context.operatorID ?? "").filter { $0.kind != .originalView })
    }

    /// Redacted footage: granted at once. Original footage: waits for a second person of the other role.
    func requestExport(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        let takeout = try await takeout(request, alwaysOriginal: false)
        if takeout.original != true {
            let grant = grants.grant(
                .export, camera: takeout.camera, from: takeout.from, to: takeout.to,
                requestedBy: context.operatorID?.rawValue ?? "")
            try await evidence.audit(
                "export-granted", actor: Self.actor(context), subject: "camera:\(takeout.camera)",
                details: ["export": grant.id])
            return try .json(grant, status: .created)
        }
        return try await askSecondPerson(.exportOriginal, takeout, context)
    }

    func askSecondPerson(
        _ action: TwoPersonRule.Request.Action, _ takeout: NewTakeout, _ context: ConsoleRequestContext
    ) async throws -> Response {
        let pending = approvals.request(
            action, subject: Self.subject(camera: takeout.camera, from: takeout.from, to: takeout.to),
            by: context.operatorID ?? "",
            roles: context.roles.intersection(Self.takeoutRoles), camera: takeout.camera, from: takeout.from,
            to: takeout.to, reason: takeout.reason)
        // The reason may name people: the audit log records that one was given, not what it says.
        try await evidence.audit(
            "approval-requested", actor: Self.actor(context), subject: "camera:\(takeout.camera)",
            details: ["action": action.rawValue, "approval": pending.id, "reason": "written"])
        return try .json(pending, status: .accepted)
    }

    /// The bundle as a tar stream, made from the vault for this download (audited as an export) and removed after it:
    /// no plaintext copy of the footage stays on the gateway's disk.
    func exportArchive(_ context: ConsoleRequestContext) async throws -> Response {
        guard let grant = grants.grant(context.parameters.get("export") ?? "", of: context.operatorID ?? ""),
            grant.kind != .originalView
        else { throw ConsoleError(.refused, "No such export of yours in force (exports last 24 hours).") }
        let actor = Self.actor(context) + (grant.approvedBy.map { " approved by operator:\($0)" } ?? "")
        let folder = try await evidence.exportBundle(
            camera: CameraID(grant.camera), from: grant.from, to: grant.to, original: grant.kind == .originalExport,
            by: actor)
        let evidence = self.evidence
        let files = TarArchive.files(in: folder)
        let name = "veilgate-\(grant.camera)-\(grant.id).tar"
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/x-tar", .contentDisposition: "attachment; filename=\"\(name)\"",
                .cacheControl: "no-store",
            ],
            body: .init { writer in
                defer { evidence.discardExport(folder) }
                try await Self.writeTar(files, in: folder, into: &writer)
            })
    }

    static func writeTar(_ files: [String], in folder: String, into writer: inout any ResponseBodyWriter) async throws {
        let now = Date()
        for file in files {
            guard let handle = FileHandle(forReadingAtPath: folder + "/" + file) else { continue }
            defer { try? handle.close() }
            let size = Int(
                (try? FileManager.default.attributesOfItem(atPath: folder + "/" + file)[.size] as? NSNumber)?.intValue
                    ?? 0)
            guard let header = TarArchive.header(name: file, size: size, modified: now) else { continue }
            try await writer.write(ByteBuffer(bytes: header))
            var written = 0
            while written < size, let chunk = try handle.read(upToCount: min(1 << 18, size - written)), !chunk.isEmpty {
                try await writer.write(ByteBuffer(bytes: chunk))
                written += chunk.count
            }
            // A file that shrank under us would break the archive's framing: pad it to the size the header gave.
            if written < size { try await writer.write(ByteBuffer(repeating: 0, count: size - written)) }
            try await writer.write(ByteBuffer(repeating: 0, count: TarArchive.padding(after: size)))
        }
        try await writer.write(ByteBuffer(bytes: TarArchive.end))
        try await writer.finish(nil)
    }

    // MARK: Original footage

    struct OriginalView: Codable {
        var view: EvidenceGrants.Grant
        var parts: [ConsoleFootagePart]
    }

    func listViews(_ context: ConsoleRequestContext) async throws -> Response {
        var views: [OriginalView] = []
        for grant in grants.grants(of: context.operatorID ?? "") where grant.kind == .originalView {
            views.append(
                OriginalView(
                    view: grant,
                    parts: try await evidence.footage(
                        camera: CameraID(grant.camera), from: grant.from, to: grant.to, original: true)))
        }
        return try .json(views)
    }

    func requestView(_ request: Request, _ context: ConsoleRequestContext) async throws -> Response {
        try await askSecondPerson(.viewOriginal, try await takeout(request, alwaysOriginal: true), context)
    }

    /// One segment of an approved view, for its requester, while it lasts; each one watched is audited.
    func originalSegment(_ context: ConsoleRequestContext) async throws -> Response {
        let segment = context.parameters.get("segment") ?? ""
        guard let view = grants.grant(context.parameters.get("view") ?? "", of: context.operatorID ?? ""),
            view.kind == .originalView,
            let bytes = try await evidence.originalSegment(
                segment, camera: CameraID(view.camera), from: view.from, to: view.to)
        else { return Response(status: .notFound) }
        try await evidence.audit(
            "original-viewed", actor: Self.actor(context), subject: "camera:\(view.camera)",
            details: ["view": view.id, "segment": String(segment.prefix(80)), "approved-by": view.approvedBy ?? ""])
        return Response(
            status: .ok, headers: [.contentType: "video/mp4", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
