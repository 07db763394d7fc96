import CProcess
import Dispatch
import Foundation
import NIOCore
import NIOPosix

/// How a process ended.
public struct ProcessExit: Sendable, Equatable {
    /// Exit code; 128 + signal number when a signal ended it (the shell convention bwrap follows).
    public var code: Int32
    /// The signal that ended it, 0 if none.
    public var signal: Int32
    /// CPU time (user + system) of the process and every descendant it reaped, in seconds.
    public var cpuSeconds: Double = 0
    /// Peak resident set of the largest of those processes, in bytes.
    public var maxRSSBytes: Int64 = 0
}

/// A spawned process in its own process group, with its stdout and stderr delivered to a
/// callback and its exit reported the moment it happens.
///
/// The pipes are read by SwiftNIO pipe channels on the shared event loops; the exit is awaited by
/// a thread blocked in `waitpid`, which wakes the instant the process ends. (libdispatch read
/// sources were used first: on Linux they crashed its event loop under heavy descriptor reuse.)
public final class MonitoredProcess: @unchecked Sendable {
    /// Process id (also the process group id).
    public let pid: pid_t
    private let queue: DispatchQueue
    // State below is touched only on `queue`.
    private var openStreams = 2
    private var exit: ProcessExit?
    private var reported = false
    private let onExit: @Sendable (ProcessExit) -> Void

    /// Spawns `argv[0]` (an absolute path) with `environment`; call it on `queue`, where its
    /// events are delivered. `output` receives chunks read from stdout ("stdout") and stderr
    /// ("stderr") on an event loop; `onExit` runs once on `queue`, after the process has exited
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
        for (fd, name) in [(outPipe[0], "stdout"), (errPipe[0], "stderr")] {
            let reader = OutputReader(stream: name, output: output) { [self] in
                queue.async {
                    self.openStreams -= 1
                    self.reportIfDone()
                }
            }
            NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(reader) } }
                .takingOwnershipOfDescriptor(input: fd)
                .whenFailure { _ in
                    close(fd)
                    reader.finished()
                }
        }
        let child = pid
        let waiter = Thread { [self] in
            var code: Int32 = 0
            var sig: Int32 = 0
            var cpu = 0.0
            var rssKB = 0
            let result = weft_wait_usage(child, &code, &sig, &cpu, &rssKB) == 0
                ? ProcessExit(code: code, signal: sig, cpuSeconds: cpu, maxRSSBytes: Int64(rssKB) * 1024)
                : ProcessExit(code: -1, signal: 0)
            // Whatever the sandbox left behind in the group goes with it, and the pipes then close.
            _ = kill(-child, SIGKILL)
            queue.async {
                self.exit = result
                self.reportIfDone()
            }
        }
        waiter.stackSize = 64 * 1024
        waiter.start()
    }

    /// Sends `signal` to the process group (the sandbox and everything in it).
    public func signal(_ signal: Int32) {
        queue.async { [self] in
            if exit == nil { _ = kill(-pid, signal) }
        }
    }

    private func reportIfDone() {
        guard let exit, openStreams == 0, !reported else { return }
        reported = true
        onExit(exit)
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for p in pointers { free(p) } }
        return body(pointers)
    }
}

/// Hands a pipe's bytes to a callback and says once when the pipe has closed.
private final class OutputReader: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let stream: String
    private let output: @Sendable ([UInt8], String) -> Void
    private var onClose: (@Sendable () -> Void)?
    private let lock = NSLock()

    init(stream: String, output: @escaping @Sendable ([UInt8], String) -> Void, onClose: @escaping @Sendable () -> Void) {
        self.stream = stream
        self.output = output
        self.onClose = onClose
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        output(Array(buffer.readableBytesView), stream)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finished()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Reports the end once, whichever way it came.
    func finished() {
        lock.lock()
        let callback = onClose
        onClose = nil
        lock.unlock()
        callback?()
    }
}
