import Foundation
import Gen
import Synchronization
import WeftPodKit
import WeftRPC
@testable import WeftSlurmSidecar

/// Builders for pods in tests.
enum Fixture {
    static func container(_ name: String, _ command: [String], args: [String] = [], image: String = "busybox:1.36",
                          env: [Weft_Kubelet_V1_EnvVar] = [], mounts: [(volume: String, path: String)] = [],
                          cpuMillis: Int64? = nil, memoryBytes: Int64? = nil, limits: Bool = true) -> Weft_Kubelet_V1_Container {
        var c = Weft_Kubelet_V1_Container()
        c.name = name
        c.image = image
        c.command = command
        c.args = args
        c.env = env
        for m in mounts {
            var vm = Weft_Kubelet_V1_VolumeMount()
            vm.name = m.volume
            vm.mountPath = m.path
            c.volumeMounts.append(vm)
        }
        if let cpuMillis { if limits { c.resources.limits.cpuMillis = cpuMillis } else { c.resources.requests.cpuMillis = cpuMillis } }
        if let memoryBytes { if limits { c.resources.limits.memoryBytes = memoryBytes } else { c.resources.requests.memoryBytes = memoryBytes } }
        return c
    }

    static func env(_ name: String, _ value: String) -> Weft_Kubelet_V1_EnvVar {
        var e = Weft_Kubelet_V1_EnvVar()
        e.name = name
        e.value = value
        return e
    }

    static func env(_ name: String, secret: String, key: String) -> Weft_Kubelet_V1_EnvVar {
        var e = Weft_Kubelet_V1_EnvVar()
        e.name = name
        var from = Weft_Kubelet_V1_EnvVarSource()
        var ref = Weft_Kubelet_V1_SecretKeySelector()
        ref.name = secret
        ref.key = key
        from.secretKeyRef = ref
        e.valueFrom = from
        return e
    }

    static func env(_ name: String, configMap: String, key: String) -> Weft_Kubelet_V1_EnvVar {
        var e = Weft_Kubelet_V1_EnvVar()
        e.name = name
        var from = Weft_Kubelet_V1_EnvVarSource()
        var ref = Weft_Kubelet_V1_ConfigMapKeySelector()
        ref.name = configMap
        ref.key = key
        from.configMapKeyRef = ref
        e.valueFrom = from
        return e
    }

    static func emptyDir(_ name: String) -> Weft_Kubelet_V1_Volume {
        var v = Weft_Kubelet_V1_Volume()
        v.name = name
        v.emptyDir = Weft_Kubelet_V1_EmptyDirVolumeSource()
        return v
    }

    static func configMapVolume(_ name: String, configMap: String) -> Weft_Kubelet_V1_Volume {
        var v = Weft_Kubelet_V1_Volume()
        v.name = name
        var s = Weft_Kubelet_V1_ConfigMapVolumeSource()
        s.name = configMap
        v.configMap = s
        return v
    }

    static func configMap(_ name: String, _ data: [String: String]) -> Weft_Kubelet_V1_ConfigMap {
        var cm = Weft_Kubelet_V1_ConfigMap()
        cm.metadata.name = name
        cm.data = data
        return cm
    }

    static func secret(_ name: String, _ data: [String: String]) -> Weft_Kubelet_V1_Secret {
        var s = Weft_Kubelet_V1_Secret()
        s.metadata.name = name
        s.data = data.mapValues { Data($0.utf8) }
        return s
    }

    static func submission(name: String = "demo", namespace: String = "default", uid: String = UUID().uuidString.lowercased(),
                           initContainers: [Weft_Kubelet_V1_Container] = [], containers: [Weft_Kubelet_V1_Container],
                           volumes: [Weft_Kubelet_V1_Volume] = [], annotations: [String: String] = [:],
                           configMaps: [Weft_Kubelet_V1_ConfigMap] = [], secrets: [Weft_Kubelet_V1_Secret] = []) -> Weft_Kubelet_V1_PodSubmission {
        var s = Weft_Kubelet_V1_PodSubmission()
        s.pod.metadata.name = name
        s.pod.metadata.namespace = namespace
        s.pod.metadata.uid = uid
        s.pod.metadata.annotations = annotations
        s.pod.spec.initContainers = initContainers
        s.pod.spec.containers = containers
        s.pod.spec.volumes = volumes
        s.pod.spec.restartPolicy = .never
        s.configMaps = configMaps
        s.secrets = secrets
        return s
    }

    static func ref(_ s: Weft_Kubelet_V1_PodSubmission) -> Weft_Kubelet_V1_PodRef {
        var r = Weft_Kubelet_V1_PodRef()
        r.name = s.pod.metadata.name
        r.namespace = s.pod.metadata.namespace
        r.uid = s.pod.metadata.uid
        return r
    }

    static func createRequest(_ s: Weft_Kubelet_V1_PodSubmission, backendOptions: [String: String] = [:]) -> Weft_Sidecar_V1_CreatePodRequest {
        var r = Weft_Sidecar_V1_CreatePodRequest()
        r.submission = s
        r.backendOptions = backendOptions
        return r
    }

    /// A fresh directory under /tmp (shared with slurmd on the test machine).
    static func temporaryDirectory(_ label: String) throws -> String {
        let path = "/tmp/weft-slurm-test-\(label)-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func client(_ sidecar: SlurmSidecar) -> Weft_Sidecar_V1_SidecarService.Client {
        Weft_Sidecar_V1_SidecarService.Client(transport: InProcessTransport(server: RPCServer(services: [sidecar])))
    }
}

/// A lock-protected value for test closures.
final class Locked<T: Sendable>: Sendable {
    private let value: Mutex<T>
    init(_ v: T) { value = Mutex(v) }
    func withLock<R: Sendable>(_ body: (inout T) -> R) -> R { value.withLock { body(&$0) } }
    var get: T { value.withLock { $0 } }
}

/// Slurm commands answered from a script the test controls.
final class FakeSlurm: SlurmCommands {
    struct State {
        var submitOutcome: SubmitOutcome = .submitted(jobID: "100")
        var nextID = 100
        var jobs: [String: SlurmJobInfo] = [:]
        var forgotten: Set<String> = []
        var names: [String: String] = [:]   // job name -> id
        var scripts: [String] = []
        var cancels: [(String, String?)] = []
        var squeueCalls = 0
        var down = false
    }
    let state = Mutex(State())

    func sbatch(script: String, directory: String) async throws -> SubmitOutcome {
        try state.withLock { s in
            if s.down { throw SlurmUnavailableError("down") }
            s.scripts.append(script)
            if case .rejected = s.submitOutcome { return s.submitOutcome }
            s.nextID += 1
            let id = String(s.nextID)
            s.jobs[id] = SlurmJobInfo(jobID: id, state: .pending, reason: "Priority")
            let name = (directory as NSString).lastPathComponent
            s.names[name] = id
            return .submitted(jobID: id)
        }
    }

    func squeue(ids: [String]) async throws -> [String: SlurmJobInfo] {
        try state.withLock { s in
            if s.down { throw SlurmUnavailableError("down") }
            s.squeueCalls += 1
            return s.jobs.filter { ids.contains($0.key) && !s.forgotten.contains($0.key) }
        }
    }

    func squeue(name: String) async throws -> [String] {
        state.withLock { s in s.names.filter { $0.key.hasSuffix(name) }.map(\.value) }
    }

    func scancel(id: String, signal: String?) async throws {
        state.withLock { s in
            s.cancels.append((id, signal))
            if signal == nil || s.jobs[id]?.state == .running { s.jobs[id]?.state = .cancelled }
        }
    }

    func scontrol(showJob id: String) async throws -> SlurmJobInfo? {
        state.withLock { s in s.forgotten.contains(id) ? nil : s.jobs[id] }
    }

    func sinfoStates() async throws -> [String] {
        try state.withLock { s in if s.down { throw SlurmUnavailableError("slurm_load_partitions: Unable to contact slurm controller") }; return ["idle"] }
    }

    func sinfoNodes() async throws -> [SlurmNodeInfo] {
        [SlurmNodeInfo(name: "n1", cpus: 8, memoryMiB: 16000, gres: [("gpu", "a100", 2)]),
         SlurmNodeInfo(name: "n2", cpus: 4, memoryMiB: 8000, gres: [])]
    }

    func sinfoVersion() async throws -> String { "slurm-wlm 22.05.8" }

    func set(_ id: String, _ state: SlurmJobState, reason: String = "None", exitCode: Int32? = nil) {
        self.state.withLock { s in s.jobs[id] = SlurmJobInfo(jobID: id, state: state, reason: reason, exitCode: exitCode, exitSignal: exitCode == nil ? nil : 0) }
    }
}
