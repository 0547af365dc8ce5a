import Foundation
import Logging
import Synchronization

/// One JSON object per line on standard error — time, level, label, message and metadata — for log collectors
/// (`veilgate serve --log-format json`). The messages and metadata are the same as in text form: ids, counts and
/// reasons, never personal data, plate text or key material.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    /// One writer for the process, so lines from several threads never interleave.
    private static let output = Mutex<FileHandle>(FileHandle.standardError)

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let (level, message, explicit) = (event.level, event.message, event.metadata)
        var fields: [String: String] = [:]
        for (key, value) in metadata.merging(explicit ?? [:], uniquingKeysWith: { $1 }) { fields[key] = "\(value)" }
        let entry: [String: Any] = [
            "time": ISO8601DateFormatter.veilgate(Date()), "level": level.rawValue, "label": label,
            "message": "\(message)",
            "metadata": fields,
        ]
        guard var data = try? JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys]) else { return }
        data.append(0x0A)
        Self.output.withLock { $0.write(data) }
    }
}
