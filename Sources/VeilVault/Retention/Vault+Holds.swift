public import Foundation
public import VeilCore

extension Vault {
    /// Places a legal hold: the camera's footage in the range is exempt from expiry until released.
    /// The case reference is stored with the hold but never written to the audit log or printed.
    public func placeHold(
        camera: CameraID, from: Date, to: Date, caseReference: String?, by actor: String,
        at now: Date = Date()
    ) throws -> LegalHold {
        guard to > from else { throw VaultError(.invalidArgument, "a hold must end after it starts") }
        if schedule?.legalHoldRequiresCaseReference ?? true,
            (caseReference ?? "").trimmingCharacters(in: .whitespaces).isEmpty
        {
            throw VaultError(.invalidArgument, "the policy requires a case reference to place a hold")
        }
        var row = HoldRow(
            id: "hold-" + UUID().uuidString.lowercased().prefix(8), camera: camera.rawValue,
            start: from.timeIntervalSince1970, end: to.timeIntervalSince1970, caseReference: caseReference,
            placedAt: now.timeIntervalSince1970, placedBy: Canonical.plainLine(actor),
            expiresAt: schedule?.legalHoldMaxDuration.map { now.timeIntervalSince1970 + Double($0.seconds) },
            releasedAt: nil, releasedBy: nil)
        row.mac = authenticator.mac(row.authenticatedFields)
        try write { index in
            try index.insert(row)
            _ = try audit.append(
                index, .holdPlaced, actor: actor, subject: row.id,
                details: [
                    "camera": camera.rawValue, "from": Self.timestamp(from), "to": Self.timestamp(to),
                ], at: now)
        }
        return LegalHold(row)
    }

    /// Releases a hold; its footage expires at the next sweep if past retention.
    public func releaseHold(_ id: String, by actor: String, at now: Date = Date()) throws {
        try endHold(id, by: actor, at: now, reason: "released")
    }

    /// Renews a hold for another maximum duration from now (a hold with no maximum needs no renewal).
    public func renewHold(_ id: String, by actor: String, at now: Date = Date()) throws -> LegalHold {
        try write { index in
            guard var row = try index.hold(id: id), row.releasedAt == nil,
                authenticator.isValid(row.mac, row.authenticatedFields)
            else { throw VaultError(.notFound, "no active hold \(id)") }
            row.expiresAt = schedule?.legalHoldMaxDuration.map { now.timeIntervalSince1970 + Double($0.seconds) }
            row.mac = authenticator.mac(row.authenticatedFields)
            try index.update(row)
            _ = try audit.append(
                index, AuditLog.Action("hold-renewed"), actor: actor, subject: id,
                details: ["camera": row.camera], at: now)
            return LegalHold(row)
        }
    }

    /// Marks a hold that reached its maximum duration as ended, with an audit entry.
    func lapseHold(_ id: String, actor: String) throws {
        try endHold(id, by: actor, at: Date(), reason: "lapsed")
    }

    private func endHold(_ id: String, by actor: String, at now: Date, reason: String) throws {
        try write { index in
            guard var row = try index.hold(id: id), row.releasedAt == nil,
                authenticator.isValid(row.mac, row.authenticatedFields)
            else { throw VaultError(.notFound, "no active hold \(id)") }
            row.releasedAt = now.timeIntervalSince1970
            row.releasedBy = Canonical.plainLine(actor)
            row.mac = authenticator.mac(row.authenticatedFields)
            try index.update(row)
            _ = try audit.append(
                index, .holdReleased, actor: actor, subject: id, details: ["camera": row.camera, "reason": reason],
                at: now)
        }
    }

    /// Active holds whose rows authenticate, as time ranges per camera. Holds past their maximum duration go to
    /// `plan.lapsedHolds`; rows that fail authentication go to `plan.tampered` and protect nothing.
    func activeHolds(at now: Date, plan: inout RetentionPlan) throws -> [CameraID: [(start: Double, end: Double)]] {
        let rows = try readIndex { try $0.holds(includeReleased: false) }
        var holds: [CameraID: [(start: Double, end: Double)]] = [:]
        for row in rows {
            guard authenticator.isValid(row.mac, row.authenticatedFields) else {
                plan.tampered.append("hold \(row.id)")
                continue
            }
            if let expiresAt = row.expiresAt, expiresAt <= now.timeIntervalSince1970 {
                plan.lapsedHolds.append(row.id)
                continue
            }
            holds[CameraID(row.camera), default: []].append((row.start, row.end))
        }
        return holds
    }

    public func holds(includeReleased: Bool = false) throws -> [LegalHold] {
        try readIndex { try $0.holds(includeReleased: includeReleased) }
            .filter { authenticator.isValid($0.mac, $0.authenticatedFields) }.map(LegalHold.init)
    }

    /// Erases a camera's footage in a range (GDPR Art. 17): destroys the segment keys, the files and the
    /// rows, and the keys of buckets left empty; records it. Refuses footage under a legal hold.
    public func erase(camera: CameraID, from: Date, to: Date, by actor: String, at now: Date = Date()) throws -> Int {
        var scratch = RetentionPlan(now: now, policyVersion: schedule?.policyVersion ?? "")
        let holds = try activeHolds(at: now, plan: &scratch)
        let overlapping =
            holds[camera]?.filter { $0.start < to.timeIntervalSince1970 && $0.end > from.timeIntervalSince1970 } ?? []
        guard overlapping.isEmpty else {
            throw VaultError(
                .onHold,
                "footage of \(camera) in this range is under a legal hold; release it first (veilgate vault hold list)")
        }
        let footage = try readIndex {
            try $0.segments(camera: camera.rawValue, overlapping: from.timeIntervalSince1970, to.timeIntervalSince1970)
        }
        let ids = footage.map(\.id)
        let buckets = Array(Set(footage.map(\.bucket))).sorted()
        try destroySegments(
            ids,
            audit: (
                .erasure, actor, camera.rawValue, [],
                [
                    "from": Self.timestamp(from), "to": Self.timestamp(to), "segments": String(ids.count),
                ]
            ))
        let empty = try readIndex { index in try buckets.filter { try index.segmentCount(inBucket: $0) == 0 } }
        _ = try destroyBuckets(empty, actor: actor, reason: "erasure")
        return ids.count
    }
}
