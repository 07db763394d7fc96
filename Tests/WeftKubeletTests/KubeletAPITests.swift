import Foundation
import Gen
import Testing
import WeftKubelet
import WeftPodKit
import WeftRPC
import WeftSandboxSidecar

/// A kubelet API in front of an in-process sandbox sidecar.
struct Stack {
    let api: KubeletAPI
    let client: Weft_Kubelet_V1_KubeletService.Client
    let follow: Task<Void, Never>
    let dir: String

    init(dir: String = NSTemporaryDirectory() + "weft-kubelet-\(UUID().uuidString)", sidecar: (any ClientTransport)? = nil) async throws {
        self.dir = dir
        let transport: any ClientTransport
        if let sidecar {
            transport = sidecar
        } else {
            let sandbox = try await SandboxSidecar(configuration: SandboxConfiguration(stateDirectory: dir + "/sandbox"))
            transport = InProcessTransport(server: RPCServer(services: [sandbox]))
        }
        var configuration = KubeletAPIConfiguration(databasePath: dir + "/kubelet.sqlite")
        configuration.sidecarTimeout = .seconds(5)
        let api = try await KubeletAPI(sidecar: transport, configuration: configuration)
        self.api = api
        client = .init(transport: InProcessTransport(server: RPCServer(services: [api])))
        follow = Task { await api.run() }
    }

    static func submission(_ name: String, script: String = "echo hi", uid: String = UUID().uuidString.lowercased()) -> Weft_Kubelet_V1_PodSubmission {
        var s = Weft_Kubelet_V1_PodSubmission()
        s.pod.metadata.name = name
        s.pod.metadata.namespace = "default"
        s.pod.metadata.uid = uid
        s.pod.spec.restartPolicy = .never
        var c = Weft_Kubelet_V1_Container()
        c.name = "main"
        c.image = "host"
        c.command = ["/bin/sh", "-c", script]
        s.pod.spec.containers = [c]
        return s
    }

    func create(_ s: Weft_Kubelet_V1_PodSubmission) async throws -> Weft_Kubelet_V1_CreatePodResponse {
        var r = Weft_Kubelet_V1_CreatePodRequest()
        r.nodeName = "n1"
        r.submission = s
        return try await client.createPod(r)
    }
}

@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap"), "bubblewrap is not installed"))
struct KubeletAPITests {
    @Test func refusesBadNamesAndMissingReferences() async throws {
        let stack = try await Stack()
        defer { stack.follow.cancel() }
        for (name, expected) in [("../../etc", "pod name"), ("UPPER", "pod name")] {
            do {
                _ = try await stack.create(Stack.submission(name))
                Issue.record("\(name) accepted")
            } catch let e as RPCError {
                #expect(e.code == .invalidArgument && e.message.contains(expected), "\(e)")
            }
        }
        var s = Stack.submission("needs-secret")
        var from = Weft_Kubelet_V1_EnvFromSource()
        from.secretName = "absent"
        s.pod.spec.containers[0].envFrom = [from]
        do {
            _ = try await stack.create(s)
            Issue.record("missing secret accepted")
        } catch let e as RPCError {
            #expect(e.code == .invalidArgument && e.message.contains("Secret \"absent\""), "\(e)")
        }
        var logs = Weft_Kubelet_V1_GetContainerLogsRequest()
        logs.nodeName = "n1"
        logs.pod.name = "x"
        logs.pod.namespace = "../.."
        do {
            try await stack.client.getContainerLogs(logs) { stream in for try await _ in stream {} }
            Issue.record("traversal in logs accepted")
        } catch let e as RPCError {
            #expect(e.code == .invalidArgument)
        }
    }

    @Test func createIsIdempotentAndWatchersResume() async throws {
        let stack = try await Stack()
        defer { stack.follow.cancel() }
        let s = Stack.submission("once", script: "echo done")
        let first = try await stack.create(s)
        let second = try await stack.create(s)
        #expect(first.created && !second.created && first.remoteJobId == second.remoteJobId)
        var clash = s
        clash.pod.metadata.uid = UUID().uuidString.lowercased()
        await #expect(throws: RPCError.self) { _ = try await stack.create(clash) }

        var watch = Weft_Kubelet_V1_WatchPodStatusesRequest()
        watch.nodeName = "n1"
        let (final, lastRevision) = try await stack.client.watchPodStatuses(watch, options: CallOptions(timeout: .seconds(20))) { stream in
            var revision: Int64 = 0
            for try await m in stream {
                revision = max(revision, m.revision)
                if m.report.status.phase == .succeeded { return (m.report, revision) }
            }
            throw RPCError(code: .internal, message: "ended")
        }
        #expect(final.pod.name == "once" && final.remoteJobId == first.remoteJobId)
        // Resuming from the revision of a change replays only what came after it.
        watch.resumeAfterRevision = lastRevision
        let replay = try await stack.client.watchPodStatuses(watch, options: CallOptions(timeout: .seconds(5))) { stream in
            var types: [Weft_Common_V1_ChangeType] = []
            for try await m in stream {
                types.append(m.changeType)
                if m.changeType == .synced { return types }
            }
            return types
        }
        #expect(replay == [.synced])
        var list = Weft_Kubelet_V1_ListPodsRequest()
        list.nodeName = "n1"
        list.pageSize = 1
        let page = try await stack.client.listPods(list)
        #expect(page.pods.count == 1 && page.nextPageToken.isEmpty)
        list.nodeName = "other-node"
        #expect(try await stack.client.listPods(list).pods.isEmpty, "pods are scoped to their node")
    }

    @Test func aCreateInterruptedBySidecarOutageIsFinishedAfterRestart() async throws {
        let dir = NSTemporaryDirectory() + "weft-kubelet-\(UUID().uuidString)"
        // A sidecar that is down: every call fails UNAVAILABLE.
        let down = try await Stack(dir: dir, sidecar: Unavailable())
        do {
            _ = try await down.create(Stack.submission("later", script: "echo ran-once"))
            Issue.record("create succeeded with the sidecar down")
        } catch let e as RPCError {
            #expect(e.code == .unavailable && e.message.contains("retried"), "\(e)")
        }
        down.follow.cancel()
        // The API restarts with a working sidecar: the recorded pod is created, once.
        let up = try await Stack(dir: dir)
        defer { up.follow.cancel() }
        var watch = Weft_Kubelet_V1_WatchPodStatusesRequest()
        watch.nodeName = "n1"
        let report = try await up.client.watchPodStatuses(watch, options: CallOptions(timeout: .seconds(20))) { stream in
            for try await m in stream where m.report.status.phase == .succeeded { return m.report }
            throw RPCError(code: .internal, message: "ended")
        }
        #expect(report.pod.name == "later" && !report.remoteJobId.isEmpty)
    }
}

/// A sidecar transport whose peer is gone.
struct Unavailable: ClientTransport {
    func withStream<R>(descriptor: MethodDescriptor, options: CallOptions, _ body: (ClientStream) async throws -> R) async throws -> R {
        throw RPCError(code: .unavailable, message: "connection refused")
    }
}
