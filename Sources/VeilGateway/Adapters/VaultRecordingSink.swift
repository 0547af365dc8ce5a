import Foundation
public import Logging
import Metrics
import VeilCore
public import VeilVault

/// The vault as a camera's recording sink: each file encrypted and indexed under the policy version in force.
public struct VaultRecordingSink: RecordingSink {
    let vault: Vault
    /// The policy version in force, recorded with each segment.
    let policyVersion: @Sendable () -> String
    let logger: Logger

    public init(vault: Vault, policyVersion: @escaping @Sendable () -> String, logger: Logger) {
        self.vault = vault
        self.policyVersion = policyVersion
        self.logger = logger
    }

    public func store(_ segment: RecordedSegment) async {
        let descriptor = SegmentDescriptor(
            camera: segment.camera, category: segment.category, start: segment.start, end: segment.end,
            container: segment.category == .unmaskLayer ? UnmaskLayer.container : "mp4",
            policyVersion: policyVersion(), redaction: segment.redaction)
        do {
            try await vault.store([UInt8](segment.bytes), as: descriptor)
            Counter(label: "veilgate_vault_stored_bytes_total", dimensions: [("category", segment.category.rawValue)])
                .increment(by: segment.bytes.count)
        } catch {
            logger.error(
                "recording failed",
                metadata: [
                    "camera": "\(segment.camera.rawValue)", "category": "\(segment.category.rawValue)",
                    "error": "\(error)",
                ])
        }
    }
}
