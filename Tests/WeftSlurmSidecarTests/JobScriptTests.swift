import Foundation
import Gen
import Testing
import WeftPodKit
@testable import WeftSlurmSidecar

@Suite("Job script generation")
struct JobScriptTests {
    let dir = "/state/pods/default-uid1"

    func build(_ s: Weft_Kubelet_V1_PodSubmission, runtime: ResolvedRuntime = .none, options: [String: String]? = nil,
               partition: String? = nil, extraFlags: [String] = [], volumes: [String: MaterializedVolume] = [:]) throws -> SlurmJob {
        let opts = options ?? SlurmAnnotations.merged(annotations: s.pod.metadata.annotations, backendOptions: [:])
        return try SlurmJobBuilder(runtime: runtime, partition: partition, extraFlags: extraFlags)
            .build(submission: s, options: opts, directory: dir, volumes: volumes)
    }

    func sbatchLines(_ script: String) -> [String] {
        script.split(separator: "\n").filter { $0.hasPrefix("#SBATCH ") }.map { String($0.dropFirst(8)) }
    }

    @Test func headerHasNameOutputAndDefaults() throws {
        let s = Fixture.submission(uid: "uid1", containers: [Fixture.container("main", ["true"])])
        let job = try build(s)
        #expect(job.script.hasPrefix("#!/bin/bash\n#SBATCH --job-name=uid1\n"))
        let lines = sbatchLines(job.script)
        #expect(lines.contains("--output=\(dir)/_slurm.out"))
        #expect(lines.contains("--error=\(dir)/_slurm.err"))
        #expect(lines.contains("--cpus-per-task=1"))
        #expect(!lines.contains { $0.hasPrefix("--mem") })
        // Every #SBATCH line comes before the first command (sbatch stops reading at it).
        let firstCommand = job.script.split(separator: "\n").firstIndex { !$0.hasPrefix("#") } ?? 0
        let lastSbatch = job.script.split(separator: "\n").lastIndex { $0.hasPrefix("#SBATCH") } ?? 0
        #expect(lastSbatch < firstCommand)
    }

    @Test func resourcesUseTheLargestLimitElseRequests() throws {
        let s = Fixture.submission(
            initContainers: [Fixture.container("setup", ["true"], cpuMillis: 3500, memoryBytes: 100 << 20)],
            containers: [Fixture.container("a", ["true"], cpuMillis: 1500, memoryBytes: 2 << 30),
                         Fixture.container("b", ["true"], cpuMillis: 8000, memoryBytes: 64 << 30, limits: false)])
        let lines = sbatchLines(try build(s).script)
        #expect(lines.contains("--cpus-per-task=4"))   // ceil(3.5), limits win over b's request
        #expect(lines.contains("--mem=2048"))

        let requestsOnly = Fixture.submission(containers: [Fixture.container("a", ["true"], cpuMillis: 250, memoryBytes: 1_000_000, limits: false)])
        let r = sbatchLines(try build(requestsOnly).script)
        #expect(r.contains("--cpus-per-task=1"))
        #expect(r.contains("--mem=1"))   // 1 MB rounds up to 1 MiB
    }

    @Test func annotationFlagsAreAddedAndResourceFlagsDroppedWhenThePodSetsResources() throws {
        let flags = "--time=00:10:00 -p gpu --cpus-per-task=16 --mem=99G -c 8 --job-name=evil --output=/etc/passwd --qos=high"
        let withResources = Fixture.submission(containers: [Fixture.container("a", ["true"], cpuMillis: 2000, memoryBytes: 1 << 30)],
                                               annotations: [SlurmAnnotations.flags: flags])
        let job = try build(withResources, partition: "batch", extraFlags: ["--account=proj1"])
        let lines = sbatchLines(job.script)
        #expect(lines.contains("--cpus-per-task=2"))
        #expect(lines.contains("--mem=1024"))
        #expect(lines.contains("--time=00:10:00"))
        #expect(lines.contains("-p gpu"))
        #expect(lines.contains("--qos=high"))
        #expect(lines.contains("--partition=batch"))
        #expect(lines.contains("--account=proj1"))
        #expect(!lines.contains("--cpus-per-task=16"))
        #expect(!lines.contains("--mem=99G"))
        #expect(!lines.contains("-c 8"))
        #expect(!lines.contains("--job-name=evil"))
        #expect(!lines.contains("--output=/etc/passwd"))
        #expect(lines.firstIndex(of: "--partition=batch")! < lines.firstIndex(of: "-p gpu")!)   // the pod's flags come last and win
        #expect(!job.warnings.isEmpty)

        let without = Fixture.submission(containers: [Fixture.container("a", ["true"])], annotations: [SlurmAnnotations.flags: "--cpus-per-task=16 --mem=99G"])
        let l2 = sbatchLines(try build(without).script)
        #expect(l2.contains("--cpus-per-task=16"))
        #expect(!l2.contains("--cpus-per-task=1"))
        #expect(l2.contains("--mem=99G"))
    }

    @Test func backendOptionsOverrideAnnotations() {
        let merged = SlurmAnnotations.merged(annotations: [SlurmAnnotations.flags: "--time=1", "other": "x"],
                                             backendOptions: [SlurmAnnotations.flags: "--time=2", "slurm-job.knoc.io/pre-exec": "module load x"])
        #expect(merged == [SlurmAnnotations.flags: "--time=2", SlurmAnnotations.preExec: "module load x"])
    }

    @Test func hostileStringsAreQuoted() throws {
        let hostile = "'; rm -rf / #"
        let s = Fixture.submission(containers: [Fixture.container("main", ["echo", hostile, "$(whoami)", "`id`", "a\nb", "A=b"])])
        let job = try build(s)
        #expect(job.script.contains(#"exec echo ''\''; rm -rf / #' '$(whoami)' '`id`' 'a"#))
        #expect(job.script.contains("'A=b'"))
        #expect(ShellQuote.quote(hostile) == #"''\''; rm -rf / #'"#)
        #expect(ShellQuote.quote("") == "''")
        #expect(ShellQuote.quote("plain-word_1.2/x:y,z@h%+") == "plain-word_1.2/x:y,z@h%+")
        #expect(ShellQuote.quote("~root") == "'~root'")
    }

    @Test func hostileWordsRunLiterallyUnderBash() throws {
        // The quoted words reach the command unchanged.
        let words = ["'; rm -rf / #", "$(id)", "`id`", "a\nb", "\"q\"", "\\", "*", "$HOME", "", "é ü"]
        let line = "printf '<%s>' " + ShellQuote.join(words)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", line]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text == words.map { "<\($0)>" }.joined())
    }

    @Test func secretsStayOutOfTheScript() throws {
        let secretValue = "hunter2-very-secret"
        let s = Fixture.submission(
            containers: [Fixture.container("main", ["sh", "-c", "echo $(TOKEN) $TOKEN"],
                                           env: [Fixture.env("TOKEN", secret: "creds", key: "token"), Fixture.env("PLAIN", "visible")])],
            secrets: [Fixture.secret("creds", ["token": secretValue])])
        let job = try build(s)
        #expect(!job.script.contains(secretValue))
        let env = try #require(job.files.first { $0.path == "\(dir)/main.env" })
        #expect(env.mode == 0o600)
        #expect(String(decoding: env.contents, as: UTF8.self) == "TOKEN=\(secretValue)\nPLAIN=visible\n")
        // $(TOKEN) expanded into the command: the words go to a 0600 argv file instead.
        let argv = try #require(job.files.first { $0.path == "\(dir)/main.argv" })
        #expect(argv.mode == 0o600)
        #expect(argv.contents == Array("sh\0-c\0echo \(secretValue) $TOKEN\0".utf8))
        #expect(job.script.contains("mapfile -d '' -t weft_argv <\(dir)/main.argv"))
        #expect(job.script.contains("\"${weft_argv[@]}\""))
        #expect(job.script.contains("set -a; . \(dir)/main.env || exit 1; set +a"))
    }

    @Test func envValuesAreQuotedAndBadNamesSkipped() throws {
        let s = Fixture.submission(containers: [Fixture.container("main", ["true"], env: [
            Fixture.env("Q", "it's \"here\"\n$(x)"), Fixture.env("my.var", "x"), Fixture.env("_OK1", "y")])])
        let job = try build(s)
        let env = try #require(job.files.first { $0.path.hasSuffix("main.env") })
        #expect(String(decoding: env.contents, as: UTF8.self) == "Q='it'\\''s \"here\"\n$(x)'\n_OK1=y\n")
        #expect(job.warnings.contains { $0.contains("my.var") })
    }

    @Test func runtimeNoneExportsVolumesAndChangesDirectory() throws {
        let s = Fixture.submission(
            containers: [Fixture.container("main", ["ls", "$(WEFT_VOLUME_DATA_DIR)"], mounts: [(volume: "data-dir", path: "/data")])],
            volumes: [Fixture.emptyDir("data-dir")])
        let job = try build(s, volumes: ["data-dir": MaterializedVolume(hostPath: "\(dir)/volumes/data-dir", readOnly: false)])
        let env = try #require(job.files.first { $0.path.hasSuffix("main.env") })
        #expect(String(decoding: env.contents, as: UTF8.self) == "WEFT_VOLUME_DATA_DIR=\(dir)/volumes/data-dir\n")
        #expect(job.script.contains("cd \(dir)/work/main || exit 1"))
        #expect(job.script.contains("exec ls \(dir)/volumes/data-dir"))
        #expect(job.directories == ["\(dir)/work/main"])
    }

    @Test func runtimeNoneNeedsACommand() {
        let s = Fixture.submission(containers: [Fixture.container("main", [])])
        #expect(throws: PodConfigError.self) { try build(s) }
    }

    @Test func apptainerCommandLine() throws {
        var c = Fixture.container("main", ["python", "-c", "print(1)"], image: "python:3.12", mounts: [(volume: "cfg", path: "/etc/app")])
        c.workingDir = "/work"
        let s = Fixture.submission(containers: [c, Fixture.container("side", [], args: ["serve"], image: "/images/side.sif")],
                                   volumes: [Fixture.configMapVolume("cfg", configMap: "app")],
                                   annotations: [SlurmAnnotations.singularityOptions: "--nv --writable-tmpfs"])
        let job = try build(s, runtime: .apptainer("/usr/bin/apptainer"),
                            volumes: ["cfg": MaterializedVolume(hostPath: "\(dir)/volumes/cfg", readOnly: true)])
        #expect(job.script.contains("exec /usr/bin/apptainer exec --containall --no-eval --nv --writable-tmpfs --pwd /work --env-file \(dir)/main.env --bind \(dir)/volumes/cfg:/etc/app:ro docker://python:3.12 python -c 'print(1)'"))
        // No command: the image's runscript with the args.
        #expect(job.script.contains("exec /usr/bin/apptainer run --containall --no-eval --nv --writable-tmpfs --env-file \(dir)/side.env /images/side.sif serve"))

        let rooted = try build(Fixture.submission(containers: [Fixture.container("m", ["true"], image: "alpine")],
                                                  annotations: [SlurmAnnotations.imageRoot: "/cvmfs/images/"]),
                               runtime: .singularity("/opt/singularity"))
        #expect(rooted.script.contains("exec /opt/singularity exec --containall --no-eval --env-file \(dir)/m.env /cvmfs/images/alpine true"))
        #expect(SlurmJobBuilder.apptainerImage("oras://reg/x:1", root: "docker://") == "oras://reg/x:1")
    }

    @Test func podmanCommandLine() throws {
        let s = Fixture.submission(containers: [Fixture.container("main", ["sh", "-c", "echo $A"], image: "alpine:3",
                                                                  env: [Fixture.env("A", "1")], mounts: [(volume: "scratch", path: "/scratch")])],
                                   volumes: [Fixture.emptyDir("scratch")])
        let job = try build(s, runtime: .podman("/usr/bin/podman"), volumes: ["scratch": MaterializedVolume(hostPath: "\(dir)/volumes/scratch", readOnly: false)])
        #expect(job.script.contains("set -a; . \(dir)/main.env || exit 1; set +a"))
        #expect(job.script.contains("exec /usr/bin/podman run --rm --network host -v \(dir)/volumes/scratch:/scratch --env A --entrypoint '' alpine:3 sh -c 'echo $A'"))
    }

    @Test func initContainersRunInOrderAndContainersTogether() throws {
        let s = Fixture.submission(initContainers: [Fixture.container("one", ["true"]), Fixture.container("two", ["true"])],
                                   containers: [Fixture.container("a", ["true"]), Fixture.container("b", ["true"])],
                                   annotations: [SlurmAnnotations.preExec: "module load foo\nexport X=1"])
        let script = try build(s).script
        let one = try #require(script.range(of: "weft_run one weft_ctr_0 || exit $?"))
        let two = try #require(script.range(of: "weft_run two weft_ctr_1 || exit $?"))
        let a = try #require(script.range(of: "weft_run a weft_ctr_2 &"))
        let b = try #require(script.range(of: "weft_run b weft_ctr_3 &"))
        let pre = try #require(script.range(of: "module load foo\nexport X=1\n"))
        #expect(pre.lowerBound < one.lowerBound && one.lowerBound < two.lowerBound && two.lowerBound < a.lowerBound && a.lowerBound < b.lowerBound)
    }

    /// Runs a generated script with bash, without Slurm, and checks the files it leaves.
    @Test func scriptRunsUnderBash() throws {
        let base = try Fixture.temporaryDirectory("bash")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let dir = base + "/pod"
        try FileManager.default.createDirectory(atPath: dir + "/volumes/shared", withIntermediateDirectories: true)
        let s = Fixture.submission(
            initContainers: [Fixture.container("init", ["sh", "-c", "echo from-init > \"$WEFT_VOLUME_SHARED/f\"; echo init says hi"], mounts: [(volume: "shared", path: "/s")])],
            containers: [Fixture.container("reader", ["sh", "-c", "cat \"$WEFT_VOLUME_SHARED/f\"; echo \"$TOKEN\"; printf 'no newline'"],
                                           env: [Fixture.env("TOKEN", secret: "creds", key: "token")], mounts: [(volume: "shared", path: "/s")]),
                         Fixture.container("failer", ["sh", "-c", "echo oops >&2; exit 7"])],
            volumes: [Fixture.emptyDir("shared")],
            secrets: [Fixture.secret("creds", ["token": "it's a secret"])])
        let job = try SlurmJobBuilder(runtime: .none).build(submission: s, options: [:], directory: dir,
                                                            volumes: ["shared": MaterializedVolume(hostPath: dir + "/volumes/shared", readOnly: false)])
        for d in job.directories { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        for f in job.files { _ = FileManager.default.createFile(atPath: f.path, contents: Data(f.contents), attributes: [.posixPermissions: f.mode]) }
        try job.script.write(toFile: dir + "/job.sh", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [dir + "/job.sh"]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 7)
        func read(_ name: String) -> String { (try? String(contentsOfFile: dir + "/" + name, encoding: .utf8)) ?? "<missing>" }
        #expect(read("init.status") == "0\n")
        #expect(read("reader.status") == "0\n")
        #expect(read("failer.status") == "7\n")
        #expect(read("reader.out") == "from-init\nit's a secret\nno newline\n")
        #expect(read("failer.out") == "oops\n")
        let files = PodFiles.read(directory: dir, names: ["init", "reader", "failer"])
        #expect(files.jobStartedAt != nil)
        #expect(files.containers["reader"]?.startedAt != nil)
        #expect(files.containers["failer"]?.exitCode == 7)
        // The CRI log parses, with a plausible time on every line.
        let log = try #require(FileManager.default.contents(atPath: dir + "/reader.log"))
        let (entries, consumed) = ContainerLogReader.parse([UInt8](log))
        #expect(consumed == log.count)
        #expect(entries.map { String(decoding: $0.content, as: UTF8.self) } == ["from-init", "it's a secret", "no newline"])
        let now = Google_Protobuf_Timestamp.now.unixNanos
        #expect(entries.allSatisfy { abs($0.time - now) < 60_000_000_000 && $0.stream == "stdout" && !$0.partial })
    }
}
