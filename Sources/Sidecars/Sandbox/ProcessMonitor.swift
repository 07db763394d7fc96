import CProcess
import Dispatch
import Foundation

/// How a process ended.
public struct ProcessExit: Sendable, Equatable {
    /// Exit code; 128 + signal number when a signal ended it (the shell convention bwrap follows).
    public var code: Int32
    /// The signal that ended it, 0 if none.
    public var signal: Int32
}

/// A spawned process in its own process group, with its stdout and stderr delivered to a
/// callback and its exit reported the moment it happens (pidfd readiness, no polling).
public final class MonitoredProcess: @unchecked Sendable {
    /// Process id (also the process group id).
    public let pid: pid_t
    private let queue: DispatchQueue
    private var sources: [any DispatchSourceProtocol] = []
    private var openStreams = 2
    private var exit: ProcessExit?
    private var reported = false
    private let onExit: @Sendable (ProcessExit) -> Void

    /// Spawns `argv[0]` (an absolute path) with `environment`; call it on `queue`, where its
    /// events are delivered. `output` receives chunks read from
    /// stdout ("stdout") and stderr ("stderr"); `onExit` runs once, after the process has exited
    /// and both streams reached their end, so a log is complete when the exit is reported.
    public init(
        argv: [String], environment: [String], queue: DispatchQueue,
        output: @escaping @Sendable ([UInt8], String) -> Void, onExit: @escaping @Sendable (ProcessExit) -> Void
    ) throws {
        self.queue = queue
        self.onExit = onExit
        var outPipe: [Int32] = [0, 0]
        var errPipe: [Int32] = [0, 0]
        guard weft_pipe(&outPipe) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        guard weft_pipe(&errPipe) == 0 else {
            close(outPipe[0]); close(outPipe[1])
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        var pid: pid_t = 0
        let rc = Self.withCStrings(argv) { cargv in
            Self.withCStrings(environment) { cenv in
                weft_spawn(argv[0], cargv, cenv, outPipe[1], errPipe[1], &pid)
            }
        }
        close(outPipe[1])
        close(errPipe[1])
        guard rc == 0 else {
            close(outPipe[0]); close(errPipe[0])
            throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO)
        }
        self.pid = pid
        do {
            for (fd, name) in [(outPipe[0], "stdout"), (errPipe[0], "stderr")] {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
                source.setEventHandler {
                    var buffer = [UInt8](repeating: 0, count: 65536)
                    while true {
                        let n = read(fd, &buffer, buffer.count)
                        if n > 0 { output(Array(buffer[..<n]), name); continue }
                        if n < 0, errno == EINTR { continue }
                        if n < 0, errno == EAGAIN { return }
                        source.cancel()  // EOF or error
                        return
                    }
                }
                source.setCancelHandler { [self] in
                    close(fd)
                    self.openStreams -= 1
                    self.reportIfDone()
                }
                sources.append(source)
                source.resume()
            }
            let pidfd = weft_pidfd_open(pid)
            if pidfd >= 0 {
                let source = DispatchSource.makeReadSource(fileDescriptor: pidfd, queue: queue)
                source.setEventHandler { [self] in
                    if self.reap() { source.cancel() }
                }
                source.setCancelHandler { close(pidfd) }
                sources.append(source)
                source.resume()
            } else {
                // Kernels before 5.3: poll for the exit.
                let timer = DispatchSource.makeTimerSource(queue: queue)
                timer.schedule(deadline: .now(), repeating: .milliseconds(10))
                timer.setEventHandler { [self] in
                    if self.reap() { timer.cancel() }
                }
                sources.append(timer)
                timer.resume()
            }
        }
    }

    /// Sends `signal` to the process group (the sandbox and everything in it).
    public func signal(_ signal: Int32) {
        queue.async { [self] in
            if exit == nil { _ = kill(-pid, signal) }
        }
    }

    private func reap() -> Bool {
        var code: Int32 = 0
        var sig: Int32 = 0
        guard weft_reap(pid, &code, &sig) == 1 else { return false }
        exit = ProcessExit(code: code, signal: sig)
        // Whatever the sandbox left behind in the group goes with it, and the pipes then close.
        _ = kill(-pid, SIGKILL)
        reportIfDone()
        return true
    }

    private func reportIfDone() {
        guard let exit, openStreams == 0, !reported else { return }
        reported = true
        sources.removeAll()
        onExit(exit)
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for p in pointers { free(p) } }
        return body(pointers)
    }
}
