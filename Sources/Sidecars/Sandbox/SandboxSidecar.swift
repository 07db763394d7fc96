import Dispatch
import Foundation
import Gen
import Logging
import WeftPodKit
import WeftRPC

/// The local sandbox sidecar: Weft's embedded default backend. Each container of a pod runs as a
/// process under bubblewrap (own PID, UTS and IPC namespaces, read-only root, a writable work
/// directory, the pod's volumes bound where it mounts them), and status changes are pushed to
/// watchers the moment a process exits.
public final class SandboxSidecar: Weft_Sidecar_V1_SidecarService.ServiceProtocol {
    private let configuration: SandboxConfiguration
    private let store: PodRecordStore
    private let queue = DispatchQueue(label: "weft.sandbox.state")
    private let logger: Logger
    private let changes = Broadcaster<PodStatusChange>()
    private let statusWriter: StatusWriter
    private let writing: Task<Void, Never>
    // Touched only on `queue`.
    nonisolated(unsafe) private var pods: [String: PodRuntime] = [:]
    nonisolated(unsafe) private var published: [String: Weft_Kubelet_V1_PodStatus] = [:]

    /// Opens the sidecar's state under `configuration.stateDirectory`; pods that were running when
    /// the previous sidecar stopped are reported FAILED (`SidecarRestarted`): their processes ended with it.
    public init(configuration: SandboxConfiguration, logger: Logger = Logger(label: "weft.sidecar.sandbox")) async throws {
        self.configuration = configuration
        self.logger = logger
        try FileManager.default.createDirectory(atPath: configuration.stateDirectory + "/pods", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        store = try PodRecordStore(path: configuration.stateDirectory + "/sandbox.sqlite")
        let writer = StatusWriter(store: store, logger: logger)
        statusWriter = writer
        writing = Task { await writer.run() }
        let records = try await store.all()
        var restored: [PodRuntime] = []
        for record in records {
            let runtime = PodRuntime(restoring: record, directory: podDirectory(record.uid), configuration: configuration, queue: queue, logger: logger)
            restored.append(runtime)
        }
        queue.sync {
            for r in restored {
                pods[r.uid] = r
                r.onChange = { [weak self, weak r] in if let self, let r { self.changed(r) } }
            }
        }
        for r in restored { await onQueue { self.changed(r) } }
    }

    deinit { statusWriter.finish() }

    private func podDirectory(_ uid: String) -> String { configuration.stateDirectory + "/pods/" + uid }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in queue.async { c.resume(with: Result { try body() }) } }
    }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { c in queue.async { c.resume(returning: body()) } }
    }

    /// Publishes and persists a pod's status if it changed (on the queue).
    private func changed(_ runtime: PodRuntime) {
        let status = runtime.status
        let key = PodStatusBuilder.changeKey(status)
        let first = published[runtime.uid] == nil
        guard published[runtime.uid] != key else { return }
        published[runtime.uid] = key
        let now = Google_Protobuf_Timestamp.now.unixNanos
        var report = Weft_Kubelet_V1_PodStatusReport()
        report.pod = ref(runtime.submission.pod)
        report.remoteJobId = runtime.remoteJobID
        report.status = status
        report.observeTime = .init(unixNanos: now)
        changes.publish(PodStatusChange(type: first ? .added : .modified, report: report))
        statusWriter.enqueue(.init(uid: runtime.uid, status: status, observeTime: now, revision: 0))
    }

    private func ref(_ pod: Weft_Kubelet_V1_Pod) -> Weft_Kubelet_V1_PodRef {
        var r = Weft_Kubelet_V1_PodRef()
        r.name = pod.metadata.name
        r.namespace = pod.metadata.namespace
        r.uid = pod.metadata.uid
        return r
    }

    private func report(_ runtime: PodRuntime) -> Weft_Kubelet_V1_PodStatusReport {
        var r = Weft_Kubelet_V1_PodStatusReport()
        r.pod = ref(runtime.submission.pod)
        r.remoteJobId = runtime.remoteJobID
        r.status = runtime.status
        r.observeTime = .now
        return r
    }

    // MARK: SidecarService

    public func createPod(request: Weft_Sidecar_V1_CreatePodRequest, context: ServerContext) async throws -> Weft_Sidecar_V1_CreatePodResponse {
        let pod = request.submission.pod
        try PodNames.validate(pod: pod)
        let uid = pod.metadata.uid
        if let existing = await onQueue({ self.pods[uid].map { (self.ref($0.submission.pod), $0.remoteJobID, $0.status) } }) {
            var r = Weft_Sidecar_V1_CreatePodResponse()
            r.pod = existing.0
            r.remoteJobId = existing.1
            r.status = existing.2
            r.created = false
            return r
        }
        let directory = podDirectory(uid)
        let runtime = PodRuntime(submission: request.submission, directory: directory, configuration: configuration, queue: queue, logger: logger)
        let record = PodRecord(uid: uid, node: "", namespace: pod.metadata.namespace, name: pod.metadata.name, remoteJobID: runtime.remoteJobID,
                               submission: request.submission, status: runtime.status, observeTime: Google_Protobuf_Timestamp.now.unixNanos, state: "created")
        if let stored = try await store.insert(record) {
            // Known from before a restart but not loaded (cannot happen unless two sidecars share a directory).
            var r = Weft_Sidecar_V1_CreatePodResponse()
            r.pod = stored.ref
            r.remoteJobId = stored.remoteJobID
            r.status = stored.status
            return r
        }
        let status: Weft_Kubelet_V1_PodStatus = await onQueue {
            if let raced = self.pods[uid] { return raced.status }
            self.pods[uid] = runtime
            runtime.onChange = { [weak self, weak runtime] in if let self, let runtime { self.changed(runtime) } }
            self.changed(runtime)
            runtime.start()
            return runtime.status
        }
        logger.info("pod created", metadata: ["pod": "\(pod.metadata.namespace)/\(pod.metadata.name)", "uid": "\(uid)"])
        var r = Weft_Sidecar_V1_CreatePodResponse()
        r.pod = ref(pod)
        r.remoteJobId = runtime.remoteJobID
        r.status = status
        r.created = true
        return r
    }

    public func deletePod(request: Weft_Sidecar_V1_DeletePodRequest, context: ServerContext) async throws -> Weft_Sidecar_V1_DeletePodResponse {
        let uid = request.pod.uid
        var response = Weft_Sidecar_V1_DeletePodResponse()
        response.pod = request.pod
        guard let runtime = await onQueue({ self.pods[uid] }) else {
            response.found = false
            return response
        }
        let grace = request.hasGracePeriod ? Duration.seconds(request.gracePeriod.timeInterval)
            : (runtime.submission.pod.spec.hasTerminationGracePeriod ? Duration.seconds(runtime.submission.pod.spec.terminationGracePeriod.timeInterval) : configuration.defaultGracePeriod)
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            queue.async { runtime.stop(grace: grace) { c.resume() } }
        }
        let final: Weft_Kubelet_V1_PodStatusReport = await onQueue {
            let r = self.report(runtime)
            self.pods[uid] = nil
            self.published[uid] = nil
            self.changes.publish(PodStatusChange(type: .deleted, report: r))
            return r
        }
        try await store.delete(uid: uid)
        try? FileManager.default.removeItem(atPath: runtime.directory)
        logger.info("pod deleted", metadata: ["uid": "\(uid)"])
        response.found = true
        response.finalStatus = final.status
        return response
    }

    public func batchGetPodStatuses(request: Weft_Sidecar_V1_BatchGetPodStatusesRequest, context: ServerContext) async throws -> Weft_Sidecar_V1_BatchGetPodStatusesResponse {
        let refs = request.pods
        return await onQueue {
            var r = Weft_Sidecar_V1_BatchGetPodStatusesResponse()
            for ref in refs {
                if let p = self.pods[ref.uid] { r.statuses.append(self.report(p)) } else { r.notFound.append(ref) }
            }
            return r
        }
    }

    public func watchPodStatuses(request: Weft_Sidecar_V1_WatchPodStatusesRequest, responses: RPCWriter<Weft_Sidecar_V1_WatchPodStatusesResponse>, context: ServerContext) async throws {
        try await changes.serveWatch(request, snapshot: {
            await onQueue { self.pods.values.sorted { $0.uid < $1.uid }.map { self.report($0) } }
        }, responses: responses)
    }

    public func getContainerLogs(request: Weft_Sidecar_V1_GetContainerLogsRequest, responses: RPCWriter<Weft_Sidecar_V1_GetContainerLogsResponse>, context: ServerContext) async throws {
        let uid = request.pod.uid
        let container = request.containerName
        let previous = request.options.previous
        let found: (String?, PodRuntime)? = await onQueue {
            guard let p = self.pods[uid] else { return nil }
            return (p.logPath(container: container, previous: previous), p)
        }
        guard let (path, runtime) = found else { throw RPCError(code: .notFound, message: "pod \(request.pod.namespace)/\(request.pod.name) (uid \(uid)) is not known to this sidecar") }
        guard let path else {
            let known = await onQueue { (runtime.initRecords + runtime.records).contains { $0.name == container } }
            throw RPCError(code: known ? .notFound : .invalidArgument,
                           message: known ? "container \(container) has no previous run" : "pod \(request.pod.name) has no container \"\(container)\"")
        }
        var options = request.options
        if previous { options.follow = false }
        let streamer = ContainerLogStreamer(path: path, options: options)
        try await streamer.run(isFinished: { [self] in
            await onQueue { runtime.logFinished(container: container) || self.pods[uid] !== runtime }
        }, into: responses)
    }

    public func ping(request: Weft_Sidecar_V1_PingRequest, context: ServerContext) async throws -> Weft_Sidecar_V1_PingResponse {
        var r = Weft_Sidecar_V1_PingResponse()
        r.backendReachable = FileManager.default.isExecutableFile(atPath: configuration.bwrapPath)
        if !r.backendReachable { r.statusMessage = "bubblewrap not found at \(configuration.bwrapPath) (apt-get install bubblewrap)" }
        r.serverTime = .now
        return r
    }

    public func getSystemInfo(request: Weft_Sidecar_V1_GetSystemInfoRequest, context: ServerContext) async throws -> Weft_Sidecar_V1_GetSystemInfoResponse {
        var r = Weft_Sidecar_V1_GetSystemInfoResponse()
        r.sidecarName = "weft-sandbox"
        r.sidecarVersion = "0.1.0"
        r.backendKind = "sandbox"
        r.backendVersion = "bubblewrap"
        let cpus = Int64(max(1, ProcessInfo.processInfo.activeProcessorCount))
        r.capacity.cpuMillis = cpus * 1000
        r.capacity.memoryBytes = Int64(ProcessInfo.processInfo.physicalMemory)
        r.capacity.pods = configuration.maxPods
        let (managed, running, cpuInUse, memInUse): (Int64, Int64, Int64, Int64) = await onQueue {
            var running: Int64 = 0, cpu: Int64 = 0, mem: Int64 = 0
            for p in self.pods.values where !p.isFinished {
                running += 1
                for c in p.submission.pod.spec.containers {
                    cpu += c.resources.requests.hasCpuMillis ? c.resources.requests.cpuMillis : 0
                    mem += c.resources.requests.hasMemoryBytes ? c.resources.requests.memoryBytes : 0
                }
            }
            return (Int64(self.pods.count), running, cpu, mem)
        }
        r.inUse.cpuMillis = cpuInUse
        r.inUse.memoryBytes = memInUse
        r.inUse.pods = running
        // Nothing is reserved for the system: the scheduler subtracts running pods itself.
        r.allocatable = r.capacity
        r.managedPods = managed
        r.nodeLabels = ["weft.io/backend": "sandbox"]
        r.features.watchPodStatuses = true
        r.features.followLogs = true
        r.features.previousLogs = true
        r.features.restarts = true
        r.features.volumeKinds = ["configMap", "secret", "emptyDir", "projected"] + (configuration.allowHostPath ? ["hostPath"] : [])
        return r
    }
}
