import Foundation
import Gen
import Testing
import WeftPodKit
@testable import WeftSlurmSidecar

@Suite("Slurm state mapping and parsing")
struct StateMappingTests {
    let pod = Fixture.submission(uid: "u1", initContainers: [Fixture.container("setup", ["true"])],
                                 containers: [Fixture.container("a", ["true"]), Fixture.container("b", ["true"])]).pod

    func status(_ state: SlurmJobState?, reason: String = "None", exit: Int32? = nil, signal: Int32? = nil,
                _ files: [String: ContainerFiles] = [:], started: Int64? = 1_000) -> Weft_Kubelet_V1_PodStatus {
        SlurmStatusMapper.status(pod: pod, jobID: "42", job: SlurmJobObservation(state: state, reason: reason, exitCode: exit, exitSignal: signal),
                                 files: PodFiles(jobStartedAt: started, containers: files))
    }

    func waiting(_ s: Weft_Kubelet_V1_ContainerStatus) -> Weft_Kubelet_V1_ContainerStateWaiting? {
        if case .waiting(let w)? = s.state.state { return w }
        return nil
    }

    func terminated(_ s: Weft_Kubelet_V1_ContainerStatus) -> Weft_Kubelet_V1_ContainerStateTerminated? {
        if case .terminated(let t)? = s.state.state { return t }
        return nil
    }

    func running(_ s: Weft_Kubelet_V1_ContainerStatus) -> Bool {
        if case .running? = s.state.state { return true }
        return false
    }

    static let done: [String: ContainerFiles] = [
        "setup": ContainerFiles(startedAt: 1_000, exitCode: 0, finishedAt: 2_000),
        "a": ContainerFiles(startedAt: 2_000, exitCode: 0, finishedAt: 3_000),
        "b": ContainerFiles(startedAt: 2_000, exitCode: 0, finishedAt: 3_000),
    ]

    @Test func parsesStates() {
        let table: [(String, SlurmJobState)] = [
            ("PENDING", .pending), ("CONFIGURING", .configuring), ("RUNNING", .running), ("COMPLETING", .completing),
            ("COMPLETED", .completed), ("FAILED", .failed), ("TIMEOUT", .timeout), ("OUT_OF_MEMORY", .outOfMemory),
            ("CANCELLED", .cancelled), ("CANCELLED+", .cancelled), ("CANCELLED by 0", .cancelled), ("NODE_FAIL", .nodeFail),
            ("PREEMPTED", .preempted), ("BOOT_FAIL", .bootFail), ("DEADLINE", .deadline), ("SUSPENDED", .suspended),
            ("REQUEUED", .other("REQUEUED")), ("cd", .completed),
        ]
        for (text, state) in table { #expect(SlurmJobState(text) == state, "\(text)") }
        #expect(SlurmJobState("REQUEUED").isQueued)
        #expect(!SlurmJobState.completing.isTerminal)
        #expect(SlurmJobState.cancelled.isTerminal)
    }

    @Test(arguments: [SlurmJobState.pending, .configuring])
    func queuedIsPendingWithTheSlurmReason(state: SlurmJobState) throws {
        let s = status(state, reason: "Resources", started: nil)
        #expect(s.phase == .pending)
        for c in s.initContainerStatuses + s.containerStatuses {
            let w = try #require(waiting(c))
            #expect(w.reason == "Queued")
            #expect(w.message == "Resources")
            #expect(c.containerId == "slurm://42/\(c.name)")
        }
        #expect(waiting(status(.pending, reason: "None").containerStatuses[0])?.message == "")
    }

    @Test func runningInitContainerKeepsThePodPending() throws {
        let s = status(.running, ["setup": ContainerFiles(startedAt: 1_500)])
        #expect(s.phase == .pending)
        #expect(running(s.initContainerStatuses[0]))
        #expect(waiting(s.containerStatuses[0])?.reason == "PodInitializing")
        #expect(s.startTime.unixNanos == 1_000)
    }

    @Test(arguments: [SlurmJobState.running, .completing])
    func runningJobRunsItsContainersUntilTheyRecordAnExit(state: SlurmJobState) throws {
        let s = status(state, ["setup": ContainerFiles(startedAt: 1_000, exitCode: 0, finishedAt: 2_000),
                               "a": ContainerFiles(startedAt: 2_000), "b": ContainerFiles(startedAt: 2_000, exitCode: 3, finishedAt: 2_500)])
        #expect(s.phase == .running)
        #expect(terminated(s.initContainerStatuses[0])?.reason == "Completed")
        #expect(running(s.containerStatuses[0]))
        let b = try #require(terminated(s.containerStatuses[1]))
        #expect(b.exitCode == 3)
        #expect(b.reason == "Error")
        #expect(b.finishedAt.unixNanos == 2_500)
    }

    @Test func completedSucceeds() throws {
        let s = status(.completed, Self.done)
        #expect(s.phase == .succeeded)
        #expect(s.containerStatuses.allSatisfy { terminated($0)?.reason == "Completed" && terminated($0)?.exitCode == 0 })
    }

    @Test func failedTakesTheExitCodesFromTheFiles() throws {
        var files = Self.done
        files["a"]?.exitCode = 3
        let s = status(.failed, exit: 3, files)
        #expect(s.phase == .failed)
        #expect(terminated(s.containerStatuses[0])?.exitCode == 3)
        #expect(terminated(s.containerStatuses[0])?.reason == "Error")
        #expect(terminated(s.containerStatuses[1])?.reason == "Completed")
    }

    @Test func missingStatusFileUsesTheJobExitCodeElseOne() throws {
        var files = Self.done
        files["a"] = ContainerFiles(startedAt: 2_000)
        let withCode = status(.failed, exit: 9, files)
        #expect(terminated(withCode.containerStatuses[0])?.exitCode == 9)
        #expect(terminated(withCode.containerStatuses[0])?.reason == "Error")
        let without = status(.failed, files)
        #expect(terminated(without.containerStatuses[0])?.exitCode == 1)
        #expect(terminated(without.containerStatuses[0])?.reason == "Error")
        #expect(without.phase == .failed)
    }

    @Test func failedInitContainerFailsThePod() throws {
        let s = status(.failed, exit: 4, ["setup": ContainerFiles(startedAt: 1_000, exitCode: 4, finishedAt: 1_500)])
        #expect(s.phase == .failed)
        #expect(s.reason == "InitContainerFailed")
        #expect(terminated(s.initContainerStatuses[0])?.exitCode == 4)
        #expect(waiting(s.containerStatuses[0])?.reason == "PodInitializing")
    }

    @Test(arguments: [
        (SlurmJobState.timeout, "DeadlineExceeded"), (.deadline, "DeadlineExceeded"), (.outOfMemory, "OOMKilled"),
        (.cancelled, "Killed"), (.nodeFail, "Error"), (.preempted, "Error"), (.bootFail, "Error"),
    ])
    func abnormalEndsGiveTheirReason(state: SlurmJobState, reason: String) throws {
        var files = Self.done
        files["a"] = ContainerFiles(startedAt: 2_000, exitCode: 143, finishedAt: 9_000)
        files["b"] = ContainerFiles(startedAt: 2_000)
        let s = status(state, exit: 0, signal: 15, files)
        #expect(s.phase == .failed)
        #expect(s.reason == reason)
        let a = try #require(terminated(s.containerStatuses[0]))
        #expect(a.reason == reason)
        #expect(a.exitCode == 143)
        #expect(a.signal == 15)
        let b = try #require(terminated(s.containerStatuses[1]))
        #expect(b.reason == reason)
        #expect(b.exitCode == 143)   // 128 + the job's signal
        if reason == "Error" { #expect(a.message.contains(state.description)) }
        // A container that had finished well stays Completed.
        #expect(terminated(s.initContainerStatuses[0])?.reason == "Completed")
    }

    @Test func cancelledWhileQueuedTerminatesEveryContainer() throws {
        let s = status(.cancelled, [:], started: nil)
        #expect(s.phase == .failed)
        #expect(s.reason == "Killed")
        #expect(s.containerStatuses.allSatisfy { terminated($0)?.reason == "Killed" })
    }

    @Test func forgottenJobsAreJudgedByTheirFiles() throws {
        #expect(status(nil, Self.done).phase == .succeeded)
        var files = Self.done
        files["b"] = ContainerFiles(startedAt: 2_000)
        let s = status(nil, files)
        #expect(s.phase == .failed)
        let b = try #require(terminated(s.containerStatuses[1]))
        #expect(b.exitCode == 1)
        #expect(b.reason == "Error")
        #expect(b.message.contains("forgotten"))
    }

    @Test func deletedRunningContainersAreKilled() throws {
        let before = status(.running, ["setup": ContainerFiles(startedAt: 1_000, exitCode: 0, finishedAt: 2_000),
                                       "a": ContainerFiles(startedAt: 2_000), "b": ContainerFiles(startedAt: 2_000, exitCode: 0, finishedAt: 2_100)])
        let files: [String: ContainerFiles] = ["setup": ContainerFiles(startedAt: 1_000, exitCode: 0, finishedAt: 2_000),
                                               "a": ContainerFiles(startedAt: 2_000, exitCode: 143, finishedAt: 5_000),
                                               "b": ContainerFiles(startedAt: 2_000, exitCode: 0, finishedAt: 2_100)]
        let after = status(.failed, exit: 143, files)
        let final = SlurmStatusMapper.deleted(pod: pod, before: before, after: after, files: PodFiles(jobStartedAt: 1_000, containers: files))
        #expect(final.phase == .failed)
        #expect(final.reason == "Killed")
        let a = try #require(terminated(final.containerStatuses[0]))
        #expect(a.reason == "Killed")
        #expect(a.exitCode == 143)
        #expect(a.startedAt.unixNanos == 2_000)
        #expect(terminated(final.containerStatuses[1])?.reason == "Completed")
        #expect(terminated(final.initContainerStatuses[0])?.reason == "Completed")
    }

    @Test func deletedQueuedPodHasEveryContainerKilled() {
        let before = status(.pending, started: nil)
        let final = SlurmStatusMapper.deleted(pod: pod, before: before, after: status(.cancelled, started: nil), files: PodFiles())
        #expect((final.initContainerStatuses + final.containerStatuses).allSatisfy { terminated($0)?.reason == "Killed" && terminated($0)?.exitCode == 137 })
    }

    @Test func submissionFailureStatus() {
        let s = SlurmStatusMapper.failed(pod: pod, reason: "SubmissionFailed", message: "sbatch: error: no")
        #expect(s.phase == .failed)
        #expect(s.reason == "SubmissionFailed")
        #expect(s.message == "sbatch: error: no")
        #expect(s.containerStatuses.allSatisfy { waiting($0)?.reason == "SubmissionFailed" })
    }

    // MARK: Parsing command output

    @Test func parsesSqueue() {
        let jobs = SlurmCLI.parseSqueue("17|RUNNING|None\n18|PENDING|Resources\n19|COMPLETING|None\n\n")
        #expect(jobs["17"] == SlurmJobInfo(jobID: "17", state: .running, reason: "None"))
        #expect(jobs["18"] == SlurmJobInfo(jobID: "18", state: .pending, reason: "Resources"))
        #expect(jobs["19"]?.state == .completing)
        #expect(jobs.count == 3)
    }

    @Test func parsesScontrol() throws {
        let line = "JobId=16 JobName=u1 UserId=root(0) GroupId=root(0) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=3:0 RunTime=00:00:00 Command=/tmp/x/job.sh"
        let info = try #require(SlurmCLI.parseScontrol(line))
        #expect(info == SlurmJobInfo(jobID: "16", state: .failed, reason: "NonZeroExitCode", exitCode: 3, exitSignal: 0))
        #expect(SlurmCLI.parseScontrol("JobId=18 JobState=CANCELLED Reason=None ExitCode=0:15")?.exitSignal == 15)
        #expect(SlurmCLI.parseScontrol("garbage") == nil)
    }

    @Test func parsesSbatchAndSinfo() {
        #expect(SlurmCLI.parseParsable("1234\n") == "1234")
        #expect(SlurmCLI.parseParsable("1234;cluster\n") == "1234")
        #expect(SlurmCLI.parseParsable("sbatch: warning: x\n") == nil)
        let nodes = SlurmCLI.parseSinfoNodes("n1|64|257000|gpu:a100:4(S:0-1)\nn1|64|257000|gpu:a100:4(S:0-1)\nn2|32|128000+|(null)\nn3|8|1000|gpu:2,mps:100\n")
        #expect(nodes.count == 3)
        #expect(nodes[0].cpus == 64 && nodes[0].memoryMiB == 257000)
        #expect(nodes[0].gres.map { "\($0.name)/\($0.type)/\($0.count)" } == ["gpu/a100/4"])
        #expect(nodes[1].gres.isEmpty && nodes[1].memoryMiB == 128000)
        #expect(nodes[2].gres.map { "\($0.name)/\($0.type)/\($0.count)" } == ["gpu//2", "mps//100"])
    }

    /// squeue fails when its only id is unknown; that is "forgotten", not "Slurm is down".
    @Test func squeueWithUnknownIdIsEmpty() async throws {
        struct Runner: CommandRunner {
            let result: CommandResult
            func run(_ executable: String, _ arguments: [String], directory: String?, timeout: Duration) async throws -> CommandResult { result }
        }
        let unknown = SlurmCLI(paths: SlurmCommandPaths(squeue: "/x/squeue"),
                               runner: Runner(result: CommandResult(status: 1, stdout: "", stderr: "slurm_load_jobs error: Invalid job id specified\n")))
        #expect(try await unknown.squeue(ids: ["99999"]).isEmpty)
        let down = SlurmCLI(paths: SlurmCommandPaths(squeue: "/x/squeue"),
                            runner: Runner(result: CommandResult(status: 1, stdout: "", stderr: "slurm_load_jobs error: Unable to contact slurm controller\n")))
        await #expect(throws: SlurmUnavailableError.self) { try await down.squeue(ids: ["1"]) }
        let refused = SlurmCLI(paths: SlurmCommandPaths(sbatch: "/x/sbatch"),
                               runner: Runner(result: CommandResult(status: 1, stdout: "", stderr: "sbatch: error: Memory specification can not be satisfied\n")))
        #expect(try await refused.sbatch(script: "/x/job.sh", directory: "/x") == .rejected(message: "sbatch: error: Memory specification can not be satisfied"))
    }

    @Test func processRunnerTimesOut() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let r = try await ProcessCommandRunner().run("/bin/sleep", ["60"], directory: nil, timeout: .milliseconds(200))
        #expect(r.timedOut)
        #expect(r.status == 128 + SIGTERM)   // SIGTERM works: the child does not inherit Dispatch's blocked signals
        #expect(clock.now - start < .seconds(30), "gave up long before the command would have finished on its own")
        let ok = try await ProcessCommandRunner().run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"], directory: "/tmp", timeout: .seconds(5))
        #expect(ok == CommandResult(status: 3, stdout: "out\n", stderr: "err\n"))
        await #expect(throws: CommandLaunchError.self) { try await ProcessCommandRunner().run("/nonexistent/cmd", [], directory: nil, timeout: .seconds(1)) }
    }
}
