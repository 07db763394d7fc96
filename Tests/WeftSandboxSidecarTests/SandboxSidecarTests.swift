import Foundation
import Gen
import Testing
import WeftPodKit
import WeftRPC
import WeftSandboxSidecar

/// A sandbox sidecar in a fresh state directory, called through generated clients.
struct Sandbox {
    let sidecar: SandboxSidecar
    let client: Weft_Sidecar_V1_SidecarService.Client
    let state: String

    init(state: String = NSTemporaryDirectory() + "weft-sandbox-\(UUID().uuidString)", allowHostPath: Bool = false) async throws {
        self.state = state
        sidecar = try await SandboxSidecar(configuration: SandboxConfiguration(stateDirectory: state, allowHostPath: allowHostPath, defaultGracePeriod: .seconds(2)))
        client = .init(transport: InProcessTransport(server: RPCServer(services: [sidecar])))
    }

    /// Creates a pod of shell-script containers running on the host image.
    func create(_ name: String, init inits: [String] = [], _ scripts: [String], policy: Weft_Kubelet_V1_RestartPolicy = .never,
                mutate: (inout Weft_Kubelet_V1_PodSubmission) -> Void = { _ in }) async throws -> Weft_Kubelet_V1_PodRef {
        var s = Weft_Kubelet_V1_PodSubmission()
        s.pod.metadata.name = name
        s.pod.metadata.namespace = "test"
        s.pod.metadata.uid = UUID().uuidString.lowercased()
        s.pod.spec.restartPolicy = policy
        func container(_ n: String, _ script: String) -> Weft_Kubelet_V1_Container {
            var c = Weft_Kubelet_V1_Container()
            c.name = n
            c.image = "host"
            c.command = ["/bin/sh", "-c", script]
            return c
        }
        s.pod.spec.initContainers = inits.enumerated().map { container("init\($0)", $1) }
        s.pod.spec.containers = scripts.enumerated().map { container("c\($0)", $1) }
        mutate(&s)
        var request = Weft_Sidecar_V1_CreatePodRequest()
        request.submission = s
        let response = try await client.createPod(request)
        #expect(response.created)
        return response.pod
    }

    /// Waits (through the watch stream) until the pod reaches a final phase; returns its report.
    func finish(_ pod: Weft_Kubelet_V1_PodRef, timeout: Duration = .seconds(30)) async throws -> Weft_Kubelet_V1_PodStatusReport {
        var request = Weft_Sidecar_V1_WatchPodStatusesRequest()
        request.pods = [pod]
        return try await client.watchPodStatuses(request, options: CallOptions(timeout: timeout)) { stream in
            for try await m in stream where m.changeType != .synced {
                if m.report.status.phase == .succeeded || m.report.status.phase == .failed { return m.report }
            }
            throw RPCError(code: .internal, message: "watch ended")
        }
    }

    func logs(_ pod: Weft_Kubelet_V1_PodRef, _ container: String, _ mutate: (inout Weft_Kubelet_V1_LogOptions) -> Void = { _ in }) async throws -> String {
        var request = Weft_Sidecar_V1_GetContainerLogsRequest()
        request.pod = pod
        request.containerName = container
        mutate(&request.options)
        return try await client.getContainerLogs(request) { stream in
            var text = ""
            for try await chunk in stream { text += String(decoding: chunk.chunk.data, as: UTF8.self) }
            return text
        }
    }
}

func terminated(_ s: Weft_Kubelet_V1_ContainerStatus) -> Weft_Kubelet_V1_ContainerStateTerminated? {
    if case .terminated(let t)? = s.state.state { return t }
    return nil
}

let bwrapInstalled = FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap")

@Suite(.enabled(if: bwrapInstalled, "bubblewrap is not installed (scripts/bootstrap.sh installs it)"))
struct SandboxSidecarTests {
    @Test func initContainersVolumesEnvAndLogs() async throws {
        let box = try await Sandbox()
        let pod = try await box.create("life", init: ["echo from-init > /data/in.txt"],
                                       ["cat /data/in.txt; cat /cfg/greeting; echo \"secret=$PW\"; echo err >&2; echo \"ns=$(ls /proc | grep -c '^[0-9]')\""]) { s in
            var cm = Weft_Kubelet_V1_ConfigMap()
            cm.metadata.name = "cm"
            cm.data = ["greeting": "hello\n"]
            var sec = Weft_Kubelet_V1_Secret()
            sec.metadata.name = "sec"
            sec.data = ["pw": Data("hunter2".utf8)]
            s.configMaps = [cm]
            s.secrets = [sec]
            var scratch = Weft_Kubelet_V1_Volume()
            scratch.name = "scratch"
            scratch.emptyDir = .init()
            var cfg = Weft_Kubelet_V1_Volume()
            cfg.name = "cfg"
            var cmSource = Weft_Kubelet_V1_ConfigMapVolumeSource()
            cmSource.name = "cm"
            cfg.configMap = cmSource
            s.pod.spec.volumes = [scratch, cfg]
            var dataMount = Weft_Kubelet_V1_VolumeMount()
            dataMount.name = "scratch"
            dataMount.mountPath = "/data"
            var cfgMount = Weft_Kubelet_V1_VolumeMount()
            cfgMount.name = "cfg"
            cfgMount.mountPath = "/cfg"
            s.pod.spec.initContainers[0].volumeMounts = [dataMount]
            s.pod.spec.containers[0].volumeMounts = [dataMount, cfgMount]
            var env = Weft_Kubelet_V1_EnvVar()
            env.name = "PW"
            var key = Weft_Kubelet_V1_SecretKeySelector()
            key.name = "sec"
            key.key = "pw"
            var from = Weft_Kubelet_V1_EnvVarSource()
            from.secretKeyRef = key
            env.valueFrom = from
            s.pod.spec.containers[0].env = [env]
        }
        let report = try await box.finish(pod)
        #expect(report.status.phase == .succeeded)
        #expect(terminated(report.status.initContainerStatuses[0])?.reason == "Completed")
        #expect(terminated(report.status.containerStatuses[0])?.exitCode == 0)
        let log = try await box.logs(pod, "c0")
        // stdout keeps its order; stderr lines land among them as they are read.
        let lines = log.split(separator: "\n").map(String.init)
        #expect(Array(lines.filter { $0 != "err" }.prefix(3)) == ["from-init", "hello", "secret=hunter2"], "\(log)")
        #expect(lines.contains("err"))
        // Own PID namespace: only bwrap's init, the usage-measuring wrapper shell, the container's shell
        // and its children (the command substitution, ls, grep) are visible.
        let visible = log.split(separator: "\n").first { $0.hasPrefix("ns=") }.flatMap { Int($0.dropFirst(3)) } ?? 99
        #expect(visible <= 6, "\(log)")
        let tail = try await box.logs(pod, "c0") { $0.tailLines = 1 }
        #expect(tail.split(separator: "\n").count == 1)
        let limited = try await box.logs(pod, "c0") { $0.limitBytes = 4 }
        #expect(limited == String(log.prefix(4)), "the first four bytes of the log, whichever stream wrote them")
    }

    @Test func readOnlyRootAndWritableWorkDirectory() async throws {
        let box = try await Sandbox()
        let pod = try await box.create("ro", ["touch /etc/weft-should-fail 2>/dev/null && echo root-writable || echo root-read-only; echo ok > here.txt && cat here.txt; pwd"])
        _ = try await box.finish(pod)
        let log = try await box.logs(pod, "c0")
        #expect(log == "root-read-only\nok\n/work\n", "\(log)")
        #expect(!FileManager.default.fileExists(atPath: "/etc/weft-should-fail"))
    }

    /// Kubernetes mounts service-account tokens under /var/run, a symlink to /run on Debian.
    @Test func mountsUnderSymlinkedDirectoriesFollowTheLink() async throws {
        let box = try await Sandbox()
        let pod = try await box.create("linked", ["echo token > /var/run/secrets/weft/t && cat /run/secrets/weft/t"]) { s in
            var v = Weft_Kubelet_V1_Volume()
            v.name = "sa"
            v.emptyDir = .init()
            s.pod.spec.volumes = [v]
            var m = Weft_Kubelet_V1_VolumeMount()
            m.name = "sa"
            m.mountPath = "/var/run/secrets/weft"
            s.pod.spec.containers[0].volumeMounts = [m]
        }
        let r = try await box.finish(pod)
        #expect(r.status.phase == .succeeded)
        #expect(try await box.logs(pod, "c0") == "token\n")
    }

    @Test func exitCodesFailThePodAndInitFailureStopsIt() async throws {
        let box = try await Sandbox()
        let failing = try await box.create("fails", ["exit 3"])
        let r = try await box.finish(failing)
        #expect(r.status.phase == .failed)
        #expect(terminated(r.status.containerStatuses[0]).map { ($0.exitCode, $0.reason) } ?? (0, "") == (3, "Error"))
        let initFails = try await box.create("init-fails", init: ["exit 7"], ["echo never"])
        let r2 = try await box.finish(initFails)
        #expect(r2.status.phase == .failed && terminated(r2.status.initContainerStatuses[0])?.exitCode == 7)
        if case .waiting? = r2.status.containerStatuses[0].state.state {} else { Issue.record("the main container ran after a failed init container") }
        let missingImage = try await box.create("no-image", ["true"]) { $0.pod.spec.containers[0].image = "not-installed:1" }
        let r3 = try await box.finish(missingImage)
        #expect(r3.status.phase == .failed && r3.status.reason == "ErrImageNeverPull")
    }

    @Test func onFailureRestartsAndKeepsThePreviousLog() async throws {
        let marker = NSTemporaryDirectory() + "weft-restart-\(UUID().uuidString)"
        let script = "if [ -e \(marker) ]; then echo second-run; else touch \(marker); echo first-run; exit 1; fi"
        // The marker lives in the host's temporary directory, mounted into the sandbox.
        func mountTemp(_ s: inout Weft_Kubelet_V1_PodSubmission) {
            var tmp = Weft_Kubelet_V1_Volume()
            tmp.name = "tmp"
            var host = Weft_Kubelet_V1_HostPathVolumeSource()
            host.path = NSTemporaryDirectory()
            tmp.hostPath = host
            s.pod.spec.volumes = [tmp]
            var m = Weft_Kubelet_V1_VolumeMount()
            m.name = "tmp"
            m.mountPath = NSTemporaryDirectory()
            s.pod.spec.containers[0].volumeMounts = [m]
        }
        // hostPath is refused by default: the pod fails with a config error instead of running.
        let strict = try await Sandbox()
        let refused = try await strict.finish(try await strict.create("restarts", [script], policy: .onFailure, mutate: mountTemp))
        #expect(refused.status.phase == .failed && refused.status.reason == "CreateContainerConfigError")

        let box = try await Sandbox(allowHostPath: true)
        let pod = try await box.create("restarts", [script], policy: .onFailure, mutate: mountTemp)
        let r = try await box.finish(pod)
        #expect(r.status.phase == .succeeded && r.status.containerStatuses[0].restartCount == 1)
        #expect(try await box.logs(pod, "c0") == "second-run\n")
        #expect(try await box.logs(pod, "c0") { $0.previous = true } == "first-run\n")
    }

    @Test func deleteStopsRunningPodsAndWatchersSeeEveryStep() async throws {
        let box = try await Sandbox()
        var watchRequest = Weft_Sidecar_V1_WatchPodStatusesRequest()
        watchRequest.pods = []
        let events = Task {
            try await box.client.watchPodStatuses(watchRequest, options: CallOptions(timeout: .seconds(30))) { stream in
                var seen: [(Weft_Common_V1_ChangeType, Weft_Kubelet_V1_PodPhase)] = []
                for try await m in stream {
                    seen.append((m.changeType, m.report.status.phase))
                    if m.changeType == .deleted { return seen }
                }
                return seen
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let pod = try await box.create("sleeper", ["trap 'echo got-term; exit 0' TERM; echo started; while true; do sleep 0.05; done"])
        // Wait for it to run, then delete it.
        for _ in 0..<100 {
            var q = Weft_Sidecar_V1_BatchGetPodStatusesRequest()
            q.pods = [pod]
            if try await box.client.batchGetPodStatuses(q).statuses.first?.status.phase == .running { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(200))
        var delete = Weft_Sidecar_V1_DeletePodRequest()
        delete.pod = pod
        let clock = ContinuousClock()
        let start = clock.now
        let deleted = try await box.client.deletePod(delete)
        #expect(clock.now - start < .seconds(2), "SIGTERM was handled: no wait for the grace period")
        #expect(deleted.found && terminated(deleted.finalStatus.containerStatuses[0]) != nil)
        let seen = try await events.value
        #expect(seen.first?.0 == .synced)
        #expect(seen.contains { $0.0 == .modified && $0.1 == .running })
        #expect(seen.last?.0 == .deleted)
        var q = Weft_Sidecar_V1_BatchGetPodStatusesRequest()
        q.pods = [pod]
        #expect(try await box.client.batchGetPodStatuses(q).notFound.count == 1)
        #expect(try await box.client.deletePod(delete).found == false)
    }

    @Test func aRestartedSidecarRemembersPods() async throws {
        let box = try await Sandbox()
        let done = try await box.create("done", ["echo finished"])
        _ = try await box.finish(done)
        let again = try await Sandbox(state: box.state)
        var q = Weft_Sidecar_V1_BatchGetPodStatusesRequest()
        q.pods = [done]
        let status = try await again.client.batchGetPodStatuses(q).statuses.first?.status
        #expect(status?.phase == .succeeded)
        #expect(try await again.logs(done, "c0") == "finished\n")
        var create = Weft_Sidecar_V1_CreatePodRequest()
        create.submission.pod.metadata.name = "done"
        create.submission.pod.metadata.namespace = done.namespace
        create.submission.pod.metadata.uid = done.uid
        var c = Weft_Kubelet_V1_Container()
        c.name = "c0"
        create.submission.pod.spec.containers = [c]
        #expect(try await again.client.createPod(create).created == false, "create is idempotent on the UID across restarts")
    }

    @Test func systemInfoDescribesTheHost() async throws {
        let box = try await Sandbox()
        let info = try await box.client.getSystemInfo(Weft_Sidecar_V1_GetSystemInfoRequest())
        #expect(info.backendKind == "sandbox" && info.capacity.cpuMillis >= 1000 && info.capacity.memoryBytes > 0)
        #expect(info.features.watchPodStatuses && info.features.followLogs)
        #expect(try await box.client.ping(Weft_Sidecar_V1_PingRequest()).backendReachable)
    }
}
