import Foundation

/// What `sbatch` made of a job script.
public enum SubmitOutcome: Sendable, Equatable {
    /// Accepted as the job with this id.
    case submitted(jobID: String)
    /// Refused; the message is sbatch's own (its stderr, trimmed).
    case rejected(message: String)
}

/// One job as `squeue` or `scontrol show job` report it.
public struct SlurmJobInfo: Sendable, Equatable {
    /// The job id.
    public var jobID: String
    /// The job state in long form (`PENDING`, `RUNNING`, `COMPLETED`, …).
    public var state: SlurmJobState
    /// Slurm's reason (`Resources`, `Priority`, `None`, …).
    public var reason: String
    /// `ExitCode=<code>:<signal>` of `scontrol show job`, when known.
    public var exitCode: Int32?
    /// The signal part of the exit code, when known.
    public var exitSignal: Int32?

    /// Creates a job description.
    public init(jobID: String, state: SlurmJobState, reason: String = "", exitCode: Int32? = nil, exitSignal: Int32? = nil) {
        self.jobID = jobID
        self.state = state
        self.reason = reason
        self.exitCode = exitCode
        self.exitSignal = exitSignal
    }
}

/// One node line of `sinfo -N`.
public struct SlurmNodeInfo: Sendable, Equatable {
    /// Node name.
    public var name: String
    /// CPUs.
    public var cpus: Int64
    /// Memory in MiB.
    public var memoryMiB: Int64
    /// Generic resources, e.g. `gpu:a100:2` → `("gpu", "a100", 2)`.
    public var gres: [(name: String, type: String, count: Int64)]

    /// Creates a node description.
    public init(name: String, cpus: Int64, memoryMiB: Int64, gres: [(name: String, type: String, count: Int64)]) {
        self.name = name
        self.cpus = cpus
        self.memoryMiB = memoryMiB
        self.gres = gres
    }

    /// Equal names, CPUs, memory and GRES.
    public static func == (a: SlurmNodeInfo, b: SlurmNodeInfo) -> Bool {
        a.name == b.name && a.cpus == b.cpus && a.memoryMiB == b.memoryMiB
            && a.gres.map { "\($0.name):\($0.type):\($0.count)" } == b.gres.map { "\($0.name):\($0.type):\($0.count)" }
    }
}

/// Slurm could not be asked (slurmctld down, a command missing or timing out).
public struct SlurmUnavailableError: Error, Sendable, CustomStringConvertible {
    /// What failed, with Slurm's message.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// The Slurm client commands the sidecar uses. ``SlurmCLI`` runs the real ones; tests give a fake.
public protocol SlurmCommands: Sendable {
    /// `sbatch --parsable <script>` in `directory`. Throws ``SlurmUnavailableError`` when sbatch
    /// cannot be run or times out (the job may or may not exist then).
    func sbatch(script: String, directory: String) async throws -> SubmitOutcome
    /// `squeue --noheader -a --states=all -o '%i|%T|%r' -j <ids>`: the jobs Slurm still knows, by
    /// id; ids it has forgotten are absent. Throws ``SlurmUnavailableError`` when squeue fails.
    func squeue(ids: [String]) async throws -> [String: SlurmJobInfo]
    /// Ids of the jobs named `name` (`squeue -n`), any state.
    func squeue(name: String) async throws -> [String]
    /// `scancel [--signal=<signal> --full] <id>`.
    func scancel(id: String, signal: String?) async throws
    /// `scontrol show job -o <id>`; nil when Slurm no longer knows the job.
    func scontrol(showJob id: String) async throws -> SlurmJobInfo?
    /// `sinfo -h -o %T`: the states of the partitions' nodes (answers only when slurmctld does).
    func sinfoStates() async throws -> [String]
    /// `sinfo -h -N -o '%N|%c|%m|%G'`, one entry per node.
    func sinfoNodes() async throws -> [SlurmNodeInfo]
    /// `sinfo --version`, e.g. `slurm-wlm 22.05.8`.
    func sinfoVersion() async throws -> String
}

/// ``SlurmCommands`` by running the Slurm client programs.
public struct SlurmCLI: SlurmCommands {
    /// Where the commands are.
    public var paths: SlurmCommandPaths
    /// How they are run.
    public var runner: any CommandRunner
    /// Longest time a command may take.
    public var timeout: Duration

    /// Creates the commands.
    public init(paths: SlurmCommandPaths, runner: any CommandRunner = ProcessCommandRunner(), timeout: Duration = .seconds(30)) {
        self.paths = paths
        self.runner = runner
        self.timeout = timeout
    }

    private func run(_ executable: String, _ arguments: [String], directory: String? = nil, timeout: Duration? = nil) async throws -> CommandResult {
        let result: CommandResult
        do {
            result = try await runner.run(executable, arguments, directory: directory, timeout: timeout ?? self.timeout)
        } catch let e as CommandLaunchError {
            throw SlurmUnavailableError(e.description)
        }
        if result.timedOut {
            throw SlurmUnavailableError("\((executable as NSString).lastPathComponent) did not answer within \(timeout ?? self.timeout)")
        }
        return result
    }

    private static func failure(_ executable: String, _ r: CommandResult) -> SlurmUnavailableError {
        let message = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        return SlurmUnavailableError("\((executable as NSString).lastPathComponent) exited with \(r.status)\(message.isEmpty ? "" : ": " + message)")
    }

    /// Runs `sbatch --parsable <script>`; a non-zero exit is a rejection carrying sbatch's stderr.
    public func sbatch(script: String, directory: String) async throws -> SubmitOutcome {
        let r = try await run(paths.sbatch, ["--parsable", script], directory: directory)
        guard r.status == 0 else {
            let message = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            return .rejected(message: message.isEmpty ? "sbatch exited with \(r.status)" : message)
        }
        guard let id = Self.parseParsable(r.stdout) else {
            return .rejected(message: "sbatch printed no job id: \(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return .submitted(jobID: id)
    }

    /// Runs squeue for all `ids` at once.
    public func squeue(ids: [String]) async throws -> [String: SlurmJobInfo] {
        guard !ids.isEmpty else { return [:] }
        let r = try await run(paths.squeue, ["--noheader", "-a", "--states=all", "-o", "%i|%T|%r", "-j", ids.joined(separator: ",")])
        guard r.status == 0 else {
            // One unknown id makes squeue fail instead of printing nothing.
            if r.stderr.contains("Invalid job id") { return [:] }
            throw Self.failure(paths.squeue, r)
        }
        return Self.parseSqueue(r.stdout)
    }

    /// Runs `squeue -n <name>`.
    public func squeue(name: String) async throws -> [String] {
        let r = try await run(paths.squeue, ["--noheader", "-a", "--states=all", "-o", "%i", "-n", name])
        guard r.status == 0 else { throw Self.failure(paths.squeue, r) }
        return r.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Runs scancel, with `--signal=<signal> --full` when a signal is given.
    public func scancel(id: String, signal: String?) async throws {
        var args: [String] = []
        if let signal { args += ["--signal=\(signal)", "--full"] }
        let r = try await run(paths.scancel, args + [id])
        guard r.status == 0 else { throw Self.failure(paths.scancel, r) }
    }

    /// Runs `scontrol show job -o <id>`.
    public func scontrol(showJob id: String) async throws -> SlurmJobInfo? {
        let r = try await run(paths.scontrol, ["show", "job", "-o", id])
        guard r.status == 0 else {
            if r.stderr.contains("Invalid job id") { return nil }
            throw Self.failure(paths.scontrol, r)
        }
        return Self.parseScontrol(r.stdout)
    }

    /// Runs `sinfo -h -o %T` (at most 10 s).
    public func sinfoStates() async throws -> [String] {
        let r = try await run(paths.sinfo, ["-h", "-o", "%T"], timeout: min(timeout, .seconds(10)))
        guard r.status == 0 else { throw Self.failure(paths.sinfo, r) }
        return r.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Runs `sinfo -h -N -o '%N|%c|%m|%G'`.
    public func sinfoNodes() async throws -> [SlurmNodeInfo] {
        let r = try await run(paths.sinfo, ["-h", "-N", "-o", "%N|%c|%m|%G"])
        guard r.status == 0 else { throw Self.failure(paths.sinfo, r) }
        return Self.parseSinfoNodes(r.stdout)
    }

    /// Runs `sinfo --version`.
    public func sinfoVersion() async throws -> String {
        let r = try await run(paths.sinfo, ["--version"])
        guard r.status == 0 else { throw Self.failure(paths.sinfo, r) }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: Parsing

    /// The job id in `sbatch --parsable` output (`<id>` or `<id>;<cluster>`).
    public static func parseParsable(_ output: String) -> String? {
        for line in output.split(whereSeparator: \.isNewline) {
            let id = line.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            if !id.isEmpty, id.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "_") }) { return id }
        }
        return nil
    }

    /// Lines `<id>|<STATE>|<reason>` of squeue.
    public static func parseSqueue(_ output: String) -> [String: SlurmJobInfo] {
        var jobs: [String: SlurmJobInfo] = [:]
        for line in output.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count >= 2, !parts[0].isEmpty else { continue }
            jobs[parts[0]] = SlurmJobInfo(jobID: parts[0], state: SlurmJobState(parts[1]), reason: parts.count > 2 ? parts[2] : "")
        }
        return jobs
    }

    /// The one-line `scontrol show job -o` output: `JobId=…`, `JobState=…`, `Reason=…`, `ExitCode=c:s`.
    public static func parseScontrol(_ output: String) -> SlurmJobInfo? {
        var fields: [String: String] = [:]
        for word in output.split(whereSeparator: { $0 == " " || $0.isNewline }) {
            guard let eq = word.firstIndex(of: "=") else { continue }
            let key = String(word[..<eq])
            if fields[key] == nil { fields[key] = String(word[word.index(after: eq)...]) }
        }
        guard let id = fields["JobId"], let state = fields["JobState"] else { return nil }
        var info = SlurmJobInfo(jobID: id, state: SlurmJobState(state), reason: fields["Reason"] ?? "")
        if let exit = fields["ExitCode"] {
            let parts = exit.split(separator: ":")
            if parts.count >= 1 { info.exitCode = Int32(parts[0]) }
            if parts.count >= 2 { info.exitSignal = Int32(parts[1]) }
        }
        return info
    }

    /// Lines `<node>|<cpus>|<MiB>|<gres>` of sinfo; a node listed once per partition counts once.
    public static func parseSinfoNodes(_ output: String) -> [SlurmNodeInfo] {
        var seen = Set<String>()
        var nodes: [SlurmNodeInfo] = []
        for line in output.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count >= 4, seen.insert(parts[0]).inserted else { continue }
            nodes.append(SlurmNodeInfo(name: parts[0], cpus: Int64(parts[1]) ?? 0, memoryMiB: Int64(parts[2].filter(\.isNumber)) ?? 0,
                                       gres: parseGres(parts[3])))
        }
        return nodes
    }

    /// `gpu:2`, `gpu:a100:4(S:0-1)`, `gpu:2,mps:100` or `(null)`.
    public static func parseGres(_ text: String) -> [(name: String, type: String, count: Int64)] {
        guard text != "(null)", !text.isEmpty else { return [] }
        var result: [(name: String, type: String, count: Int64)] = []
        var depth = 0
        var current = ""
        var items: [String] = []
        // Commas inside "(S:0,1)" do not separate items.
        for c in text {
            if c == "(" { depth += 1 } else if c == ")" { depth = max(0, depth - 1) }
            if c == ",", depth == 0 { items.append(current); current = "" } else { current.append(c) }
        }
        items.append(current)
        for item in items {
            let plain = item.split(separator: "(", maxSplits: 1).first.map(String.init) ?? item
            let parts = plain.split(separator: ":").map(String.init)
            guard let name = parts.first, !name.isEmpty else { continue }
            if parts.count >= 2, let count = Int64(parts[parts.count - 1]) {
                result.append((name, parts.count >= 3 ? parts[1] : "", count))
            } else {
                result.append((name, parts.count >= 2 ? parts[1] : "", 1))
            }
        }
        return result
    }
}
