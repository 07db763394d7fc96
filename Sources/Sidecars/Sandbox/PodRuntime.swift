import Dispatch
import Foundation
import Gen
import Logging
import WeftPodKit

/// One pod running in the sandbox: init containers in order, then the containers together, with
/// restarts as the pod's policy asks. Every method runs on the sidecar's serial queue.
final class PodRuntime: @unchecked Sendable {
    let uid: String
    let submission: Weft_Kubelet_V1_PodSubmission
    let directory: String
    let remoteJobID: String
    private(set) var initRecords: [ContainerRecord]
    private(set) var records: [ContainerRecord]
    private var processes: [String: MonitoredProcess] = [:]
    private var finishedLogs: Set<String> = []
    private var failure: (reason: String, message: String)?
    private var volumes: [String: MaterializedVolume] = [:]
    private var nextInit = 0
    private var startTime: Int64 = 0
    /// Where a container's shell wrapper writes `times` inside the sandbox.
    static let usageMount = "/.weft-usage"
    /// CPU time and peak memory of every container run so far (reported for accounting).
    private var usage = Weft_Kubelet_V1_PodUsage()
    private(set) var deleting = false
    private var exitWaiters: [() -> Void] = []
    private let configuration: SandboxConfiguration
    private let queue: DispatchQueue
    private let logger: Logger
    /// Called on the queue after every state change.
    var onChange: () -> Void = {}

    init(submission: Weft_Kubelet_V1_PodSubmission, directory: String, configuration: SandboxConfiguration, queue: DispatchQueue, logger: Logger) {
        let pod = submission.pod
        uid = pod.metadata.uid
        self.submission = submission
        self.directory = directory
        self.configuration = configuration
        self.queue = queue
        self.logger = logger
        remoteJobID = "sandbox-\(pod.metadata.uid)"
        let uid = pod.metadata.uid
        initRecords = pod.spec.initContainers.map {
            ContainerRecord(name: $0.name, image: $0.image, run: .waiting(reason: "PodInitializing"), containerID: "sandbox://\(uid)/\($0.name)")
        }
        records = pod.spec.containers.map {
            ContainerRecord(name: $0.name, image: $0.image, run: .waiting(reason: pod.spec.initContainers.isEmpty ? "ContainerCreating" : "PodInitializing"),
                            containerID: "sandbox://\(uid)/\($0.name)")
        }
    }

    /// A runtime restored after a sidecar restart: its processes died with the old sidecar.
    convenience init(restoring record: PodRecord, directory: String, configuration: SandboxConfiguration, queue: DispatchQueue, logger: Logger) {
        self.init(submission: record.submission, directory: directory, configuration: configuration, queue: queue, logger: logger)
        func restore(_ statuses: [Weft_Kubelet_V1_ContainerStatus], into recs: inout [ContainerRecord]) {
            for (i, s) in statuses.enumerated() where i < recs.count {
                recs[i].restartCount = s.restartCount
                recs[i].containerID = s.containerId
                switch s.state.state {
                case .terminated(let t)?:
                    recs[i].run = .terminated(exitCode: t.exitCode, signal: t.signal, reason: t.reason, message: t.message,
                                              startedAt: t.startedAt.unixNanos, finishedAt: t.finishedAt.unixNanos)
                case .running(let r)?:
                    recs[i].run = .terminated(exitCode: 137, signal: 9, reason: "Error", message: "the sandbox sidecar restarted and its processes ended with it",
                                              startedAt: r.startedAt.unixNanos, finishedAt: Google_Protobuf_Timestamp.now.unixNanos)
                default: break
                }
            }
        }
        restore(record.status.initContainerStatuses, into: &initRecords)
        restore(record.status.containerStatuses, into: &records)
        startTime = record.status.hasStartTime ? record.status.startTime.unixNanos : 0
        let phase = record.status.phase
        if phase == .succeeded || phase == .failed {
            // Container states rebuild the phase; a pod-level reason (a config error) is kept as it was.
            if phase == .failed, !record.status.reason.isEmpty { failure = (record.status.reason, record.status.message) }
        } else {
            failure = ("SidecarRestarted", "the sandbox sidecar restarted while the pod ran; its processes ended with it")
        }
        for r in initRecords + records { finishedLogs.insert(r.name) }
    }

    var status: Weft_Kubelet_V1_PodStatus {
        var status = PodStatusBuilder.build(restartPolicy: submission.pod.spec.restartPolicy, initContainers: initRecords, containers: records,
                                            startTime: startTime, failure: failure)
        if usage != Weft_Kubelet_V1_PodUsage() { status.usage = usage }
        return status
    }

    var isFinished: Bool {
        let phase = status.phase
        return (phase == .succeeded || phase == .failed) && processes.isEmpty
    }

    // MARK: Running

    func start() {
        startTime = Google_Protobuf_Timestamp.now.unixNanos
        do {
            try FileManager.default.createDirectory(atPath: directory + "/volumes", withIntermediateDirectories: true)
            volumes = try VolumeMaterializer(allowHostPath: configuration.allowHostPath).materialize(submission, under: directory + "/volumes")
        } catch let e as PodConfigError {
            fail(reason: e.reason, message: e.message)
            return
        } catch {
            fail(reason: "CreateContainerConfigError", message: "\(error)")
            return
        }
        advance()
    }

    private func advance() {
        guard !deleting, failure == nil else { return }
        let spec = submission.pod.spec
        if nextInit < spec.initContainers.count {
            if processes.isEmpty { launch(spec.initContainers[nextInit], isInit: true, index: nextInit) }
            return
        }
        for (i, c) in spec.containers.enumerated() where processes[c.name] == nil {
            if case .waiting = records[i].run { launch(c, isInit: false, index: i) }
        }
    }

    private func launch(_ container: Weft_Kubelet_V1_Container, isInit: Bool, index: Int) {
        let started = Google_Protobuf_Timestamp.now.unixNanos
        let argv: [String]
        let environment: [String]
        let logPath: String
        do {
            (argv, logPath) = try sandboxArgv(for: container, isInit: isInit, index: index)
            environment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        } catch let e as PodConfigError {
            setRun(.waiting(reason: e.reason, message: e.message), isInit: isInit, index: index)
            fail(reason: e.reason, message: "container \(container.name): \(e.message)")
            return
        } catch {
            setRun(.waiting(reason: "RunContainerError", message: "\(error)"), isInit: isInit, index: index)
            fail(reason: "RunContainerError", message: "container \(container.name): \(error)")
            return
        }
        let writer: ContainerLogWriter
        do {
            writer = try ContainerLogWriter(path: logPath)
        } catch {
            fail(reason: "RunContainerError", message: "cannot open the log of \(container.name): \(error)")
            return
        }
        finishedLogs.remove(container.name)
        do {
            let process = try MonitoredProcess(
                argv: argv, environment: environment, queue: queue,
                output: { bytes, stream in writer.append(bytes, stream: stream) },
                onExit: { [self] exit in
                    writer.finish()
                    queue.async { self.exited(container: container.name, isInit: isInit, index: index, exit: exit, startedAt: started) }
                })
            processes[container.name] = process
            if logger.logLevel <= .trace {
                // The command line without environment values: they may hold Secret data.
                var shown = argv
                var i = 0
                while i < shown.count { if shown[i] == "--setenv", i + 2 < shown.count { shown[i + 2] = "…"; i += 3 } else { i += 1 } }
                logger.trace("sandbox command", metadata: ["argv": "\(shown)"])
            }
            setRun(.running(startedAt: started), isInit: isInit, index: index)
            logger.debug("started", metadata: ["pod": "\(submission.pod.metadata.namespace)/\(submission.pod.metadata.name)", "container": "\(container.name)", "pid": "\(process.pid)"])
        } catch {
            writer.finish()
            finishedLogs.insert(container.name)
            setRun(.terminated(exitCode: 128, reason: "StartError", message: "cannot start bwrap: \(error)", startedAt: started, finishedAt: started), isInit: isInit, index: index)
            fail(reason: "StartError", message: "container \(container.name): cannot start bwrap: \(error)")
        }
    }

    private func exited(container: String, isInit: Bool, index: Int, exit: ProcessExit, startedAt: Int64) {
        processes[container] = nil
        finishedLogs.insert(container)
        let rec = isInit ? initRecords[index] : records[index]
        let recorded = FileManager.default.contents(atPath: "\(directory)/containers/\(container)/\(rec.restartCount).usage")
            .flatMap { ShellTimes.childrenCPUSeconds(String(decoding: $0, as: UTF8.self)) }
        usage.cpuTime = Google_Protobuf_Duration(seconds: usage.cpuTime.timeInterval + max(recorded ?? 0, exit.cpuSeconds))
        usage.maxMemoryBytes = max(usage.maxMemoryBytes, exit.maxRSSBytes)
        let finished = Google_Protobuf_Timestamp.now.unixNanos
        let signal = exit.code > 128 ? exit.code - 128 : exit.signal
        let reason = ContainerRun.exitReason(exit.code)
        var message = deleting ? "the pod was deleted" : ""
        if exit.code == 127 || exit.code == 126 { message = "the command could not be run (exit \(exit.code)); see the container log" }
        let run = ContainerRun.terminated(exitCode: exit.code, signal: signal, reason: reason, message: message, startedAt: startedAt, finishedAt: finished)
        setRun(run, isInit: isInit, index: index, notify: false)
        let policy = submission.pod.spec.restartPolicy
        let restart = !deleting && failure == nil && (policy == .always && !isInit || (policy == .onFailure || policy == .always) && !run.succeeded)
        if isInit && run.succeeded { nextInit += 1 }
        if restart {
            // Restarts back off as the kubelet's do, from 1 s doubling to 60 s.
            let count = isInit ? initRecords[index].restartCount : records[index].restartCount
            let delay = min(60.0, pow(2.0, Double(count)))
            queue.asyncAfter(deadline: .now() + delay) { [self] in
                guard !deleting, failure == nil else { return }
                if isInit {
                    initRecords[index].lastTermination = initRecords[index].run
                    initRecords[index].restartCount += 1
                    initRecords[index].run = .waiting(reason: "CrashLoopBackOff")
                    launch(submission.pod.spec.initContainers[index], isInit: true, index: index)
                } else {
                    records[index].lastTermination = records[index].run
                    records[index].restartCount += 1
                    records[index].run = .waiting(reason: "CrashLoopBackOff")
                    launch(submission.pod.spec.containers[index], isInit: false, index: index)
                }
            }
        } else if isInit && !run.succeeded && !deleting {
            // The pod fails; its containers never start.
            for i in records.indices { records[i].run = .waiting(reason: "PodInitializing") }
            if failure == nil { failure = ("InitContainerFailed", "init container \(container) exited with code \(exit.code)") }
        }
        advance()
        if processes.isEmpty {
            let waiters = exitWaiters
            exitWaiters = []
            for w in waiters { w() }
        }
        onChange()
    }

    private func setRun(_ run: ContainerRun, isInit: Bool, index: Int, notify: Bool = true) {
        if isInit { initRecords[index].run = run } else { records[index].run = run }
        if notify { onChange() }
    }

    private func fail(reason: String, message: String) {
        if failure == nil { failure = (reason, message) }
        logger.info("pod failed", metadata: ["pod": "\(submission.pod.metadata.namespace)/\(submission.pod.metadata.name)", "reason": "\(reason)", "message": "\(message)"])
        onChange()
    }

    /// Stops every process: SIGTERM, then SIGKILL after `grace`; `done` runs once all have exited.
    func stop(grace: Duration, done: @escaping () -> Void) {
        deleting = true
        if processes.isEmpty { done(); return }
        exitWaiters.append(done)
        for p in processes.values { p.signal(SIGTERM) }
        let seconds = Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18
        queue.asyncAfter(deadline: .now() + max(0, seconds)) { [self] in
            for p in processes.values { p.signal(SIGKILL) }
        }
    }

    // MARK: Logs

    /// Path of a container's log: the current run, or the previous one.
    func logPath(container: String, previous: Bool) -> String? {
        guard let rec = (initRecords + records).first(where: { $0.name == container }) else { return nil }
        let n = Int(rec.restartCount) - (previous ? 1 : 0)
        guard n >= 0 else { return nil }
        return "\(directory)/containers/\(container)/\(n).log"
    }

    /// Whether the run writing `container`'s current log has ended.
    func logFinished(container: String) -> Bool { finishedLogs.contains(container) || deleting && processes[container] == nil }

    // MARK: The sandbox

    private func sandboxArgv(for container: Weft_Kubelet_V1_Container, isInit: Bool, index: Int) throws -> ([String], String) {
        let pod = submission.pod
        guard let root = configuration.rootfs(for: container.image) else {
            throw PodConfigError("image \"\(container.image)\" is not installed under \(configuration.imageRoot) (use \"host\" for the host's root)", reason: "ErrImageNeverPull")
        }
        let resolved = try EnvironmentResolver(submission: submission).environment(of: container)
        var env: [(String, String)] = [("HOSTNAME", pod.metadata.name)]
        let containerDir = "\(directory)/containers/\(container.name)"
        let scratch = containerDir + "/work"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        let workingDir = container.workingDir.isEmpty ? "/work" : container.workingDir
        env.append(("HOME", workingDir))
        var vars: [String: String] = [:]
        for (k, v) in resolved {
            env.removeAll { $0.0 == k }
            env.append((k, v))
            vars[k] = v
        }
        var command = (container.command + container.args).map { EnvironmentResolver.expand($0, vars) }
        guard !command.isEmpty else {
            throw PodConfigError("container \(container.name) has no command: sandbox images carry no entrypoint, so the pod must give one", reason: "CreateContainerConfigError")
        }
        var mounts: [SandboxMount] = []
        for m in container.volumeMounts {
            guard let v = volumes[m.name] else { throw PodConfigError("volume \(m.name) is not available") }
            let source = m.subPath.isEmpty ? v.hostPath : v.hostPath + "/" + m.subPath
            mounts.append(SandboxMount(source: source, target: m.mountPath, readOnly: m.readOnly || v.readOnly))
            // Where each volume is, under the name every Weft sidecar uses, so scripts run unchanged
            // on backends that cannot honour mount paths.
            let variable = "WEFT_VOLUME_" + String(m.name.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
            if !env.contains(where: { $0.0 == variable }) { env.insert((variable, m.mountPath), at: 0) }
        }
        var rootHasWorkdir: ObjCBool = false
        let inRoot = (root == "/" ? "" : root) + workingDir
        if workingDir == "/work" || !FileManager.default.fileExists(atPath: inRoot, isDirectory: &rootHasWorkdir) || !rootHasWorkdir.boolValue {
            if !mounts.contains(where: { $0.target == workingDir }) { mounts.append(SandboxMount(source: scratch, target: workingDir, readOnly: false)) }
        }
        let limits = container.resources.limits
        let sc = container.securityContext
        let psc = pod.spec.securityContext
        let uid = sc.hasRunAsUser ? sc.runAsUser : (psc.hasRunAsUser ? psc.runAsUser : nil)
        let gid = sc.hasRunAsGroup ? sc.runAsGroup : (psc.hasRunAsGroup ? psc.runAsGroup : uid)
        // bubblewrap's init hides the CPU time of what it reaps from wait4, so where the image has
        // a shell the command runs under one that records `times` when it ends (for accounting).
        let rec = isInit ? initRecords[index] : records[index]
        if FileManager.default.fileExists(atPath: (root == "/" ? "" : root) + BubblewrapCommand.resolve("/bin/sh", in: root)) {
            let usageFile = "\(containerDir)/\(rec.restartCount).usage"
            if FileManager.default.createFile(atPath: usageFile, contents: nil, attributes: [.posixPermissions: 0o666]) {
                mounts.append(SandboxMount(source: usageFile, target: Self.usageMount, readOnly: false))
                command = ["/bin/sh", "-c", "\"$@\"; weft_rc=$?; times >\(Self.usageMount) 2>/dev/null; exit $weft_rc", "weft-container"] + command
            }
        }
        let spec = SandboxSpec(
            root: root, mounts: mounts, workingDirectory: workingDir, environment: env, command: command, hostname: String(pod.metadata.name.prefix(63)),
            isolateNetwork: configuration.isolateNetwork || pod.metadata.annotations["sandbox.weft.io/network"] == "none",
            user: uid.map { ($0, gid ?? $0) },
            memoryLimitBytes: limits.hasMemoryBytes ? limits.memoryBytes : nil)
        let argv = try BubblewrapCommand(bwrap: configuration.bwrapPath, prlimit: configuration.prlimitPath).argv(for: spec)
        return (argv, "\(containerDir)/\(rec.restartCount).log")
    }
}
