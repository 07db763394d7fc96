import Foundation
import Gen
import Logging
import Synchronization
import WeftPodKit
import WeftRPC

/// Settings of the kubelet API.
public struct KubeletAPIConfiguration: Sendable {
    /// SQLite file of pod records.
    public var databasePath: String
    /// How often to poll the sidecar when it does not implement WatchPodStatuses.
    public var pollInterval: Duration = .seconds(1)
    /// Deadline of each call to the sidecar (not streams).
    public var sidecarTimeout: Duration = .seconds(60)
    /// Status changes kept for watchers that resume with `resume_after_revision`.
    public var historyLength = 4096

    /// Creates a configuration.
    public init(databasePath: String) { self.databasePath = databasePath }
}

/// The kubelet API (`weft.kubelet.v1.KubeletService`): takes pods from virtual kubelets and the
/// CLI, keeps a durable record of each, forwards them to one sidecar, and streams the sidecar's
/// status changes to every watcher as they arrive.
///
/// A record is written before the sidecar is asked to create the pod and marked created after, so
/// a restart finishes interrupted creates (sidecars are idempotent on the pod UID) and never
/// loses or duplicates a pod.
public final class KubeletAPI: Weft_Kubelet_V1_KubeletService.ServiceProtocol {
    /// A change as watchers see it.
    struct Change: Sendable {
        var type: Weft_Common_V1_ChangeType
        var record: PodRecord
    }

    private struct State {
        var records: [String: PodRecord] = [:]
        var revision: Int64 = 0
        var history: [Change] = []
        var historyStart = 0
        var sidecarSynced = false
    }

    private let sidecar: Weft_Sidecar_V1_SidecarService.Client
    private let store: PodRecordStore
    private let configuration: KubeletAPIConfiguration
    private let logger: Logger
    private let state = Mutex(State())
    private let changes = Broadcaster<Change>()
    private let statusWriter: StatusWriter
    private let onPodFinished: (@Sendable (PodRecord) -> Void)?
    /// The API's version, reported by Ping.
    public static let version = "weft-kubelet-api/0.1.0"

    /// Opens the record store and loads every pod; call ``run()`` to follow the sidecar.
    /// `sidecarInterceptors` run on every call to the sidecar (e.g. a bearer token).
    /// `onPodFinished` is told once per pod when the sidecar reports it SUCCEEDED or FAILED (usage
    /// accounting); it must return quickly.
    public init(
        sidecar: any ClientTransport, sidecarInterceptors: [any ClientInterceptor] = [], configuration: KubeletAPIConfiguration,
        onPodFinished: (@Sendable (PodRecord) -> Void)? = nil, logger: Logger = Logger(label: "weft.kubelet")
    ) async throws {
        self.onPodFinished = onPodFinished
        self.sidecar = Weft_Sidecar_V1_SidecarService.Client(RPCClient(transport: sidecar, interceptors: sidecarInterceptors))
        self.configuration = configuration
        self.logger = logger
        store = try PodRecordStore(path: configuration.databasePath)
        statusWriter = StatusWriter(store: store, logger: logger)
        let records = try await store.all()
        let counter = try await store.counter("revision")
        state.withLock { s in
            for r in records { s.records[r.uid] = r }
            s.revision = max(counter, records.map(\.revision).max() ?? 0)
        }
        logger.info("loaded pod records", metadata: ["pods": "\(records.count)", "creating": "\(records.filter { $0.state == "creating" }.count)"])
    }

    /// Follows the sidecar until cancelled: finishes interrupted creates, then keeps a watch on the
    /// sidecar (or polls it) and writes status changes through to the store.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await withTaskCancellationHandler { await self.statusWriter.run() } onCancel: { self.statusWriter.finish() } }
            group.addTask { await self.finishInterruptedCreates() }
            group.addTask { await self.followSidecar() }
            await group.waitForAll()
        }
        changes.finishAll()
    }

    // MARK: Following the sidecar

    private func finishInterruptedCreates() async {
        let pending = state.withLock { $0.records.values.filter { $0.state == "creating" } }
        for record in pending {
            var delay = Duration.milliseconds(200)
            while !Task.isCancelled {
                do {
                    _ = try await submit(record)
                    logger.info("finished an interrupted create", metadata: ["pod": "\(record.namespace)/\(record.name)"])
                    break
                } catch let e as RPCError where Self.isTransient(e.code) {
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(10))
                } catch {
                    break
                }
            }
        }
    }

    private func followSidecar() async {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                try await sidecar.watchPodStatuses(Weft_Sidecar_V1_WatchPodStatusesRequest()) { stream in
                    var snapshot = Set<String>()
                    for try await m in stream {
                        delay = .milliseconds(100)
                        switch m.changeType {
                        case .current:
                            snapshot.insert(m.report.pod.uid)
                            apply(m.report)
                        case .synced:
                            markLost(except: snapshot)
                            state.withLock { $0.sidecarSynced = true }
                        case .deleted:
                            break  // The kubelet API deletes its record itself, in DeletePod.
                        default:
                            apply(m.report)
                        }
                    }
                }
                logger.info("the sidecar ended its watch stream; watching again")
            } catch let e as RPCError where e.code == .unimplemented {
                logger.notice("the sidecar does not implement WatchPodStatuses; polling it", metadata: ["interval": "\(configuration.pollInterval)"])
                await poll()
                return
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("lost the sidecar's watch stream; retrying", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
            }
            state.withLock { $0.sidecarSynced = false }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }

    private func poll() async {
        while !Task.isCancelled {
            let refs = state.withLock { $0.records.values.filter { $0.state != "creating" }.map(\.ref) }
            for chunk in stride(from: 0, to: refs.count, by: 1000) {
                var request = Weft_Sidecar_V1_BatchGetPodStatusesRequest()
                request.pods = Array(refs[chunk..<min(refs.count, chunk + 1000)])
                if let response = try? await sidecar.batchGetPodStatuses(request, options: CallOptions(timeout: configuration.sidecarTimeout)) {
                    for r in response.statuses { apply(r) }
                }
            }
            try? await Task.sleep(for: configuration.pollInterval)
        }
    }

    /// Takes a status report from the sidecar: a change reaches watchers at once and the store soon after.
    private func apply(_ report: Weft_Kubelet_V1_PodStatusReport) {
        var finished = false
        let change: Change? = state.withLock { s in
            guard var r = s.records[report.pod.uid] else { return nil }
            let changed = PodStatusBuilder.changeKey(r.status) != PodStatusBuilder.changeKey(report.status)
            if r.remoteJobID.isEmpty { r.remoteJobID = report.remoteJobId }
            r.observeTime = report.hasObserveTime ? report.observeTime.unixNanos : Google_Protobuf_Timestamp.now.unixNanos
            guard changed else { s.records[r.uid] = r; return nil }
            finished = !Self.isTerminal(r.status.phase) && Self.isTerminal(report.status.phase)
            r.status = report.status
            s.revision += 1
            r.revision = s.revision
            s.records[r.uid] = r
            return record(Change(type: .modified, record: r), in: &s)
        }
        if let change {
            changes.publish(change)
            persist(change.record)
            if finished { onPodFinished?(change.record) }
        }
    }

    /// Pods the sidecar no longer knows after a resync (its state was lost) fail with a reason.
    private func markLost(except known: Set<String>) {
        let lost: [Change] = state.withLock { s in
            var out: [Change] = []
            for (uid, var r) in s.records where r.state == "created" && !known.contains(uid) && !Self.isTerminal(r.status.phase) {
                r.status.phase = .failed
                r.status.reason = "LostBySidecar"
                r.status.message = "the sidecar no longer knows this pod"
                s.revision += 1
                r.revision = s.revision
                s.records[uid] = r
                out.append(record(Change(type: .modified, record: r), in: &s))
            }
            return out
        }
        for c in lost {
            changes.publish(c)
            persist(c.record)
            onPodFinished?(c.record)
        }
    }

    private func persist(_ r: PodRecord) {
        statusWriter.enqueue(.init(uid: r.uid, status: r.status, observeTime: r.observeTime, revision: r.revision))
    }

    private func record(_ change: Change, in s: inout State) -> Change {
        s.history.append(change)
        if s.history.count > configuration.historyLength * 2 {
            s.history.removeFirst(s.history.count - configuration.historyLength)
        }
        return change
    }

    static func isTerminal(_ phase: Weft_Kubelet_V1_PodPhase) -> Bool { phase == .succeeded || phase == .failed }
    static func isTransient(_ code: StatusCode) -> Bool { code == .unavailable || code == .deadlineExceeded || code == .cancelled || code == .unknown }

    // MARK: Creating

    /// Asks the sidecar to create `record`'s pod and stores the result. Permanent refusals become
    /// a FAILED status with the sidecar's message; transient errors are thrown (the record stays
    /// `creating` and is retried).
    private func submit(_ record: PodRecord) async throws -> PodRecord {
        var request = Weft_Sidecar_V1_CreatePodRequest()
        request.submission = record.submission
        request.containers = PodReferences.retrieved(record.submission.pod)
        for (k, v) in record.submission.pod.metadata.annotations where k.hasPrefix("slurm-job.vk.io/") || k.hasPrefix("sandbox.weft.io/") || k.hasPrefix("job.vk.io/") {
            request.backendOptions[k] = v
        }
        var updated = record
        do {
            let response = try await sidecar.createPod(request, options: CallOptions(timeout: configuration.sidecarTimeout))
            updated.remoteJobID = response.remoteJobId
            if response.hasStatus { updated.status = response.status }
        } catch let e as RPCError where !Self.isTransient(e.code) {
            updated.status.phase = .failed
            updated.status.reason = "SubmissionFailed"
            updated.status.message = e.message.isEmpty ? "\(e.code)" : e.message
            logger.warning("the sidecar refused a pod", metadata: ["pod": "\(record.namespace)/\(record.name)", "code": "\(e.code)", "message": "\(e.message)"])
        }
        updated.state = "created"
        updated.observeTime = Google_Protobuf_Timestamp.now.unixNanos
        let change: Change? = state.withLock { s in
            guard var current = s.records[record.uid], current.state == "creating" else { return nil }
            // A watch event may have arrived first; keep the newer status.
            if current.status.phase != .unspecified, current.status.phase != .pending, updated.status.reason != "SubmissionFailed" { updated.status = current.status }
            current = updated
            s.revision += 1
            current.revision = s.revision
            s.records[record.uid] = current
            updated = current
            return self.record(Change(type: .modified, record: current), in: &s)
        }
        try await store.update(updated)
        if let change { changes.publish(change) }
        return updated
    }

    public func createPod(request: Weft_Kubelet_V1_CreatePodRequest, context: ServerContext) async throws -> Weft_Kubelet_V1_CreatePodResponse {
        let node = try Self.node(request.nodeName)
        guard request.hasSubmission, request.submission.hasPod else { throw RPCError(code: .invalidArgument, message: "the request has no pod") }
        var submission = request.submission
        try PodNames.validate(pod: submission.pod)
        try PodReferences(submission.pod).check(submission)
        submission.pod.spec.nodeName = node
        submission.pod.clearStatus()
        var pending = Weft_Kubelet_V1_PodStatus()
        pending.phase = .pending
        let meta = submission.pod.metadata
        var record = PodRecord(uid: meta.uid, node: node, namespace: meta.namespace, name: meta.name, submission: submission, status: pending,
                               observeTime: Google_Protobuf_Timestamp.now.unixNanos, state: "creating")
        let clash = state.withLock { s in
            s.records.values.first { $0.node == node && $0.namespace == meta.namespace && $0.name == meta.name && $0.uid != meta.uid }
        }
        if let clash {
            throw RPCError(code: .alreadyExists, message: "pod \(meta.namespace)/\(meta.name) already exists on node \(node) (uid \(clash.uid)); delete it first")
        }
        let existing = try await store.insert(record)
        if let existing {
            // Known UID: idempotent. A create interrupted by a restart or a sidecar outage is finished now.
            let current = state.withLock { $0.records[existing.uid] } ?? existing
            if current.node != node { throw RPCError(code: .alreadyExists, message: "pod uid \(meta.uid) already exists on node \(current.node)") }
            let finished = current.state == "creating" ? try await submit(current) : current
            return Self.createResponse(finished, created: false)
        }
        let added: Change = state.withLock { s in
            s.revision += 1
            record.revision = s.revision
            s.records[record.uid] = record
            return self.record(Change(type: .added, record: record), in: &s)
        }
        changes.publish(added)
        logger.info("pod accepted", metadata: ["pod": "\(meta.namespace)/\(meta.name)", "uid": "\(meta.uid)", "node": "\(node)"])
        do {
            return Self.createResponse(try await submit(record), created: true)
        } catch let e as RPCError {
            throw RPCError(code: e.code, message: "the pod is recorded but the sidecar could not take it yet (\(e.message)); it will be retried")
        }
    }

    private static func createResponse(_ r: PodRecord, created: Bool) -> Weft_Kubelet_V1_CreatePodResponse {
        var response = Weft_Kubelet_V1_CreatePodResponse()
        response.pod = r.ref
        response.remoteJobId = r.remoteJobID
        response.status = r.status
        response.created = created
        return response
    }

    static func node(_ name: String) throws -> String {
        let node = name.isEmpty ? "default" : name
        guard PodNames.isSubdomain(node) else { throw RPCError(code: .invalidArgument, message: "node name \"\(node)\" is not a DNS-1123 subdomain") }
        return node
    }

    /// The record for `ref` on `node`: by UID, or by namespace and name when the UID is empty.
    private func lookup(_ ref: Weft_Kubelet_V1_PodRef, node: String) throws -> PodRecord? {
        try PodNames.validate(ref, uidRequired: false)
        return state.withLock { s in
            if !ref.uid.isEmpty { return s.records[ref.uid].flatMap { $0.node == node ? $0 : nil } }
            return s.records.values.first { $0.node == node && $0.namespace == ref.namespace && $0.name == ref.name }
        }
    }

    // MARK: Deleting and reading

    public func deletePod(request: Weft_Kubelet_V1_DeletePodRequest, context: ServerContext) async throws -> Weft_Kubelet_V1_DeletePodResponse {
        let node = try Self.node(request.nodeName)
        var response = Weft_Kubelet_V1_DeletePodResponse()
        response.pod = request.pod
        guard let record = try lookup(request.pod, node: node) else { return response }
        var sidecarRequest = Weft_Sidecar_V1_DeletePodRequest()
        sidecarRequest.pod = record.ref
        sidecarRequest.remoteJobId = record.remoteJobID
        if request.hasGracePeriod { sidecarRequest.gracePeriod = request.gracePeriod }
        var final = record.status
        let grace = request.hasGracePeriod ? request.gracePeriod.timeInterval : 30
        let result = try await sidecar.deletePod(sidecarRequest, options: CallOptions(timeout: configuration.sidecarTimeout + .seconds(grace)))
        if result.found && result.hasFinalStatus { final = result.finalStatus }
        try await store.delete(uid: record.uid)
        let change: Change = state.withLock { s in
            var r = record
            r.status = final
            s.records[record.uid] = nil
            s.revision += 1
            r.revision = s.revision
            return self.record(Change(type: .deleted, record: r), in: &s)
        }
        try await store.setCounter("revision", change.record.revision)
        changes.publish(change)
        logger.info("pod deleted", metadata: ["pod": "\(record.namespace)/\(record.name)", "uid": "\(record.uid)"])
        response.pod = record.ref
        response.found = true
        response.finalStatus = final
        return response
    }

    public func batchGetPodStatuses(request: Weft_Kubelet_V1_BatchGetPodStatusesRequest, context: ServerContext) async throws -> Weft_Kubelet_V1_BatchGetPodStatusesResponse {
        let node = try Self.node(request.nodeName)
        guard request.pods.count <= 1000 else { throw RPCError(code: .invalidArgument, message: "at most 1000 pods per request (got \(request.pods.count))") }
        var response = Weft_Kubelet_V1_BatchGetPodStatusesResponse()
        var found: [PodRecord] = []
        for ref in request.pods {
            if let r = try lookup(ref, node: node) { found.append(r) } else { response.notFound.append(ref) }
        }
        if request.bypassCache, !found.isEmpty {
            var q = Weft_Sidecar_V1_BatchGetPodStatusesRequest()
            q.pods = found.map(\.ref)
            let fresh = try await sidecar.batchGetPodStatuses(q, options: CallOptions(timeout: configuration.sidecarTimeout))
            for r in fresh.statuses { apply(r) }
            found = found.map { r in state.withLock { $0.records[r.uid] } ?? r }
        }
        response.statuses = found.map(\.report)
        return response
    }

    public func listPods(request: Weft_Kubelet_V1_ListPodsRequest, context: ServerContext) async throws -> Weft_Kubelet_V1_ListPodsResponse {
        let node = try Self.node(request.nodeName)
        let pageSize = request.pageSize <= 0 ? 500 : min(Int(request.pageSize), 1000)
        var after: (String, String, String)?
        if !request.pageToken.isEmpty {
            guard let data = Data(base64Encoded: request.pageToken), let text = String(data: data, encoding: .utf8) else {
                throw RPCError(code: .invalidArgument, message: "page_token is not a token this server issued")
            }
            let parts = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else { throw RPCError(code: .invalidArgument, message: "page_token is not a token this server issued") }
            after = (parts[0], parts[1], parts[2])
        }
        let all = state.withLock { s in
            s.records.values.filter { r in
                r.node == node && (request.namespace.isEmpty || r.namespace == request.namespace)
                    && request.labelSelector.allSatisfy { r.submission.pod.metadata.labels[$0.key] == $0.value }
            }
        }.sorted { ($0.namespace, $0.name, $0.uid) < ($1.namespace, $1.name, $1.uid) }
        let rest = after.map { a in all.filter { ($0.namespace, $0.name, $0.uid) > a } } ?? all
        var response = Weft_Kubelet_V1_ListPodsResponse()
        for r in rest.prefix(pageSize) {
            var p = Weft_Kubelet_V1_ListedPod()
            p.pod = r.submission.pod
            p.pod.status = r.status
            p.remoteJobId = r.remoteJobID
            if r.observeTime > 0 { p.observeTime = .init(unixNanos: r.observeTime) }
            response.pods.append(p)
        }
        if rest.count > pageSize, let last = rest.prefix(pageSize).last {
            response.nextPageToken = Data("\(last.namespace)\n\(last.name)\n\(last.uid)".utf8).base64EncodedString()
        }
        return response
    }

    public func watchPodStatuses(request: Weft_Kubelet_V1_WatchPodStatusesRequest, responses: RPCWriter<Weft_Kubelet_V1_WatchPodStatusesResponse>, context: ServerContext) async throws {
        let node = try Self.node(request.nodeName)
        for ref in request.pods { try PodNames.validate(ref, uidRequired: false) }
        let uids = Set(request.pods.map(\.uid).filter { !$0.isEmpty })
        let names = Set(request.pods.filter { $0.uid.isEmpty }.map { "\($0.namespace)/\($0.name)" })
        func selected(_ r: PodRecord) -> Bool {
            guard r.node == node, request.namespace.isEmpty || r.namespace == request.namespace else { return false }
            return (uids.isEmpty && names.isEmpty) || uids.contains(r.uid) || names.contains("\(r.namespace)/\(r.name)")
        }
        func message(_ type: Weft_Common_V1_ChangeType, _ r: PodRecord) -> Weft_Kubelet_V1_WatchPodStatusesResponse {
            var m = Weft_Kubelet_V1_WatchPodStatusesResponse()
            m.changeType = type
            m.report = r.report
            m.revision = r.revision
            return m
        }
        let subscription = changes.subscribe()
        defer { changes.unsubscribe(subscription) }
        let (snapshot, replay, revision): ([PodRecord], [Change]?, Int64) = state.withLock { s in
            if request.hasResumeAfterRevision, let first = s.history.first, first.record.revision <= request.resumeAfterRevision + 1 {
                return ([], s.history.filter { $0.record.revision > request.resumeAfterRevision }, s.revision)
            }
            if request.hasResumeAfterRevision, s.history.isEmpty, request.resumeAfterRevision == s.revision {
                return ([], [], s.revision)
            }
            return (Array(s.records.values), nil, s.revision)
        }
        if let replay {
            for c in replay where selected(c.record) { try await responses.write(message(c.type, c.record)) }
        } else {
            for r in snapshot.sorted(by: { ($0.namespace, $0.name) < ($1.namespace, $1.name) }) where selected(r) {
                try await responses.write(message(.current, r))
            }
        }
        var synced = Weft_Kubelet_V1_WatchPodStatusesResponse()
        synced.changeType = .synced
        synced.revision = revision
        try await responses.write(synced)
        for await c in subscription.events where c.record.revision > revision && selected(c.record) {
            try await responses.write(message(c.type, c.record))
        }
        if subscription.overflowed { throw RPCError(code: .resourceExhausted, message: "the watcher fell too far behind; watch again with resume_after_revision") }
    }

    public func getContainerLogs(request: Weft_Kubelet_V1_GetContainerLogsRequest, responses: RPCWriter<Weft_Kubelet_V1_GetContainerLogsResponse>, context: ServerContext) async throws {
        let node = try Self.node(request.nodeName)
        guard let record = try lookup(request.pod, node: node) else {
            throw RPCError(code: .notFound, message: "pod \(request.pod.namespace)/\(request.pod.name) is not known on node \(node)")
        }
        let spec = record.submission.pod.spec
        var container = request.containerName
        if container.isEmpty {
            guard spec.containers.count == 1 else {
                throw RPCError(code: .invalidArgument, message: "pod \(record.name) has \(spec.containers.count) containers; name one of: \(spec.containers.map(\.name).joined(separator: ", "))")
            }
            container = spec.containers[0].name
        }
        guard PodNames.isLabel(container) else { throw RPCError(code: .invalidArgument, message: "container name \"\(container)\" is not a DNS-1123 label") }
        guard (spec.initContainers + spec.containers).contains(where: { $0.name == container }) else {
            throw RPCError(code: .invalidArgument, message: "pod \(record.name) has no container \"\(container)\"")
        }
        guard record.state != "creating" else { throw RPCError(code: .unavailable, message: "pod \(record.name) is still being created") }
        var q = Weft_Sidecar_V1_GetContainerLogsRequest()
        q.pod = record.ref
        q.remoteJobId = record.remoteJobID
        q.containerName = container
        q.options = request.options
        try await sidecar.getContainerLogs(q) { stream in
            for try await chunk in stream {
                var m = Weft_Kubelet_V1_GetContainerLogsResponse()
                m.chunk = chunk.chunk
                try await responses.write(m)
            }
        }
    }

    public func ping(request: Weft_Kubelet_V1_PingRequest, context: ServerContext) async throws -> Weft_Kubelet_V1_PingResponse {
        var response = Weft_Kubelet_V1_PingResponse()
        response.apiVersion = Self.version
        response.serverTime = .now
        do {
            let options = CallOptions(timeout: .seconds(10))
            let ping = try await sidecar.ping(Weft_Sidecar_V1_PingRequest(), options: options)
            let info = try await sidecar.getSystemInfo(Weft_Sidecar_V1_GetSystemInfoRequest(), options: options)
            response.sidecarReachable = true
            response.sidecarName = "\(info.sidecarName)/\(info.sidecarVersion)"
            response.capacity = info.capacity
            response.allocatable = info.allocatable
            for a in info.accelerators { response.capacity.accelerators[a.resourceName] = a.count }
            response.taints = info.taints
            response.nodeLabels = info.nodeLabels
            if !ping.backendReachable { response.statusMessage = ping.statusMessage.isEmpty ? "the sidecar cannot reach its backend" : ping.statusMessage }
        } catch let e as RPCError {
            response.sidecarReachable = false
            response.statusMessage = "sidecar: \(e.code): \(e.message)"
        }
        return response
    }
}
