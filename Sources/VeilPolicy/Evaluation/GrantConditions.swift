import Foundation
import VeilCore

/// One condition a grant puts on a request — as each of swift-certificates' verifier policies puts one on a chain.
/// A grant's conditions are built once, when the policy is compiled (only those the grant states), and checked in
/// order; the first unmet one says why the grant does not apply, and the evaluator moves on to the next grant.
///
/// A new kind of condition is a new type here, made in ``CompiledGrant/conditions(of:timeZone:)``; the evaluator does
/// not change.
protocol GrantCondition: Sendable {
    /// Nil when the request meets the condition; otherwise the reason the grant does not apply to it.
    func unmet(by request: AccessRequest, grant: RuleID, clock: inout LocalClock) -> Decision.Reason?
}

/// The grant ends with the day of its `expires:` date, in the policy's time zone.
struct GrantNotExpired: GrantCondition {
    let expiresAt: Date
    let expiryDate: CalendarDate

    func unmet(by request: AccessRequest, grant: RuleID, clock: inout LocalClock) -> Decision.Reason? {
        request.at >= expiresAt ? .grantExpired(grant, expiryDate) : nil
    }
}

/// The grant applies only during its `windows:` (local time).
struct WithinTimeWindows: GrantCondition {
    let windows: [TimeWindow]

    func unmet(by request: AccessRequest, grant: RuleID, clock: inout LocalClock) -> Decision.Reason? {
        clock.isOpen(windows) ? nil : .outsideTimeWindow(grant)
    }
}

/// An alert grant limited to some zones or lines: an alert of another zone, or of none, is not granted.
struct InGrantedZones: GrantCondition {
    let zones: Set<ZoneID>

    func unmet(by request: AccessRequest, grant: RuleID, clock: inout LocalClock) -> Decision.Reason? {
        request.zone.map(zones.contains) == true ? nil : .zoneNotGranted(grant)
    }
}

/// Footage no older than the grant's `max-age:`. A request must say which footage it wants: without a start, the age
/// cannot be checked, and the grant does not apply.
struct FootageWithinMaxAge: GrantCondition {
    let maxAge: PolicyDuration

    func unmet(by request: AccessRequest, grant: RuleID, clock: inout LocalClock) -> Decision.Reason? {
        guard let start = request.footageStart else { return .footageStartMissing(grant) }
        return request.at.timeIntervalSince(start) > Double(maxAge.seconds) ? .footageTooOld(grant, maxAge) : nil
    }
}

/// The request carries a justification (a case or warrant reference); only its presence is decided on.
struct JustificationGiven: GrantCondition {
    func unmet(by request: AccessRequest, grant: RuleID, clock: inout LocalClock) -> Decision.Reason? {
        request.hasJustification ? nil : .justificationMissing(grant)
    }
}

extension CompiledGrant {
    /// The conditions a grant states, in the order the evaluator reports them: expiry, time windows, zones, footage
    /// age, justification.
    static func conditions(of grant: PolicyDocument.Grant, timeZone: TimeZone) -> [any GrantCondition] {
        var conditions: [any GrantCondition] = []
        if let date = grant.expires {
            conditions.append(GrantNotExpired(expiresAt: date.endOfDay(in: timeZone), expiryDate: date))
        }
        if !grant.windows.isEmpty { conditions.append(WithinTimeWindows(windows: grant.windows)) }
        if !grant.zones.isEmpty { conditions.append(InGrantedZones(zones: Set(grant.zones))) }
        if let maxAge = grant.maxAge { conditions.append(FootageWithinMaxAge(maxAge: maxAge)) }
        if grant.justificationRequired { conditions.append(JustificationGiven()) }
        return conditions
    }
}
