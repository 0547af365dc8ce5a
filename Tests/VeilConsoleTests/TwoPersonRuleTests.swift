import Foundation
import Synchronization
import Testing
import VeilConsole
import VeilCore

@Suite("The two-person rule")
struct TwoPersonRuleTests {
    final class Clock: Sendable {
        let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        func advance(_ seconds: TimeInterval) { now.withLock { $0 += seconds } }
    }

    @Test("Another person of another allowed role approves once, within the time limit")
    func approval() throws {
        let clock = Clock()
        let rule = TwoPersonRule(timeLimit: 600, clock: { clock.now.withLock { $0 } })
        let allowed: Set<OperatorRole> = [.evidenceOfficer, .dpo]
        let request = rule.request(.releaseHold, subject: "hold-1", by: "desk", roles: [.evidenceOfficer])
        // Asking twice for the same thing is the same request.
        #expect(rule.request(.releaseHold, subject: "hold-1", by: "other", roles: [.dpo]).id == request.id)
        #expect(throws: TwoPersonRule.Refusal.samePerson) {
            try rule.approve(request.id, by: "desk", roles: [.evidenceOfficer, .dpo], allowed: allowed)
        }
        #expect(throws: TwoPersonRule.Refusal.sameRole) {
            try rule.approve(request.id, by: "colleague", roles: [.evidenceOfficer], allowed: allowed)
        }
        #expect(throws: TwoPersonRule.Refusal.notAllowed) {
            try rule.approve(request.id, by: "control", roles: [.operator, .auditor], allowed: allowed)
        }
        let approved = try rule.approve(request.id, by: "dpo-office", roles: [.dpo, .auditor], allowed: allowed)
        #expect(approved.subject == "hold-1" && approved.requestedBy == "desk")
        #expect(throws: TwoPersonRule.Refusal.noSuchRequest) {
            try rule.approve(request.id, by: "dpo-office", roles: [.dpo], allowed: allowed)
        }
    }

    @Test("A request not approved in time expires and cannot be approved")
    func expiry() {
        let clock = Clock()
        let rule = TwoPersonRule(timeLimit: 600, clock: { clock.now.withLock { $0 } })
        let request = rule.request(.releaseHold, subject: "hold-2", by: "desk", roles: [.evidenceOfficer])
        clock.advance(599)
        #expect(rule.waiting().map(\.id) == [request.id])
        clock.advance(2)
        #expect(throws: TwoPersonRule.Refusal.expired) {
            try rule.approve(request.id, by: "dpo-office", roles: [.dpo], allowed: [.dpo, .evidenceOfficer])
        }
        #expect(rule.waiting().isEmpty)
    }
}
