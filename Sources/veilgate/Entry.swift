import ArgumentParser
import Dispatch

/// The process's entry point. The main thread waits here for the command to finish rather than parking in
/// `dispatch_main()`, as an async `@main` does: a thread parked there counts as exiting, and glibc skips it when it
/// applies `setuid` to every thread — `serve --user` would leave that one thread root.
@main
enum Entry {
    static func main() {
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            await Veilgate.main()
            finished.signal()
        }
        finished.wait()
    }
}
