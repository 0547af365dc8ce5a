import Foundation
import Synchronization

/// Where a command's output goes: the terminal, or — for a command a running gateway runs for a client of its control
/// socket (``ControlSocket``) — back to that client. Every command prints through ``print(_:separator:terminator:)``
/// and ``printError(_:)`` below, which shadow the standard library's within this module.
final class CapturedOutput: Sendable {
    let standardOutput = Mutex("")
    let standardError = Mutex("")
}

enum CommandOutput {
    /// Set while a forwarded command runs; nil for the terminal.
    @TaskLocal static var captured: CapturedOutput?
}

func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    let text = items.map { "\($0)" }.joined(separator: separator) + terminator
    if let captured = CommandOutput.captured {
        captured.standardOutput.withLock { $0 += text }
    } else {
        Swift.print(text, terminator: "")
    }
}

/// Writes to standard error, for diagnostics and progress that must not mix with a command's output.
func printError(_ text: String) {
    if let captured = CommandOutput.captured {
        captured.standardError.withLock { $0 += text + "\n" }
    } else {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
