import Foundation
import Gen
import Logging
import Synchronization
import WeftPodKit
import WeftRPC

/// The sidecar's configuration cannot be used.
public struct SlurmConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// The message.
    public var description: String { message }
}

/// The Slurm sidecar: each pod becomes one Slurm batch job (`sbatch`) whose script runs the init
/// containers in order and then the containers together, through apptainer, singularity, podman
/// or directly on the node. A background task polls `squeue` for every pod's job at once and
/// pushes status changes to watchers; the pods' records live in SQLite, and since Slurm jobs
/// outlive the sidecar, a restarted sidecar picks its jobs up again by id.
///
/// The layout of a pod directory and the mapping of job states are described in README.md.
public final class SlurmSidecar: Weft_Sidecar_V1_SidecarService.ServiceProtocol, Sendable {
    private let configuration: SlurmConfiguration
    private let commands: any SlurmCommands
    private let store: PodRecordStore
    private let logger: Logger
    private let changes = Broadcaster<PodChange>()
    private let table: PodTable
    private let builder: SlurmJobBuilder
    private let poller = Mutex<Task<Void, Never>?>(nil)
    private let slurmDown = Mutex(false)

    /// Opens the sidecar's state under `configuration.stateDirectory` and starts polling. Pods
    /// recorded by an earlier sidecar on the same directory are tracked again by their job ids.
    /// `commands` defaults to the real Slurm commands of `configuration.commands`.
    public init(configuration: SlurmConfiguration, commands: (any SlurmCommands)? = nil,
                logger: Logger = Logger(label: "weft.sidecar.slurm")) async throws {
        guard SlurmConfiguration.isPlainPath(configuration.stateDirectory) else {
            throw SlurmConfigurationError(message: "state directory \"\(configuration.stateDirectory)\" must be an absolute path without white space, quotes, %, #, $, \\ or `")
        }
        self.configuration = configuration
        self.commands = commands ?? SlurmCLI(paths: configuration.commands, timeout: configuration.commandTimeout)
        self.logger = logger
        self.table = PodTable(changes: changes)
        self.builder = SlurmJobBuilder(runtime: configuration.resolvedRuntime, partition: configuration.partition, extraFlags: configuration.extraFlags)
        try FileManager.default.createDirectory(atPath: configuration.stateDirectory + "/pods", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        store = try PodRecordStore(path: configuration.stateDirectory + "/slurm.sqlite")
        for record in try await store.all() {
            let phase = record.status.phase
            let final = record.state == "failed" || phase == .succeeded || phase == .failed
            await table.add(TrackedPod(submission: record.submission, directory: podDirectory(record.submission.pod), jobID: record.remoteJobID,
                                       status: record.status, final: final), publish: false)
        }
        let restored = await table.count
        logger.info("slurm sidecar started", metadata: ["runtime": "\(configuration.resolvedRuntime.name)", "pods": "\(restored)"])
        startPolling()
    }

    deinit {
        poller.withLock { $0?.cancel() }
    }

    /// Stops polling and ends every watch stream. The jobs keep running; a new sidecar on the
    /// same state directory takes them over.
    public func shutdown() async {
        let task = poller.withLock { t -> Task<Void, Never>? in defer { t = nil }; return t }
        task?.cancel()
        await task?.value
        changes.finishAll()
    }

    private func startPolling() {
        let interval = configuration.pollInterval
        guard interval > .zero else { return }
        let task = Task { [weak self] in
            while !Task.isCancelled {
                // Holds the sidecar only while polling, so that dropping it ends the loop.
                if let sidecar = self { await sidecar.poll() } else { return }
                try? await Task.sleep(for: interval)
            }
        }
        poller.withLock { $0 = task }
    }

    private func podDirectory(_ pod: Weft_Kubelet_V1_Pod) -> String {
        "\(configuration.stateDirectory)/pods/\(pod.metadata.namespace)-\(pod.metadata.uid)"
    }

    private static func names(_ pod: Weft_Kubelet_V1_Pod) -> [String] {
        (pod.spec.initContainers + pod.spec.containers).map(\.name)
    }

    // MARK: Polling

    /// Runs one poll round now: one `squeue` for every pod whose job may still change, then
    /// `scontrol show job` for jobs squeue no longer lists, then the pods' files. Changes are
    /// published and stored. The background task calls this every `pollInterval`.
    public func poll() async {
        let (round, targets, adopt) = await table.beginRound()
        for t in adopt { await adoptByName(t, round: round) }
        guard !targets.isEmpty else { return }
        let queue: [String: SlurmJobInfo]
        do {
            queue = try await commands.squeue(ids: targets.map(\.jobID))
            if slurmDown.withLock({ s in defer { s = false }; return s }) { logger.info("squeue answers again") }
        } catch {
            if !slurmDown.withLock({ s in defer { s = true }; return s }) {
                logger.warning("cannot poll Slurm; pod statuses stay as they were until it answers", metadata: ["error": "\(error)"])
            }
            return
        }
        var changed: [PodRecordStore.StatusUpdate] = []
        for t in targets {
            guard let observation = await observe(jobID: t.jobID, listed: queue[t.jobID], pod: t.pod, directory: t.directory) else { continue }
            let status = SlurmStatusMapper.status(pod: t.pod, jobID: t.jobID, job: observation.job, files: observation.files)
            // Published at once (inside apply); stored together at the end of the round.
            if await table.apply(uid: t.uid, round: round, status: status, final: observation.job.isFinal) {
                changed.append(.init(uid: t.uid, status: status, observeTime: Google_Protobuf_Timestamp.now.unixNanos, revision: 0))
            }
        }
        await persist(changed)
    }

    /// The job as Slurm knows it (squeue's line, else `scontrol show job`, else forgotten) and
    /// the pod's files; nil when Slurm could not be asked.
    private func observe(jobID: String, listed: SlurmJobInfo?, pod: Weft_Kubelet_V1_Pod, directory: String) async -> (job: SlurmJobObservation, files: PodFiles)? {
        var job: SlurmJobObservation
        var askedScontrol = false
        if let listed {
            job = SlurmJobObservation(listed)
        } else {
            do {
                job = try await commands.scontrol(showJob: jobID).map(SlurmJobObservation.init) ?? SlurmJobObservation(state: nil)
                askedScontrol = true
            } catch {
                logger.debug("scontrol show job failed", metadata: ["job": "\(jobID)", "error": "\(error)"])
                return nil
            }
        }
        let files = PodFiles.read(directory: directory, names: Self.names(pod))
        // A finished job whose containers did not all record an exit code: take the job's.
        if job.state?.isTerminal == true, !askedScontrol, job.exitCode == nil,
           files.containers.values.contains(where: { $0.exitCode == nil }),
           let info = try? await commands.scontrol(showJob: jobID) {
            job.exitCode = info.exitCode
            job.exitSignal = info.exitSignal
        }
        return (job, files)
    }

    /// A pod restored from a record written while its job was being submitted: find the job by
    /// its name (the pod UID), or fail the pod.
    private func adoptByName(_ t: PollTarget, round: UInt64) async {
        guard let ids = try? await commands.squeue(name: t.uid) else { return }
        if let id = ids.last {
            await table.adopt(uid: t.uid, jobID: id)
            logger.info("found the job of a pod submitted before a restart", metadata: ["uid": "\(t.uid)", "job": "\(id)"])
            await updateRecord(uid: t.uid) { $0.remoteJobID = id; $0.state = "submitted" }
            return
        }
        let status = SlurmStatusMapper.failed(pod: t.pod, reason: "SubmissionFailed",
                                              message: "the sidecar stopped while submitting the job, and Slurm has no job named \(t.uid)")
        if await table.apply(uid: t.uid, round: round, status: status, final: true) {
            await updateRecord(uid: t.uid) { $0.status = status; $0.state = "failed" }
        }
    }

    private func persist(_ updates: [PodRecordStore.StatusUpdate]) async {
        guard !updates.isEmpty else { return }
        do {
            try await store.updateStatuses(updates)
        } catch {
            logger.error("cannot store pod statuses", metadata: ["pods": "\(updates.count)", "error": "\(error)"])
        }
    }

    private func updateRecord(uid: String, _ change: (inout PodRecord) -> Void) async {
        do {
            guard var record = try await store.get(uid: uid) else { return }
            change(&record)
            record.observeTime = Google_Protobuf_Timestamp.now.unixNanos
            try await store.update(record)
        } catch {
            logger.error("cannot store pod record", metadata: ["uid": "\(uid)", "error": "\(error)"])
        }
    }

    // MARK: SidecarService

    /// Writes the pod's directory and job script and submits it with sbatch; returns the job id
    /// at once (PENDING, containers waiting `Queued`). Idempotent on the pod UID. A pod that
    /// cannot be built (e.g. a missing ConfigMap key) or that sbatch refuses is FAILED at once,
    /// with reason `CreateContainerConfigError` or `SubmissionFailed` and Slurm's message.
    public func createPod(request: Weft_Sidecar_V1_CreatePodRequest, context: ServerContext) async throws -> Weft_Sidecar_V1_CreatePodResponse {
        try PodNames.validate(pod: request.submission.pod)
        let uid = request.submission.pod.metadata.uid
        switch await table.claim(uid: uid, body: { [self] in try await self.submit(request) }) {
        case .existing(let r):
            return r
        case .inFlight(let task):
            var r = try await task.value
            r.created = false
            return r
        case .started(let task):
            return try await task.value
        }
    }

    private func submit(_ request: Weft_Sidecar_V1_CreatePodRequest) async throws -> Weft_Sidecar_V1_CreatePodResponse {
        let submission = request.submission
        let pod = submission.pod
        let uid = pod.metadata.uid
        let directory = podDirectory(pod)
        let fm = FileManager.default
        do {
            if let stored = try await store.get(uid: uid) {
                // Recorded but not loaded: another sidecar shares the state directory.
                await table.abandon(uid: uid)
                var r = Weft_Sidecar_V1_CreatePodResponse()
                r.pod = stored.ref
                r.remoteJobId = stored.remoteJobID
                r.status = stored.status
                return r
            }
            // Leftovers of a create that failed before it was recorded.
            if fm.fileExists(atPath: directory) { try fm.removeItem(atPath: directory) }
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            var tracked = TrackedPod(submission: submission, directory: directory, jobID: "", status: .init(), final: true)
            var record = PodRecord(uid: uid, node: "", namespace: pod.metadata.namespace, name: pod.metadata.name,
                                   submission: submission, observeTime: Google_Protobuf_Timestamp.now.unixNanos, state: "submitting")
            let options = SlurmAnnotations.merged(annotations: pod.metadata.annotations, backendOptions: request.backendOptions)
            do {
                try prepare(submission: submission, options: options, directory: directory)
            } catch let e as PodConfigError {
                logger.info("pod cannot run", metadata: ["pod": "\(pod.metadata.namespace)/\(pod.metadata.name)", "reason": "\(e.reason)", "message": "\(e.message)"])
                tracked.status = SlurmStatusMapper.failed(pod: pod, reason: e.reason, message: e.message)
                record.status = tracked.status
                record.state = "failed"
                _ = try await store.insert(record)
                await table.add(tracked)
                return response(tracked, created: true)
            }
            // Recorded before sbatch runs, so that a sidecar that dies in between finds the job by name.
            _ = try await store.insert(record)
            let outcome: SubmitOutcome
            do {
                outcome = try await commands.sbatch(script: directory + "/" + JobLayout.script, directory: directory)
            } catch {
                // sbatch could not run or did not answer: the job may exist all the same.
                if let id = (try? await commands.squeue(name: uid))?.last {
                    outcome = .submitted(jobID: id)
                } else {
                    _ = try? await store.delete(uid: uid)
                    try? fm.removeItem(atPath: directory)
                    throw RPCError(code: .unavailable, message: "cannot submit the pod's job to Slurm: \(error)")
                }
            }
            switch outcome {
            case .submitted(let id):
                tracked.jobID = id
                tracked.status = SlurmStatusMapper.queued(pod: pod, jobID: id)
                tracked.final = false
                record.state = "submitted"
                try? Data((id + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/" + JobLayout.jobIDFile))
                logger.info("pod submitted", metadata: ["pod": "\(pod.metadata.namespace)/\(pod.metadata.name)", "uid": "\(uid)", "job": "\(id)"])
            case .rejected(let message):
                tracked.status = SlurmStatusMapper.failed(pod: pod, reason: "SubmissionFailed", message: message)
                record.state = "failed"
                logger.info("sbatch refused the pod's job", metadata: ["pod": "\(pod.metadata.namespace)/\(pod.metadata.name)", "message": "\(message)"])
            }
            record.remoteJobID = tracked.jobID
            record.status = tracked.status
            try await store.update(record)
            await table.add(tracked)
            return response(tracked, created: true)
        } catch {
            await table.abandon(uid: uid)
            if error is RPCError { throw error }
            logger.error("create failed", metadata: ["uid": "\(uid)", "error": "\(error)"])
            throw RPCError(code: .internal, message: "cannot prepare the pod's job: \(error)")
        }
    }

    /// Materialises the volumes and writes the job script, env files and directories.
    private func prepare(submission: Weft_Kubelet_V1_PodSubmission, options: [String: String], directory: String) throws {
        let fm = FileManager.default
        let volumesDirectory = directory + "/" + JobLayout.volumes
        try fm.createDirectory(atPath: volumesDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let volumes: [String: MaterializedVolume]
        do {
            volumes = try VolumeMaterializer(allowHostPath: configuration.allowHostPath).materialize(submission, under: volumesDirectory)
        } catch let e as PodConfigError {
            throw e
        } catch {
            throw PodConfigError("cannot write the pod's volumes: \(error)")
        }
        let job = try builder.build(submission: submission, options: options, directory: directory, volumes: volumes)
        for w in job.warnings { logger.warning("\(w)", metadata: ["uid": "\(submission.pod.metadata.uid)"]) }
        for d in job.directories { try fm.createDirectory(atPath: d, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755]) }
        for f in job.files { try write(f.contents, to: f.path, mode: f.mode) }
        try write(Array(job.script.utf8), to: directory + "/" + JobLayout.script, mode: 0o700)
    }

    private func write(_ bytes: [UInt8], to path: String, mode: Int) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: path) { try fm.removeItem(atPath: path) }
        // Created with its final mode, so a Secret is never readable by others, not even briefly.
        guard fm.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: mode]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }

    private func response(_ p: TrackedPod, created: Bool) -> Weft_Sidecar_V1_CreatePodResponse {
        var r = Weft_Sidecar_V1_CreatePodResponse()
        r.pod = p.ref
        r.remoteJobId = p.jobID
        r.status = p.status
        r.created = created
        return r
    }

    /// Cancels the pod's job (`scancel --signal=TERM --full`, then `scancel` after the grace
    /// period), waits until Slurm no longer runs it (at most grace + 10 s), removes the pod's
    /// directory and record, and publishes DELETED. Unknown pods answer `found` false.
    public func deletePod(request: Weft_Sidecar_V1_DeletePodRequest, context: ServerContext) async throws -> Weft_Sidecar_V1_DeletePodResponse {
        let uid = request.pod.uid
        var response = Weft_Sidecar_V1_DeletePodResponse()
        response.pod = request.pod
        // A create still under way finishes first, so that its job is not left behind.
        if let task = await table.pendingCreate(uid: uid) { _ = try? await task.value }
        guard let pod = await table.beginDelete(uid: uid) else {
            response.found = false
            return response
        }
        let before = pod.status
        var final = before
        if !pod.jobID.isEmpty && !pod.final {
            let spec = pod.submission.pod.spec
            let seconds = request.hasGracePeriod ? request.gracePeriod.timeInterval
                : (spec.hasTerminationGracePeriod ? spec.terminationGracePeriod.timeInterval : nil)
            let grace = seconds.map { Duration.milliseconds(Int64(max(0, $0) * 1000)) } ?? configuration.defaultGracePeriod
            await stop(jobID: pod.jobID, grace: grace)
            let queue = (try? await commands.squeue(ids: [pod.jobID])) ?? [:]
            let observation = await observe(jobID: pod.jobID, listed: queue[pod.jobID], pod: pod.submission.pod, directory: pod.directory)
            let files = observation?.files ?? PodFiles.read(directory: pod.directory, names: Self.names(pod.submission.pod))
            let polled = await table.get(uid)?.status ?? before
            let after = observation.map { SlurmStatusMapper.status(pod: pod.submission.pod, jobID: pod.jobID, job: $0.job, files: $0.files) } ?? polled
            final = SlurmStatusMapper.deleted(pod: pod.submission.pod, before: before, after: after, files: files)
        } else if let latest = await table.get(uid) {
            final = latest.status
        }
        do {
            if FileManager.default.fileExists(atPath: pod.directory) { try FileManager.default.removeItem(atPath: pod.directory) }
        } catch {
            logger.warning("cannot remove the pod directory", metadata: ["uid": "\(uid)", "directory": "\(pod.directory)", "error": "\(error)"])
        }
        try await store.delete(uid: uid)
        await table.remove(uid: uid, finalStatus: final)
        logger.info("pod deleted", metadata: ["uid": "\(uid)", "job": "\(pod.jobID)"])
        response.found = true
        response.finalStatus = final
        return response
    }

    /// Stops a job: SIGTERM to all its processes, `scancel` after `grace`, and waits until it
    /// is no longer pending, running or completing (at most grace + 10 s).
    private func stop(jobID: String, grace: Duration) async {
        let clock = ContinuousClock()
        let start = clock.now
        func state() async -> SlurmJobState? {
            do { return try await commands.squeue(ids: [jobID])[jobID]?.state } catch { return .other("UNKNOWN") }
        }
        var current = await state()
        func active(_ s: SlurmJobState?) -> Bool { s.map { !$0.isTerminal } ?? false }
        guard active(current) else { return }
        if grace > .zero, let s = current, !s.isQueued {
            do { try await commands.scancel(id: jobID, signal: "TERM") } catch {
                logger.info("scancel --signal=TERM failed", metadata: ["job": "\(jobID)", "error": "\(error)"])
            }
            while clock.now < start + grace {
                try? await Task.sleep(for: .milliseconds(200))
                current = await state()
                if !active(current) { return }
            }
        }
        do { try await commands.scancel(id: jobID, signal: nil) } catch {
            logger.warning("scancel failed", metadata: ["job": "\(jobID)", "error": "\(error)"])
        }
        while clock.now < start + grace + .seconds(10) {
            current = await state()
            if !active(current) { return }
            try? await Task.sleep(for: .milliseconds(200))
        }
        logger.warning("the job is still active after scancel", metadata: ["job": "\(jobID)", "state": "\(current.map(\.description) ?? "?")"])
    }

    /// The last polled status of each pod.
    public func batchGetPodStatuses(request: Weft_Sidecar_V1_BatchGetPodStatusesRequest, context: ServerContext) async throws -> Weft_Sidecar_V1_BatchGetPodStatusesResponse {
        var r = Weft_Sidecar_V1_BatchGetPodStatusesResponse()
        for ref in request.pods {
            if let p = await table.get(ref.uid) { r.statuses.append(p.report) } else { r.notFound.append(ref) }
        }
        return r
    }

    /// CURRENT for every selected pod, SYNCED, then ADDED/MODIFIED/DELETED as they happen.
    public func watchPodStatuses(request: Weft_Sidecar_V1_WatchPodStatusesRequest, responses: RPCWriter<Weft_Sidecar_V1_WatchPodStatusesResponse>, context: ServerContext) async throws {
        try await changes.serveWatch(request, snapshot: { await table.all.map(\.report) }, responses: responses)
    }

    /// Streams `<name>.log` (CRI format, written by the job script with a timestamp per line)
    /// with the request's tail, since, limit, timestamps and follow; following ends when the
    /// container's exit code is recorded or the job is over. Previous runs do not exist.
    public func getContainerLogs(request: Weft_Sidecar_V1_GetContainerLogsRequest, responses: RPCWriter<Weft_Sidecar_V1_GetContainerLogsResponse>, context: ServerContext) async throws {
        let uid = request.pod.uid
        let container = request.containerName
        guard let pod = await table.get(uid) else {
            throw RPCError(code: .notFound, message: "pod \(request.pod.namespace)/\(request.pod.name) (uid \(uid)) is not known to this sidecar")
        }
        guard Self.names(pod.submission.pod).contains(container) else {
            throw RPCError(code: .invalidArgument, message: "pod \(pod.submission.pod.metadata.name) has no container \"\(container)\"")
        }
        if request.options.previous {
            throw RPCError(code: .notFound, message: "previous logs are not supported: Slurm runs container \(container) once, so it has no previous run")
        }
        let statusPath = pod.directory + "/" + JobLayout.status(container)
        let streamer = ContainerLogStreamer(path: pod.directory + "/" + JobLayout.log(container), options: request.options)
        let table = self.table
        try await streamer.run(isFinished: {
            guard let p = await table.get(uid) else { return true }
            return p.final || p.deleting || FileManager.default.fileExists(atPath: statusPath)
        }, into: responses)
    }

    /// Whether slurmctld answers `sinfo`.
    public func ping(request: Weft_Sidecar_V1_PingRequest, context: ServerContext) async throws -> Weft_Sidecar_V1_PingResponse {
        var r = Weft_Sidecar_V1_PingResponse()
        do {
            _ = try await commands.sinfoStates()
            r.backendReachable = true
        } catch {
            r.backendReachable = false
            r.statusMessage = "Slurm does not answer: \(error)"
        }
        r.serverTime = .now
        return r
    }

    /// Capacity from `sinfo -N` (CPUs, memory, GPUs from GRES), usage from the pods' requests.
    public func getSystemInfo(request: Weft_Sidecar_V1_GetSystemInfoRequest, context: ServerContext) async throws -> Weft_Sidecar_V1_GetSystemInfoResponse {
        var r = Weft_Sidecar_V1_GetSystemInfoResponse()
        r.sidecarName = "weft-slurm"
        r.sidecarVersion = "0.1.0"
        r.backendKind = "slurm"
        let nodes: [SlurmNodeInfo]
        do {
            nodes = try await commands.sinfoNodes()
        } catch {
            throw RPCError(code: .unavailable, message: "Slurm does not answer: \(error)")
        }
        if let version = try? await commands.sinfoVersion() {
            let last = version.split(separator: " ").last.map(String.init) ?? version
            r.backendVersion = last.first?.isNumber == true ? "slurm \(last)" : version
        }
        var cpus: Int64 = 0, memoryMiB: Int64 = 0
        var gpus: [String: Int64] = [:]
        for n in nodes {
            cpus += n.cpus
            memoryMiB += n.memoryMiB
            for g in n.gres where g.name == "gpu" { gpus[g.type, default: 0] += g.count }
        }
        r.capacity.cpuMillis = cpus * 1000
        r.capacity.memoryBytes = memoryMiB << 20
        r.capacity.pods = configuration.maxPods
        let totalGPUs = gpus.values.reduce(0, +)
        if totalGPUs > 0 {
            r.capacity.accelerators["nvidia.com/gpu"] = totalGPUs
            for (model, count) in gpus.sorted(by: { $0.key < $1.key }) {
                var a = Weft_Sidecar_V1_AcceleratorInfo()
                a.resourceName = "nvidia.com/gpu"
                a.model = model
                a.count = count
                r.accelerators.append(a)
            }
        }
        let pods = await table.all
        var running: Int64 = 0, cpuInUse: Int64 = 0, memInUse: Int64 = 0
        for p in pods where !p.final {
            running += 1
            let (c, m) = SlurmJobBuilder.resources(of: p.submission.pod)
            cpuInUse += Int64(c ?? 1) * 1000
            memInUse += (m ?? 0) << 20
        }
        r.inUse.cpuMillis = cpuInUse
        r.inUse.memoryBytes = memInUse
        r.inUse.pods = running
        r.allocatable.cpuMillis = max(0, r.capacity.cpuMillis - cpuInUse)
        r.allocatable.memoryBytes = max(0, r.capacity.memoryBytes - memInUse)
        r.allocatable.pods = max(0, configuration.maxPods - running)
        if totalGPUs > 0 { r.allocatable.accelerators["nvidia.com/gpu"] = totalGPUs }
        r.managedPods = Int64(pods.count)
        r.nodeLabels = ["weft.io/backend": "slurm"]
        if let partition = configuration.partition { r.nodeLabels["weft.io/slurm-partition"] = partition }
        r.features.watchPodStatuses = true
        r.features.followLogs = true
        r.features.previousLogs = false
        r.features.restarts = false
        r.features.volumeKinds = ["configMap", "secret", "emptyDir", "projected"] + (configuration.allowHostPath ? ["hostPath"] : [])
        return r
    }
}
