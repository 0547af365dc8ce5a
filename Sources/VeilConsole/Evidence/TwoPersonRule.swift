public import Foundation
import Synchronization
public import VeilCore

/// The two-person rule for what cannot be undone: an operator asks, and a second operator — another person, holding a
/// role the first does not — approves within a time limit; only then does the console act. Pending requests live in
/// memory: a gateway restart drops them (nothing happens without a fresh request), which fails closed.
public final class TwoPersonRule: Sendable {
    /// What waits for a second person.
    public struct Request: Sendable, Codable, Equatable {
        public enum Action: String, Sendable, Codable {
            /// Ends a legal hold (`subject`: the hold id); its footage then expires under the retention rules.
            case releaseHold = "release-hold"
            /// Erases a camera's footage in a range (GDPR Art. 17): `camera`, `from`, `to`; keys destroyed, for good.
            case erase
            /// A signed export of a camera's original (identifiable) footage in a range.
            case exportOriginal = "export-original"
            /// Watching a camera's original footage in a range in the console, for a limited time.
            case viewOriginal = "view-original"
        }

        public var id: String
        public var action: Action
        public var subject: String
        public var requestedBy: String
        /// The roles the requester held when asking (the approver must hold another allowed one).
        public var requesterRoles: [OperatorRole]
        public var requestedAt: Date
        public var expiresAt: Date
        /// What an erasure is of (nil for other actions).
        public var camera: String?
        public var from: Date?
        public var to: Date?
        /// Why the requester needs it, for the approver (original footage): kept in memory only, never logged.
        public var reason: String?
    }

    /// Why an approval is refused.
    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        case noSuchRequest
        case expired
        case samePerson
        case sameRole
        case notAllowed

        /// For the audit log.
        public var code: String {
            switch self {
            case .noSuchRequest: "no-such-request"
            case .expired: "expired"
            case .samePerson: "same-person"
            case .sameRole: "same-role"
            case .notAllowed: "not-allowed"
            }
        }

        public var description: String {
            switch self {
            case .noSuchRequest: "No such request waits for approval (done, withdrawn, or the gateway restarted)."
            case .expired: "The request expired before it was approved: ask again."
            case .samePerson: "A second person must approve: the requester cannot approve their own request."
            case .sameRole: "The approver must hold a role the requester does not."
            case .notAllowed: "Your roles do not allow approving this."
            }
        }
    }

    /// How long a request waits for its second person.
    public let timeLimit: TimeInterval
    private let pending = Mutex<[String: Request]>([:])
    private let clock: @Sendable () -> Date

    public init(timeLimit: TimeInterval = 30 * 60, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.timeLimit = timeLimit
        self.clock = clock
    }

    /// Records a request; a second request for the same action and subject replaces nothing and returns the first.
    public func request(
        _ action: Request.Action, subject: String, by requester: OperatorID, roles: Set<OperatorRole>,
        camera: String? = nil, from: Date? = nil, to: Date? = nil, reason: String? = nil
    ) -> Request {
        let now = clock()
        return pending.withLock { pending in
            pending = pending.filter { $0.value.expiresAt > now }
            // Original footage goes to whoever asked: only their own earlier request is the same one.
            let personal = action == .exportOriginal || action == .viewOriginal
            if let existing = pending.values.first(where: {
                $0.action == action && $0.subject == subject && (!personal || $0.requestedBy == requester.rawValue)
            }) {
                return existing
            }
            let request = Request(
                id: "approval-" + UUID().uuidString.lowercased().prefix(8), action: action, subject: subject,
                requestedBy: requester.rawValue, requesterRoles: roles.sorted(), requestedAt: now,
                expiresAt: now.addingTimeInterval(timeLimit), camera: camera, from: from, to: to, reason: reason)
            pending[request.id] = request
            return request
        }
    }

    /// Requests waiting now, oldest first.
    public func waiting() -> [Request] {
        let now = clock()
        return pending.withLock { pending in
            pending = pending.filter { $0.value.expiresAt > now }
            return pending.values.sorted { $0.requestedAt < $1.requestedAt }
        }
    }

    /// Takes a request out for execution if `approver` may approve it: another person, holding one of `allowed` that
    /// the requester did not hold. An expired request is dropped.
    public func approve(
        _ id: String, by approver: OperatorID, roles: Set<OperatorRole>, allowed: Set<OperatorRole>
    ) throws(Refusal) -> Request {
        let now = clock()
        let outcome: Result<Request, Refusal> = pending.withLock { pending in
            guard let request = pending[id] else { return .failure(.noSuchRequest) }
            guard request.expiresAt > now else {
                pending[id] = nil
                return .failure(.expired)
            }
            guard request.requestedBy != approver.rawValue else { return .failure(.samePerson) }
            let usable = roles.intersection(allowed)
            guard !usable.isEmpty else { return .failure(.notAllowed) }
            guard !usable.subtracting(request.requesterRoles).isEmpty else { return .failure(.sameRole) }
            pending[id] = nil
            return .success(request)
        }
        return try outcome.get()
    }

    /// Withdraws a request (its requester, or anyone allowed to approve it, may).
    public func withdraw(_ id: String) -> Request? { pending.withLock { $0.removeValue(forKey: id) } }
}
