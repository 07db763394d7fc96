import Foundation
import Gen
import Testing
import WeftPodKit
import WeftRPC
@testable import WeftSlurmSidecar

/// Whether a Slurm client is installed; the integration tests need a running cluster
/// (`scripts/slurm-up.sh` starts a single-node one).
let slurmInstalled = SlurmConfiguration.which("sbatch") != nil

/// The sidecar against the real Slurm on this machine. Pods run with runtime `none` (the image is
/// ignored), each asking for 1 CPU and 64 MiB so that jobs start at once on a small node.
@Suite("Slurm sidecar against a real Slurm", .serialized,
       .enabled(if: slurmInstalled, "sbatch is not on PATH: install and start Slurm (scripts/slurm-up.sh) to run these tests"))
struct SlurmIntegrationTests {
    static let memory: Int64 = 64 << 20

    func make(stateDirectory: String? = nil) async throws -> (SlurmSidecar, Weft_Sidecar_V1_SidecarService.Client, String) {
        let dir = try stateDirectory ?? Fixture.temporaryDirectory("slurm")
        let config = SlurmConfiguration(stateDirectory: dir, runtime: .none, pollInterval: .milliseconds(250))
        let sidecar = try await SlurmSidecar(configuration: config)
        return (sidecar, Fixture.client(sidecar), dir)
    }

    func container(_ name: String, _ script: String, env: [Weft_Kubelet_V1_EnvVar] = [], mounts: [(volume: String, path: String)] = []) -> Weft_Kubelet_V1_Container {
        Fixture.container(name, ["/bin/sh", "-c", script], image: "ignored:latest", env: env, mounts: mounts, memoryBytes: Self.memory)
    }

    /// Polls BatchGetPodStatuses until `condition` holds (at most `seconds`).
    func waitFor(_ client: Weft_Sidecar_V1_SidecarService.Client, _ s: Weft_Kubelet_V1_PodSubmission, seconds: Double = 30,
                 _ condition: (Weft_Kubelet_V1_PodStatus) -> Bool) async throws -> Weft_Kubelet_V1_PodStatusReport {
        var request = Weft_Sidecar_V1_BatchGetPodStatusesRequest()
        request.pods = [Fixture.ref(s)]
        let deadline = ContinuousClock.now + .seconds(seconds)
        while true {
            let report = try #require(try await client.batchGetPodStatuses(request).statuses.first)
            if condition(report.status) { return report }
            if ContinuousClock.now > deadline {
                Issue.record("timed out; last status: phase \(report.status.phase) \(report.status.reason) \(report.status.message) \(report.status.containerStatuses.map(\.state))")
                return report
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func ended(_ s: Weft_Kubelet_V1_PodStatus) -> Bool { s.phase == .succeeded || s.phase == .failed }

    func logs(_ client: Weft_Sidecar_V1_SidecarService.Client, _ s: Weft_Kubelet_V1_PodSubmission, _ container: String,
              follow: Bool = false, timestamps: Bool = false) async throws -> String {
        var r = Weft_Sidecar_V1_GetContainerLogsRequest()
        r.pod = Fixture.ref(s)
        r.containerName = container
        r.options.follow = follow
        r.options.timestamps = timestamps
        return try await client.getContainerLogs(r) { stream in
            var data = Data()
            for try await m in stream { data += m.chunk.data }
            return String(decoding: data, as: UTF8.self)
        }
    }

    func terminated(_ s: Weft_Kubelet_V1_ContainerStatus) -> Weft_Kubelet_V1_ContainerStateTerminated? {
        if case .terminated(let t)? = s.state.state { return t }
        return nil
    }

    func delete(_ client: Weft_Sidecar_V1_SidecarService.Client, _ s: Weft_Kubelet_V1_PodSubmission, grace: Double = 2) async throws -> Weft_Sidecar_V1_DeletePodResponse {
        var r = Weft_Sidecar_V1_DeletePodRequest()
        r.pod = Fixture.ref(s)
        r.gracePeriod = .init(seconds: grace)
        return try await client.deletePod(r)
    }

    @Test func slurmAnswers() async throws {
        let (sidecar, client, dir) = try await make()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ping = try await client.ping(.init())
        #expect(ping.backendReachable, "\(ping.statusMessage)")
        let info = try await client.getSystemInfo(.init())
        #expect(info.backendVersion.hasPrefix("slurm "))
        #expect(info.capacity.cpuMillis >= 1000)
        #expect(info.capacity.memoryBytes > 0)
        await sidecar.shutdown()
    }

    /// Init container → emptyDir → main container with ConfigMap and Secret env; the watch sees
    /// ADDED (queued), the containers start, and the pod succeeds.
    @Test func podWithInitContainerSucceedsAndTheWatchSeesIt() async throws {
        let (sidecar, client, dir) = try await make()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let secretValue = "s3cr3t-'quoted'-value"
        let s = Fixture.submission(
            name: "with-init",
            initContainers: [container("prepare", "echo prepared > \"$WEFT_VOLUME_SHARED/marker\"; echo init-done", mounts: [(volume: "shared", path: "/shared")])],
            containers: [container("main", "cat \"$WEFT_VOLUME_SHARED/marker\"; echo \"$GREETING $TOKEN\"; sleep 1; echo to-stderr >&2",
                                   env: [Fixture.env("GREETING", configMap: "cfg", key: "greeting"), Fixture.env("TOKEN", secret: "creds", key: "token")],
                                   mounts: [(volume: "shared", path: "/shared")])],
            volumes: [Fixture.emptyDir("shared")],
            configMaps: [Fixture.configMap("cfg", ["greeting": "hello"])],
            secrets: [Fixture.secret("creds", ["token": secretValue])])
        let events = Locked<[Weft_Sidecar_V1_WatchPodStatusesResponse]>([])
        let watcher = Task {
            var request = Weft_Sidecar_V1_WatchPodStatusesRequest()
            request.pods = [Fixture.ref(s)]
            try await client.watchPodStatuses(request) { stream in
                for try await m in stream {
                    events.withLock { $0.append(m) }
                    if m.changeType == .modified, ended(m.report.status) { return }
                }
            }
        }
        while !events.get.contains(where: { $0.changeType == .synced }) { try await Task.sleep(for: .milliseconds(10)) }

        let created = try await client.createPod(Fixture.createRequest(s))
        #expect(created.created)
        #expect(!created.remoteJobId.isEmpty)
        #expect(created.status.phase == .pending)
        let podDir = "\(dir)/pods/default-\(s.pod.metadata.uid)"
        let script = try String(contentsOfFile: podDir + "/job.sh", encoding: .utf8)
        #expect(!script.contains(secretValue))
        #expect(script.contains("#SBATCH --mem=64"))

        let report = try await waitFor(client, s, ended)
        #expect(report.status.phase == .succeeded, "\(report.status.reason): \(report.status.message)")
        #expect(report.remoteJobId == created.remoteJobId)
        #expect(terminated(report.status.initContainerStatuses[0])?.exitCode == 0)
        let main = try #require(terminated(report.status.containerStatuses[0]))
        #expect(main.exitCode == 0)
        #expect(main.reason == "Completed")
        #expect(main.startedAt.unixNanos > 0 && main.finishedAt.unixNanos >= main.startedAt.unixNanos)

        #expect(try await logs(client, s, "prepare") == "init-done\n")
        #expect(try await logs(client, s, "main") == "prepared\nhello \(secretValue)\nto-stderr\n")
        let stamped = try await logs(client, s, "main", timestamps: true)
        #expect(stamped.split(separator: "\n").allSatisfy { RFC3339.parse($0.split(separator: " ")[0]) != nil })

        _ = try await withTimeout(seconds: 10) { try await watcher.value }
        let seen = events.get
        #expect(seen.first?.changeType == .synced)
        #expect(seen.dropFirst().first?.changeType == .added)
        #expect(seen.dropFirst().first?.report.status.phase == .pending)
        // The main container runs for a second: the watch sees the pod running before it ends.
        #expect(seen.contains { $0.changeType == .modified && $0.report.status.phase == .running },
                "\(seen.map { "\($0.changeType) \($0.report.status.phase)" })")
        #expect(seen.last?.report.status.phase == .succeeded)

        let deleted = try await delete(client, s)
        #expect(deleted.found)
        #expect(deleted.finalStatus.phase == .succeeded)
        #expect(!FileManager.default.fileExists(atPath: podDir))
        await sidecar.shutdown()
    }

    @Test func exitCodeThreeFailsThePod() async throws {
        let (sidecar, client, dir) = try await make()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = Fixture.submission(name: "exit-three", containers: [container("main", "echo failing; exit 3")])
        _ = try await client.createPod(Fixture.createRequest(s))
        let report = try await waitFor(client, s, ended)
        #expect(report.status.phase == .failed)
        let t = try #require(terminated(report.status.containerStatuses[0]))
        #expect(t.exitCode == 3)
        #expect(t.reason == "Error")
        #expect(try await logs(client, s, "main") == "failing\n")
        _ = try await delete(client, s)
        await sidecar.shutdown()
    }

    @Test func impossibleMemoryRequestIsRefusedBySbatch() async throws {
        let (sidecar, client, dir) = try await make()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = Fixture.submission(name: "too-big", containers: [Fixture.container("main", ["true"], memoryBytes: 100_000 << 30)])
        let r = try await client.createPod(Fixture.createRequest(s))
        #expect(r.status.phase == .failed)
        #expect(r.status.reason == "SubmissionFailed")
        #expect(r.status.message.hasPrefix("sbatch: error:"), "\(r.status.message)")
        #expect(r.status.message.contains("Memory specification can not be satisfied") || r.status.message.contains("node configuration is not available"))
        #expect(r.remoteJobId.isEmpty)
        _ = try await delete(client, s)
        await sidecar.shutdown()
    }

    @Test func deleteCancelsTheJob() async throws {
        let (sidecar, client, dir) = try await make()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = Fixture.submission(name: "sleeper", containers: [container("main", "echo sleeping; exec sleep 300")])
        let id = try await client.createPod(Fixture.createRequest(s)).remoteJobId
        let running = try await waitFor(client, s) { $0.phase == .running }
        #expect(running.status.phase == .running)
        let started = ContinuousClock.now
        let deleted = try await delete(client, s, grace: 5)
        #expect(ContinuousClock.now - started < .seconds(8))
        #expect(deleted.found)
        #expect(deleted.finalStatus.phase == .failed)
        let t = try #require(terminated(deleted.finalStatus.containerStatuses[0]))
        #expect(t.reason == "Killed")
        #expect(t.exitCode == 143)   // the container got SIGTERM and the script recorded its exit
        // The pod is gone, and its logs with it.
        await #expect { try await logs(client, s, "main") } throws: { ($0 as? RPCError)?.code == .notFound }
        let queue = try await SlurmCLI(paths: SlurmCommandPaths()).squeue(ids: [id])
        #expect(queue[id].map { $0.state.isTerminal } ?? true, "job \(id) is still \(queue[id]?.state.description ?? "")")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/pods/default-\(s.pod.metadata.uid)"))
        #expect(try await !delete(client, s).found)
        await sidecar.shutdown()
    }

    /// A new sidecar on the same state directory keeps following a job the old one submitted, and
    /// follows its log to the end.
    @Test func aRestartedSidecarTracksARunningJobToCompletion() async throws {
        let (first, client1, dir) = try await make()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = Fixture.submission(name: "survivor", containers: [container("main", "echo one; sleep 2; echo two")])
        let id = try await client1.createPod(Fixture.createRequest(s)).remoteJobId
        _ = try await waitFor(client1, s) { $0.phase == .running }
        await first.shutdown()

        let (second, client2, _) = try await make(stateDirectory: dir)
        let again = try await client2.createPod(Fixture.createRequest(s))
        #expect(!again.created)
        #expect(again.remoteJobId == id)
        let followed = try await withTimeout(seconds: 20) { try await logs(client2, s, "main", follow: true) }
        #expect(followed == "one\ntwo\n")
        let report = try await waitFor(client2, s, ended)
        #expect(report.status.phase == .succeeded)
        #expect(terminated(report.status.containerStatuses[0])?.exitCode == 0)
        _ = try await delete(client2, s)
        await second.shutdown()
    }
}

struct TimedOut: Error {}

/// Runs `body`, failing with ``TimedOut`` after `seconds`.
func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TimedOut()
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw TimedOut() }
        return first
    }
}
