internal import CSodium
public import Foundation

/// Support for `VeilBench`, behind an SPI so that no production caller sees it.
extension Vault {
    /// Fills the index (and keystore) with synthetic complete segments spread over past days, without files,
    /// so the sweeper can be timed on an index of realistic size.
    @_spi(Benchmarks)
    public func populateSyntheticIndex(
        segments count: Int, cameras: Int, endingAt end: Date, segmentSeconds: Double = 6
    ) throws {
        let perCamera = count / cameras
        let wrapped = Data(Sodium.randomBytes(24 + 32 + 16))
        try index.write { index in
            var buckets = Set<String>()
            for camera in 0..<cameras {
                for number in 0..<perCamera {
                    let start = end.timeIntervalSince1970 - Double(perCamera - number) * segmentSeconds
                    let dayStart = (start / 86_400).rounded(.down) * 86_400
                    let bucket = "bucket:bench-\(camera)/redacted-video/" + Self.day(dayStart)
                    if buckets.insert(bucket).inserted {
                        var row = BucketRow(
                            id: bucket, camera: "bench-\(camera)", category: "redacted-video", dayStart: dayStart,
                            dayEnd: dayStart + 86_400, state: BucketRow.active, createdAt: start)
                        row.mac = authenticator.mac(row.authenticatedFields)
                        try index.insert(row)
                    }
                    var row = SegmentRow(
                        id: "bench-\(camera)-\(number)", camera: "bench-\(camera)", category: "redacted-video",
                        start: start, end: start + segmentSeconds, bucket: bucket, container: "mp4", size: 0,
                        fingerprint: "", state: SegmentRow.complete, policyVersion: "bench", redaction: "bench",
                        redactionSpec: nil,
                        createdAt: start)
                    row.mac = authenticator.mac(row.authenticatedFields)
                    try index.insert(row)
                }
            }
        }
        try keystore.insertSynthetic(
            ids: (0..<cameras).flatMap { camera in (0..<perCamera).map { "segment:bench-\(camera)-\($0)" } },
            wrapped: wrapped)
    }

    static func day(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    /// The baseline for write throughput: libsodium secretstream alone, written and synced to one file, as a
    /// store without index, keys or crash protocol would.
    @_spi(Benchmarks)
    public static func rawSecretStreamWrite(_ plaintext: [UInt8], to path: String) throws {
        let key = try SecretKey()
        let file = try SegmentCipher.encrypt(Data(plaintext), key: key, binding: [])
        try writeDurably(file, to: path)
    }
}
