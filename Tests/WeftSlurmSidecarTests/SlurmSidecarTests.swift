import Foundation
import Gen
import Testing
import WeftPodKit
import WeftRPC
@testable import WeftSlurmSidecar

/// The sidecar against a fake Slurm: submission, polling, restart, delete, without a cluster.
@Suite("Slurm sidecar with a fake Slurm")
struct SidecarTests {
    /// A sidecar without background polling; tests call `poll()` themselves.
    func make(_ fake: FakeSlurm, stateDirectory: String? = nil) async throws -> (SlurmSidecar, Weft_Sidecar_V1_SidecarService.Client, String) {
        let dir = try stateDirectory ?? Fixture.temporaryDirectory("fake")
        let config = SlurmConfiguration(stateDirectory: dir, runtime: .none, pollInterval: .zero, defaultGracePeriod: .milliseconds(300))
        let sidecar = try await SlurmSidecar(configuration: config, commands: fake)
        return (sidecar, Fixture.client(sidecar), dir)
    }

    func pod(_ uid: String = UUID().uuidString.lowercased()) -> Weft_Kubelet_V1_PodSubmission {
        Fixture.submission(uid: uid, containers: [Fixture.container("main", ["echo", "hi"])])
    }

    func status(_ client: Weft_Sidecar_V1_SidecarService.Client, _ s: Weft_Kubelet_V1_PodSubmission) async throws -> Weft_Kubelet_V1_PodStatusReport {
        var r = Weft_Sidecar_V1_BatchGetPodStatusesRequest()
        r.pods = [Fixture.ref(s)]
        return try #require(try await client.batchGetPodStatuses(r).statuses.first)
    }

    func touch(_ path: String, _ text: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    }

    @Test func refusedSubmissionFailsThePodAtOnce() async throws {
        let fake = FakeSlurm()
        fake.state.withLock { $0.submitOutcome = .rejected(message: "sbatch: error: Memory specification can not be satisfied") }
        let (sidecar, client, dir) = try await make(fake)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = pod()
        let r = try await client.createPod(Fixture.createRequest(s))
        #expect(r.created)
        #expect(r.remoteJobId == "")
        #expect(r.status.phase == .failed)
        #expect(r.status.reason == "SubmissionFailed")
        #expect(r.status.message == "sbatch: error: Memory specification can not be satisfied")
        #expect(try await status(client, s).status.reason == "SubmissionFailed")
        await sidecar.shutdown()
    }

    @Test func configErrorFailsThePodWithoutSubmitting() async throws {
        let fake = FakeSlurm()
        let (sidecar, client, dir) = try await make(fake)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = Fixture.submission(containers: [Fixture.container("main", ["true"], env: [Fixture.env("X", configMap: "missing", key: "k")])])
        let r = try await client.createPod(Fixture.createRequest(s))
        #expect(r.status.phase == .failed)
        #expect(r.status.reason == "CreateContainerConfigError")
        #expect(r.status.message.contains("missing"))
        #expect(fake.state.withLock { $0.scripts.isEmpty })
        await sidecar.shutdown()
    }

    @Test func invalidPodIsRejected() async throws {
        let (sidecar, client, dir) = try await make(FakeSlurm())
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var s = pod()
        s.pod.spec.containers[0].name = "../etc"
        await #expect { try await client.createPod(Fixture.createRequest(s)) } throws: { ($0 as? RPCError)?.code == .invalidArgument }
        await sidecar.shutdown()
    }

    @Test func createIsIdempotentAndPollingFollowsTheJob() async throws {
        let fake = FakeSlurm()
        let (sidecar, client, dir) = try await make(fake)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = pod()
        let first = try await client.createPod(Fixture.createRequest(s))
        #expect(first.created)
        #expect(first.status.phase == .pending)
        let id = first.remoteJobId
        #expect(!id.isEmpty)
        let again = try await client.createPod(Fixture.createRequest(s))
        #expect(!again.created)
        #expect(again.remoteJobId == id)
        #expect(fake.state.withLock { $0.scripts.count } == 1)

        let podDir = "\(dir)/pods/default-\(s.pod.metadata.uid)"
        let script = try String(contentsOfFile: podDir + "/job.sh", encoding: .utf8)
        #expect(script.contains("#SBATCH --job-name=\(s.pod.metadata.uid)"))
        #expect(try String(contentsOfFile: podDir + "/_jobid", encoding: .utf8) == id + "\n")

        await sidecar.poll()
        var st = try await status(client, s).status
        #expect(st.phase == .pending)
        if case .waiting(let w)? = st.containerStatuses[0].state.state { #expect(w.reason == "Queued" && w.message == "Priority") } else { Issue.record("not waiting") }

        touch(podDir + "/_started", "1700000000000000000\n")
        touch(podDir + "/main.started", "1700000000100000000\n")
        fake.set(id, .running)
        await sidecar.poll()
        st = try await status(client, s).status
        #expect(st.phase == .running)

        touch(podDir + "/main.status", "0\n")
        fake.set(id, .completed, exitCode: 0)
        await sidecar.poll()
        st = try await status(client, s).status
        #expect(st.phase == .succeeded)

        // A finished pod is no longer polled.
        let calls = fake.state.withLock { $0.squeueCalls }
        await sidecar.poll()
        #expect(fake.state.withLock { $0.squeueCalls } == calls)
        await sidecar.shutdown()
    }

    @Test func aRestartedSidecarTracksTheSameJob() async throws {
        let fake = FakeSlurm()
        let (first, client1, dir) = try await make(fake)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = pod()
        let id = try await client1.createPod(Fixture.createRequest(s)).remoteJobId
        await first.shutdown()

        let (second, client2, _) = try await make(fake, stateDirectory: dir)
        let again = try await client2.createPod(Fixture.createRequest(s))
        #expect(!again.created)
        #expect(again.remoteJobId == id)
        let podDir = "\(dir)/pods/default-\(s.pod.metadata.uid)"
        touch(podDir + "/main.started", "1700000000100000000\n")
        touch(podDir + "/main.status", "3\n")
        fake.set(id, .failed, exitCode: 3)
        // Slurm forgot the job meanwhile (MinJobAge): the files decide.
        fake.state.withLock { _ = $0.forgotten.insert(id) }
        await second.poll()
        let st = try await status(client2, s).status
        #expect(st.phase == .failed)
        if case .terminated(let t)? = st.containerStatuses[0].state.state {
            #expect(t.exitCode == 3)
            #expect(t.reason == "Error")
        } else { Issue.record("not terminated") }
        await second.shutdown()
    }

    /// Records left by a sidecar that stopped while sbatch ran: the job is found by its name (the
    /// pod UID), or the pod fails.
    @Test func aRestartFindsJobsSubmittedJustBeforeIt() async throws {
        let fake = FakeSlurm()
        let dir = try Fixture.temporaryDirectory("adopt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let submitted = pod(), lost = pod()
        do {
            let store = try PodRecordStore(path: dir + "/slurm.sqlite")
            for s in [submitted, lost] {
                _ = try await store.insert(PodRecord(uid: s.pod.metadata.uid, node: "", namespace: "default", name: s.pod.metadata.name,
                                                     submission: s, status: SlurmStatusMapper.queued(pod: s.pod, jobID: ""), state: "submitting"))
            }
        }
        fake.state.withLock { $0.names["default-\(submitted.pod.metadata.uid)"] = "555" }
        fake.set("555", .running)
        let (sidecar, client, _) = try await make(fake, stateDirectory: dir)
        await sidecar.poll()   // adopts
        await sidecar.poll()   // polls the adopted job
        let a = try await status(client, submitted)
        #expect(a.remoteJobId == "555")
        #expect(a.status.phase == .pending)   // running, but no container has started yet
        if case .waiting(let w)? = a.status.containerStatuses[0].state.state { #expect(w.reason == "ContainerCreating") } else { Issue.record("not waiting") }
        let b = try await status(client, lost)
        #expect(b.status.phase == .failed)
        #expect(b.status.reason == "SubmissionFailed")
        await sidecar.shutdown()
    }

    @Test func unreachableSlurmKeepsStatusesAndPingSaysSo() async throws {
        let fake = FakeSlurm()
        let (sidecar, client, dir) = try await make(fake)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try await client.ping(.init()).backendReachable)
        let s = pod()
        _ = try await client.createPod(Fixture.createRequest(s))
        fake.state.withLock { $0.down = true }
        await sidecar.poll()
        #expect(try await status(client, s).status.phase == .pending)
        let ping = try await client.ping(.init())
        #expect(!ping.backendReachable)
        #expect(ping.statusMessage.contains("Unable to contact"))
        // sbatch that cannot run is UNAVAILABLE (the caller retries), and leaves nothing behind.
        let other = pod()
        await #expect { try await client.createPod(Fixture.createRequest(other)) } throws: { ($0 as? RPCError)?.code == .unavailable }
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/pods/default-\(other.pod.metadata.uid)"))
        await sidecar.shutdown()
    }

    @Test func systemInfo() async throws {
        let (sidecar, client, dir) = try await make(FakeSlurm())
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let info = try await client.getSystemInfo(.init())
        #expect(info.sidecarName == "weft-slurm")
        #expect(info.backendKind == "slurm")
        #expect(info.backendVersion == "slurm 22.05.8")
        #expect(info.capacity.cpuMillis == 12_000)
        #expect(info.capacity.memoryBytes == 24_000 << 20)
        #expect(info.capacity.accelerators["nvidia.com/gpu"] == 2)
        #expect(info.accelerators.first?.model == "a100")
        #expect(info.features.watchPodStatuses && info.features.followLogs && !info.features.previousLogs)
        #expect(info.features.volumeKinds.contains("emptyDir"))
        await sidecar.shutdown()
    }

    @Test func deleteCancelsPublishesDeletedAndForgets() async throws {
        let fake = FakeSlurm()
        let (sidecar, client, dir) = try await make(fake)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var unknown = Weft_Sidecar_V1_DeletePodRequest()
        unknown.pod = Fixture.ref(pod())
        #expect(try await !client.deletePod(unknown).found)

        let s = pod()
        let events = Locked<[Weft_Sidecar_V1_WatchPodStatusesResponse]>([])
        let watcher = Task {
            try await client.watchPodStatuses(.init()) { stream in
                for try await m in stream {
                    events.withLock { $0.append(m) }
                    if m.changeType == .deleted { return }
                }
            }
        }
        while !events.get.contains(where: { $0.changeType == .synced }) { try await Task.sleep(for: .milliseconds(10)) }
        let id = try await client.createPod(Fixture.createRequest(s)).remoteJobId
        let podDir = "\(dir)/pods/default-\(s.pod.metadata.uid)"
        touch(podDir + "/main.started", "1700000000100000000\n")
        fake.set(id, .running)
        await sidecar.poll()
        var request = Weft_Sidecar_V1_DeletePodRequest()
        request.pod = Fixture.ref(s)
        request.gracePeriod = .init(seconds: 0.3)
        let deleted = try await client.deletePod(request)
        #expect(deleted.found)
        #expect(deleted.finalStatus.phase == .failed)
        if case .terminated(let t)? = deleted.finalStatus.containerStatuses[0].state.state { #expect(t.reason == "Killed") } else { Issue.record("not terminated") }
        #expect(fake.state.withLock { $0.cancels.map(\.1) } == ["TERM"])
        #expect(!FileManager.default.fileExists(atPath: podDir))
        try await watcher.value
        #expect(events.get.map(\.changeType) == [.synced, .added, .modified, .deleted])
        var batch = Weft_Sidecar_V1_BatchGetPodStatusesRequest()
        batch.pods = [Fixture.ref(s)]
        #expect(try await client.batchGetPodStatuses(batch).notFound.count == 1)
        await sidecar.shutdown()
    }

    @Test func logsOfUnknownContainersAndPreviousRuns() async throws {
        let (sidecar, client, dir) = try await make(FakeSlurm())
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = pod()
        _ = try await client.createPod(Fixture.createRequest(s))
        var r = Weft_Sidecar_V1_GetContainerLogsRequest()
        r.pod = Fixture.ref(s)
        r.containerName = "nope"
        await #expect { try await client.getContainerLogs(r) { stream in for try await _ in stream {} } } throws: { ($0 as? RPCError)?.code == .invalidArgument }
        r.containerName = "main"
        r.options.previous = true
        await #expect { try await client.getContainerLogs(r) { stream in for try await _ in stream {} } } throws: {
            ($0 as? RPCError)?.code == .notFound && ($0 as? RPCError)?.message.contains("previous logs are not supported") == true
        }
        await sidecar.shutdown()
    }
}
