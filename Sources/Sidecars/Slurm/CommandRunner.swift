import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What a finished command left behind.
public struct CommandResult: Sendable, Equatable {
    /// Exit status (128 + signal when a signal ended it).
    public var status: Int32
    /// Everything it wrote to stdout.
    public var stdout: String
    /// Everything it wrote to stderr.
    public var stderr: String
    /// True when it ran out of time and was killed.
    public var timedOut: Bool

    /// Creates a result.
    public init(status: Int32, stdout: String, stderr: String, timedOut: Bool = false) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.timedOut = timedOut
    }

    /// True for exit status 0 within the time limit.
    public var succeeded: Bool { status == 0 && !timedOut }
}

/// A command could not be started at all (missing executable, no permission).
public struct CommandLaunchError: Error, Sendable, CustomStringConvertible {
    /// The executable.
    public var executable: String
    /// Why it could not start.
    public var underlying: String
    /// The executable and why it could not start.
    public var description: String { "cannot run \(executable): \(underlying)" }
}

/// Runs external commands; the Slurm client commands go through one, so tests can replace it.
public protocol CommandRunner: Sendable {
    /// Runs `executable` with `arguments` (no shell) in `directory`, waits at most `timeout`, and
    /// returns its exit status and output. Throws ``CommandLaunchError`` if it cannot start.
    func run(_ executable: String, _ arguments: [String], directory: String?, timeout: Duration) async throws -> CommandResult
}

/// Runs commands with Foundation's `Process` on a Dispatch thread (never on the cooperative
/// pool: waiting for a process blocks its thread). A command that outlives its timeout gets
/// SIGTERM, then SIGKILL two seconds later.
public struct ProcessCommandRunner: CommandRunner {
    /// Creates a runner.
    public init() {}

    /// Runs the command on a Dispatch thread; see ``CommandRunner/run(_:_:directory:timeout:)``.
    public func run(_ executable: String, _ arguments: [String], directory: String?, timeout: Duration) async throws -> CommandResult {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .utility).async {
                continuation.resume(with: Result { try Self.runBlocking(executable, arguments, directory: directory, timeout: timeout) })
            }
        }
    }

    private static func runBlocking(_ executable: String, _ arguments: [String], directory: String?, timeout: Duration) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        // Dispatch threads block most signals and a spawned process inherits that mask (Foundation
        // does not reset it), which would make the command deaf to SIGTERM. Spawn with none blocked.
        var none = sigset_t()
        var previous = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, &previous)
        do {
            try process.run()
            pthread_sigmask(SIG_SETMASK, &previous, nil)
        } catch {
            pthread_sigmask(SIG_SETMASK, &previous, nil)
            throw CommandLaunchError(executable: executable, underlying: "\(error)")
        }
        let timedOut = TimeoutFlag()
        let pid = process.processIdentifier
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        let killer = DispatchWorkItem {
            timedOut.set()
            kill(pid, SIGTERM)
            DispatchQueue.global().asyncAfter(deadline: .now() + 2) { if process.isRunning { kill(pid, SIGKILL) } }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + max(0.001, seconds), execute: killer)
        // Drain both pipes at once so that a chatty command never blocks on a full pipe.
        let group = DispatchGroup()
        let errData = DataBox()
        group.enter()
        DispatchQueue.global().async {
            errData.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        killer.cancel()
        let status: Int32 = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return CommandResult(status: status, stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData.data, as: UTF8.self), timedOut: timedOut.isSet)
    }
}

private final class DataBox: @unchecked Sendable {
    var data = Data()
}

private final class TimeoutFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
