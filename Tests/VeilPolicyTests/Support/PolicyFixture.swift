import Foundation
import Testing
import VeilCore
import VeilTestSupport

@testable import VeilPolicy

/// A small, valid policy that exercises every section; tests mutate it one line at a time.
enum PolicyFixture {
    static let base = """
        veilgate: policy/v1
        metadata:
          controller: Test City
          dpo: {name: Test DPO, email: dpo@test.example}
          dpia: DPIA-1
          version: "1"
          effective: 2026-01-01
          site: test
          timezone: Europe/Berlin
        purposes:
          - id: safety
            description: Detect fights and falls on the test square so that help arrives quickly
            basis: public-task
          - id: investigation
            description: Provide footage of reported crimes on the test square to the police with a case reference
            basis: legal-obligation
        cameras:
          - id: cam-a
            source: rtsp://10.0.0.1/stream
            purposes: [safety, investigation]
            produces: [raw-video, redacted-video, events, counts]
            analytics: [loitering, crowd-count]
            zones:
              - id: zone-1
                polygon: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]
          - id: cam-b
            source: rtsp://10.0.0.2/stream
            purposes: [safety]
            produces: [redacted-video, events]
            analytics: [crowd-count]
        retention:
          rules:
            - id: raw-48h
              cameras: [cam-a]
              category: raw-video
              duration: 48h
            - id: redacted-7d
              cameras: "*"
              category: redacted-video
              duration: 7d
            - id: events-30d
              cameras: "*"
              category: events
              duration: 30d
            - id: counts-1y
              cameras: "*"
              category: counts
              duration: 365d
        redaction:
          default: standard
          profiles:
            - id: standard
              classes: [faces, plates]
            - id: strict
              classes: [faces, plates, persons]
              mode: solid
            - id: open
              classes: []
        partners:
          - id: police
            organisation: Test Police
            role: police
            identity: {uri: "spiffe://test.example/police"}
            agreement: DSA-1
            grants:
              - id: police-live
                action: live
                purpose: safety
                cameras: "*"
                expires: 2027-12-31
              - id: police-clips
                action: clip
                purpose: investigation
                cameras: [cam-a]
                max-age: 48h
                justification: required
                redaction: open
                legal-ground: "Police Act § 1"
                expires: 2027-12-30
          - id: shop
            organisation: Test Shop
            role: retailer
            identity: {fingerprint: "AB:\(String(repeating: "cd", count: 31))"}
            agreement: DSA-2
            grants:
              - id: shop-alerts
                action: alert
                purpose: safety
                cameras: [cam-a]
                kinds: [loitering]
                zones: [zone-1]
                expires: 2027-12-29
        deny: []

        """

    /// 2026-06-01 12:00 UTC, a Monday: the fixture's "now".
    static let now = Date(timeIntervalSince1970: 1_780_315_200)

    /// The base with one piece of text replaced; the test fails if the text is not in the base.
    static func replacing(_ old: String, with new: String, in text: String = base) -> String {
        #expect(text.contains(old), "fixture does not contain \(old.debugDescription)")
        return text.replacingOccurrences(of: old, with: new)
    }

    static func lint(_ text: String, now: Date = now) -> PolicyLoader.Outcome {
        PolicyLoader.lint(data: Data(text.utf8), file: "test.yaml", now: now)
    }

    static func compile(_ text: String = base, now: Date = now) throws -> CompiledPolicy {
        let outcome = lint(text, now: now)
        let errors = outcome.diagnostics.filter { $0.severity == .error }
        #expect(errors.isEmpty, "\(errors)")
        return try CompiledPolicy(#require(outcome.document), lintedAt: now)
    }

    /// `2026-06-01T12:00:00Z`-style parsing for readable tests.
    static func time(_ text: String) -> Date {
        ISO8601DateFormatter().date(from: text)!
    }

    /// The repository's folder.
    static let repositoryRoot = TestPaths.repository
}
