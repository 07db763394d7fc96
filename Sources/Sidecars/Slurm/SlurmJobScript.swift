import Foundation
import Gen
import WeftPodKit

/// The files of a pod directory `<stateDirectory>/pods/<namespace>-<uid>/`. Container files are
/// `<name>.<ext>`; container names are DNS labels (no `.` or `_`), so they never collide with the
/// job's own files, which start with `_` or are `job.sh`.
public enum JobLayout {
    /// The batch script.
    public static let script = "job.sh"
    /// Written by the script when it starts: `date +%s%N`.
    public static let startedFile = "_started"
    /// Written by the script when it exits: bash `times` (its last line: user and system
    /// CPU time of everything the job ran), for accounting.
    public static let usageFile = "_usage"
    /// The job id, written by the sidecar after sbatch (for people looking at the directory).
    public static let jobIDFile = "_jobid"
    /// Slurm's `--output` (the script's own messages).
    public static let slurmOutput = "_slurm.out"
    /// Slurm's `--error`.
    public static let slurmError = "_slurm.err"
    /// Materialised volumes, one directory per volume.
    public static let volumes = "volumes"
    /// Default working directories of containers run without a runtime, one per container.
    public static let work = "work"

    /// Raw output of a container (stdout and stderr merged).
    public static func output(_ container: String) -> String { "\(container).out" }
    /// CRI-format log of a container (what GetContainerLogs reads).
    public static func log(_ container: String) -> String { "\(container).log" }
    /// Exit code of a container, written when it ends.
    public static func status(_ container: String) -> String { "\(container).status" }
    /// Start time of a container (`date +%s%N`).
    public static func started(_ container: String) -> String { "\(container).started" }
    /// The container's environment (mode 0600), `NAME='value'` lines.
    public static func environment(_ container: String) -> String { "\(container).env" }
    /// The container's command words, NUL-terminated (mode 0600), when they carry Secret values.
    public static func argv(_ container: String) -> String { "\(container).argv" }
}

/// The pod annotations the Slurm sidecar reads (interLink's names). They reach the sidecar in
/// the pod's metadata and in `CreatePodRequest.backend_options`; the latter wins. The older
/// prefix `slurm-job.knoc.io/` is accepted as well.
public enum SlurmAnnotations {
    /// Extra `#SBATCH` flags, separated by white space.
    public static let flags = "slurm-job.vk.io/flags"
    /// Shell text run in the job before the containers.
    public static let preExec = "slurm-job.vk.io/pre-exec"
    /// Options added to every `apptainer|singularity exec`, separated by white space.
    public static let singularityOptions = "slurm-job.vk.io/singularity-options"
    /// Prefix for image names (`docker://`, `/images/`, a registry), unless an image is a path
    /// or already has a scheme.
    public static let imageRoot = "slurm-job.vk.io/image-root"

    /// The Slurm options of a pod: its annotations overlaid with `backendOptions`, keyed by the
    /// `slurm-job.vk.io/` names.
    public static func merged(annotations: [String: String], backendOptions: [String: String]) -> [String: String] {
        var result: [String: String] = [:]
        for source in [annotations, backendOptions] {
            for (k, v) in source {
                if k.hasPrefix("slurm-job.vk.io/") { result[k] = v }
                else if k.hasPrefix("slurm-job.knoc.io/") { result["slurm-job.vk.io/" + k.dropFirst("slurm-job.knoc.io/".count)] = v }
            }
        }
        return result
    }
}

/// POSIX shell quoting.
public enum ShellQuote {
    /// `s` as one shell word: unchanged when it holds only characters no shell treats specially,
    /// else in single quotes with each `'` written as `'\''`.
    public static func quote(_ s: String) -> String {
        if !s.isEmpty, s.unicodeScalars.allSatisfy({ c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || "_-./:,@%+".unicodeScalars.contains(c)
        }) {
            return s
        }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Each word quoted, joined by spaces.
    public static func join(_ words: [String]) -> String { words.map(quote).joined(separator: " ") }
}

/// A file the sidecar writes next to the job script.
public struct GeneratedFile: Sendable, Equatable {
    /// Absolute path.
    public var path: String
    /// Contents.
    public var contents: [UInt8]
    /// Permission bits.
    public var mode: Int

    /// Creates a file description.
    public init(path: String, contents: [UInt8], mode: Int) {
        self.path = path
        self.contents = contents
        self.mode = mode
    }
}

/// A pod turned into a Slurm batch job.
public struct SlurmJob: Sendable {
    /// The batch script (`job.sh`); holds no Secret value.
    public var script: String
    /// Environment and argv files (mode 0600), to write before submitting.
    public var files: [GeneratedFile]
    /// Directories to create before submitting.
    public var directories: [String]
    /// `--cpus-per-task` derived from the pod's resources, if it sets any.
    public var cpusPerTask: Int?
    /// `--mem` in MiB derived from the pod's resources, if it sets any.
    public var memoryMiB: Int64?
    /// Things the sidecar should log (a flag dropped, a variable that cannot be exported).
    public var warnings: [String]
}

/// Builds the batch script of a pod: `#SBATCH` lines from its resources, the sidecar's
/// configuration and its annotations, then the init containers in order and the containers
/// together, each through the configured container runtime.
public struct SlurmJobBuilder: Sendable {
    /// The runtime that starts containers.
    public var runtime: ResolvedRuntime
    /// `--partition` for every job.
    public var partition: String?
    /// `#SBATCH` flags for every job.
    public var extraFlags: [String]

    /// Creates a builder.
    public init(runtime: ResolvedRuntime, partition: String? = nil, extraFlags: [String] = []) {
        self.runtime = runtime
        self.partition = partition
        self.extraFlags = extraFlags
    }

    /// Flags that would break the job's layout (one job per pod, named by its UID, writing into
    /// its directory); they are dropped from configured and annotated flags.
    static let layoutFlags: Set<String> = ["--job-name", "-J", "--output", "-o", "--error", "-e", "--chdir", "-D", "--array", "-a", "--parsable", "--wrap"]
    /// CPU flags, dropped when the pod sets CPU resources.
    static let cpuFlags: Set<String> = ["--cpus-per-task", "-c"]
    /// Memory flags, dropped when the pod sets memory resources.
    static let memoryFlags: Set<String> = ["--mem", "--mem-per-cpu", "--mem-per-gpu"]

    /// `--cpus-per-task` (whole CPUs, rounded up) and `--mem` (MiB, rounded up) for `pod`: the
    /// largest limit over all its containers, else the largest request; nil when none is set.
    public static func resources(of pod: Weft_Kubelet_V1_Pod) -> (cpus: Int?, memoryMiB: Int64?) {
        let all = pod.spec.initContainers + pod.spec.containers
        func pick(_ get: (Weft_Common_V1_ResourceQuantities) -> Int64?) -> Int64? {
            if let m = all.compactMap({ get($0.resources.limits) }).max() { return m }
            return all.compactMap { get($0.resources.requests) }.max()
        }
        let cpu = pick { $0.hasCpuMillis ? $0.cpuMillis : nil }.map { Int(max(1, ($0 + 999) / 1000)) }
        let mem = pick { $0.hasMemoryBytes ? $0.memoryBytes : nil }.map { max(1, ($0 + (1 << 20) - 1) >> 20) }
        return (cpu, mem)
    }

    /// Splits white-space separated flags into one group per `#SBATCH` line: a word starting
    /// with `-` starts a group and the words after it that do not are its values (`-p gpu`).
    /// Words before any flag are returned as `stray`.
    public static func flagGroups(_ text: String) -> (groups: [[String]], stray: [String]) {
        var groups: [[String]] = []
        var stray: [String] = []
        for word in text.split(whereSeparator: { $0.isWhitespace }).map(String.init) {
            if word.hasPrefix("-") { groups.append([word]) }
            else if groups.isEmpty { stray.append(word) }
            else { groups[groups.count - 1].append(word) }
        }
        return (groups, stray)
    }

    /// The option a flag sets: `--mem=4G` → `--mem`, `-c4` → `-c`.
    static func optionKey(_ flag: String) -> String {
        if flag.hasPrefix("--") { return String(flag.split(separator: "=", maxSplits: 1).first ?? Substring(flag)) }
        return String(flag.prefix(2))
    }

    /// The job for `submission`, whose volumes are already materialised as `volumes`, running in
    /// `directory`. `options` are the merged ``SlurmAnnotations``. Throws ``PodConfigError`` for
    /// a pod this runtime cannot run (a missing ConfigMap key, a container without a command
    /// under runtime `none`, …).
    public func build(submission: Weft_Kubelet_V1_PodSubmission, options: [String: String], directory: String,
                      volumes: [String: MaterializedVolume]) throws -> SlurmJob {
        let pod = submission.pod
        var warnings: [String] = []
        var files: [GeneratedFile] = []
        var directories: [String] = []

        // #SBATCH lines.
        let (cpus, memory) = Self.resources(of: pod)
        func filtered(_ text: String, from what: String) -> [[String]] {
            let (groups, stray) = Self.flagGroups(text)
            if !stray.isEmpty { warnings.append("\(what): ignored \(stray.joined(separator: " ")) (not a flag)") }
            return groups.filter { group in
                let key = Self.optionKey(group[0])
                if Self.layoutFlags.contains(key) { warnings.append("\(what): dropped \(group.joined(separator: " ")) (the sidecar sets it)"); return false }
                if cpus != nil, Self.cpuFlags.contains(key) { warnings.append("\(what): dropped \(group.joined(separator: " ")) (the pod sets CPU resources)"); return false }
                if memory != nil, Self.memoryFlags.contains(key) { warnings.append("\(what): dropped \(group.joined(separator: " ")) (the pod sets memory resources)"); return false }
                if group.contains(where: { $0.unicodeScalars.contains { $0.value < 32 || $0.value == 127 } }) {
                    warnings.append("\(what): dropped a flag with control characters"); return false
                }
                return true
            }
        }
        let configured = filtered(extraFlags.joined(separator: " "), from: "configured flags")
        let annotated = filtered(options[SlurmAnnotations.flags] ?? "", from: SlurmAnnotations.flags)
        let flagsSetCPU = (configured + annotated).contains { Self.cpuFlags.contains(Self.optionKey($0[0])) }
        var sbatch: [String] = [
            "--job-name=\(pod.metadata.uid)",
            "--output=\(directory)/\(JobLayout.slurmOutput)",
            "--error=\(directory)/\(JobLayout.slurmError)",
            "--chdir=\(directory)",
        ]
        if let cpus { sbatch.append("--cpus-per-task=\(cpus)") } else if !flagsSetCPU { sbatch.append("--cpus-per-task=1") }
        if let memory { sbatch.append("--mem=\(memory)") }
        if let partition, !partition.isEmpty, !partition.contains(where: \.isWhitespace) { sbatch.append("--partition=\(partition)") }
        sbatch += (configured + annotated).map { $0.joined(separator: " ") }

        // Containers.
        let secretValues = Set(submission.secrets.flatMap { $0.data.values.map { String(decoding: $0, as: UTF8.self) } }.filter { !$0.isEmpty })
        let resolver = EnvironmentResolver(submission: submission)
        let imageRoot = options[SlurmAnnotations.imageRoot].flatMap { $0.isEmpty ? nil : $0 }
        let runtimeOptions = (options[SlurmAnnotations.singularityOptions] ?? "").split(whereSeparator: { $0.isWhitespace }).map(String.init)
        var launchers: [String] = []
        let all = pod.spec.initContainers + pod.spec.containers
        for (index, c) in all.enumerated() {
            var env: [(name: String, value: String)] = []
            var mounts: [(host: String, target: String, readOnly: Bool)] = []
            for m in c.volumeMounts {
                guard let v = volumes[m.name] else { throw PodConfigError("volume \(m.name) of container \(c.name) is not available") }
                mounts.append((m.subPath.isEmpty ? v.hostPath : v.hostPath + "/" + m.subPath, m.mountPath, m.readOnly || v.readOnly))
                if case .none = runtime {
                    let name = "WEFT_VOLUME_" + m.name.uppercased().replacingOccurrences(of: "-", with: "_")
                    if !env.contains(where: { $0.name == name }) { env.append((name, v.hostPath)) }
                }
            }
            for (k, v) in try resolver.environment(of: c) {
                env.removeAll { $0.name == k }
                env.append((k, v))
            }
            let vars = Dictionary(env.map { ($0.name, $0.value) }, uniquingKeysWith: { _, b in b })
            let raw = c.command + c.args
            let words = raw.map { EnvironmentResolver.expand($0, vars) }
            if words.contains(where: { $0.utf8.contains(0) }) { throw PodConfigError("container \(c.name): a command word contains a NUL byte") }
            // Command words that gained a Secret value by $(VAR) expansion go to a 0600 file.
            let carriesSecret = zip(raw, words).contains { r, w in r != w && secretValues.contains { w.contains($0) && !r.contains($0) } }

            var envFile = ""
            var exported: [String] = []
            for (k, v) in env {
                guard Self.isShellName(k) else { warnings.append("container \(c.name): variable \"\(k)\" is not a shell name and is not set"); continue }
                if v.utf8.contains(0) { warnings.append("container \(c.name): variable \(k) contains a NUL byte and is not set"); continue }
                envFile += "\(k)=\(ShellQuote.quote(v))\n"
                exported.append(k)
            }
            let envPath = "\(directory)/\(JobLayout.environment(c.name))"
            files.append(GeneratedFile(path: envPath, contents: Array(envFile.utf8), mode: 0o600))
            let argvPath = "\(directory)/\(JobLayout.argv(c.name))"
            if carriesSecret {
                var bytes: [UInt8] = []
                for w in words { bytes += Array(w.utf8); bytes.append(0) }
                files.append(GeneratedFile(path: argvPath, contents: bytes, mode: 0o600))
            }

            var body: [String] = []
            var commandLine: [String] = []   // already quoted words
            func tail(_ ws: [String]) -> [String] { carriesSecret ? ["\"${weft_argv[@]}\""] : ws.map(ShellQuote.quote) }
            if carriesSecret { body.append("local weft_argv; mapfile -d '' -t weft_argv <\(ShellQuote.quote(argvPath)) || exit 1") }
            switch runtime {
            case .none:
                guard !words.isEmpty else {
                    throw PodConfigError("container \(c.name) has no command: runtime \"none\" runs commands directly on the node, without the image's entrypoint")
                }
                let workdir = c.workingDir.isEmpty ? "\(directory)/\(JobLayout.work)/\(c.name)" : c.workingDir
                if c.workingDir.isEmpty { directories.append(workdir) }
                body.append("set -a; . \(ShellQuote.quote(envPath)) || exit 1; set +a")
                body.append("cd \(ShellQuote.quote(workdir)) || exit 1")
                commandLine = tail(words)
            case .apptainer(let exe), .singularity(let exe):
                guard !c.image.isEmpty else { throw PodConfigError("container \(c.name) has no image") }
                for m in mounts where !Self.isBindable(m.host) || !Self.isBindable(m.target) {
                    throw PodConfigError("container \(c.name): \(runtime.name) cannot bind \(m.target) (':' and ',' are not allowed in bind paths)")
                }
                commandLine = [ShellQuote.quote(exe), c.command.isEmpty ? "run" : "exec", "--containall", "--no-eval"]
                commandLine += runtimeOptions.map(ShellQuote.quote)
                if !c.workingDir.isEmpty { commandLine += ["--pwd", ShellQuote.quote(c.workingDir)] }
                commandLine += ["--env-file", ShellQuote.quote(envPath)]
                for m in mounts { commandLine += ["--bind", ShellQuote.quote("\(m.host):\(m.target)\(m.readOnly ? ":ro" : "")")] }
                commandLine.append(ShellQuote.quote(Self.apptainerImage(c.image, root: imageRoot)))
                commandLine += tail(words)
            case .podman(let exe):
                guard !c.image.isEmpty else { throw PodConfigError("container \(c.name) has no image") }
                for m in mounts where !Self.isBindable(m.host) || !Self.isBindable(m.target) {
                    throw PodConfigError("container \(c.name): podman cannot mount \(m.target) (':' and ',' are not allowed in volume paths)")
                }
                body.append("set -a; . \(ShellQuote.quote(envPath)) || exit 1; set +a")
                commandLine = [ShellQuote.quote(exe), "run", "--rm", "--network", "host"]
                for m in mounts { commandLine += ["-v", ShellQuote.quote("\(m.host):\(m.target)\(m.readOnly ? ":ro" : "")")] }
                for k in exported { commandLine += ["--env", k] }
                if !c.workingDir.isEmpty { commandLine += ["-w", ShellQuote.quote(c.workingDir)] }
                if !c.command.isEmpty { commandLine += ["--entrypoint", "''"] }
                commandLine.append(ShellQuote.quote(imageRoot.map { $0 + c.image } ?? c.image))
                commandLine += tail(words)
            }
            body.append("exec " + commandLine.joined(separator: " "))
            let kind = index < pod.spec.initContainers.count ? "Init container" : "Container"
            launchers.append("""
                # \(kind) \(c.name) (image \(Self.comment(c.image))).
                weft_ctr_\(index)() {
                \(body.map { "  " + $0 }.joined(separator: "\n"))
                }
                """)
        }

        let script = render(pod: pod, directory: directory, sbatch: sbatch, launchers: launchers,
                            preExec: options[SlurmAnnotations.preExec] ?? "")
        return SlurmJob(script: script, files: files, directories: directories, cpusPerTask: cpus, memoryMiB: memory, warnings: warnings)
    }

    private func render(pod: Weft_Kubelet_V1_Pod, directory: String, sbatch: [String], launchers: [String], preExec: String) -> String {
        let q = ShellQuote.quote
        let initCount = pod.spec.initContainers.count
        let podName = "\(pod.metadata.namespace)/\(pod.metadata.name)"
        var s = "#!/bin/bash\n"
        for line in sbatch { s += "#SBATCH \(line)\n" }
        s += """
            # Pod \(podName) (uid \(pod.metadata.uid)), written by weft-slurm. One Slurm job runs the whole
            # pod: the init containers in order, then the containers together. Each container's output
            # (stdout and stderr) goes to <name>.out and, with a timestamp per line in CRI format, to
            # <name>.log; its start time (date +%s%N) to <name>.started and its exit code to <name>.status.
            # Environment values live in <name>.env (mode 0600), never in this script.
            weft_dir=\(q(directory))
            weft_term=0
            trap 'weft_term=1' TERM
            cd "$weft_dir" || exit 1
            # CPU time of everything the job ran (the children line of `times`), for accounting.
            trap 'times >"$weft_dir/\(JobLayout.usageFile).tmp" && mv -f "$weft_dir/\(JobLayout.usageFile).tmp" "$weft_dir/\(JobLayout.usageFile)"' EXIT
            date +%s%N >"$weft_dir/\(JobLayout.startedFile).tmp" && mv -f "$weft_dir/\(JobLayout.startedFile).tmp" "$weft_dir/\(JobLayout.startedFile)"
            echo "weft: pod \(podName) as Slurm job ${SLURM_JOB_ID:-?} on ${SLURMD_NODENAME:-$(hostname)}"

            # Copies lines of output to <name>.out and, after a CRI timestamp, to <name>.log. It ignores
            # SIGTERM so that what a stopping container prints still gets written.
            weft_log() {
              trap '' TERM INT
              local line t ts
              export LC_ALL=C TZ=UTC
              exec 3>>"$weft_dir/$1.out" 4>>"$weft_dir/$1.log"
              while IFS= read -r line || [ -n "$line" ]; do
                t=${EPOCHREALTIME:-}
                if [ -n "$t" ]; then
                  printf -v ts '%(%Y-%m-%dT%H:%M:%S)T.%s000Z' "${t%[.,]*}" "${t#*[.,]}"
                else
                  ts=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
                fi
                printf '%s\\n' "$line" >&3
                printf '%s stdout F %s\\n' "$ts" "$line" >&4
              done
            }

            # Runs container $1 with launcher $2 and records its start time and exit code.
            weft_run() {
              local name=$1 rc
              trap 'weft_term=1' TERM
              date +%s%N >"$weft_dir/$name.started.tmp" && mv -f "$weft_dir/$name.started.tmp" "$weft_dir/$name.started"
              "$2" </dev/null 2>&1 | weft_log "$name"
              rc=${PIPESTATUS[0]}
              echo "$rc" >"$weft_dir/$name.status.tmp" && mv -f "$weft_dir/$name.status.tmp" "$weft_dir/$name.status"
              return "$rc"
            }


            """
        s += launchers.joined(separator: "\n\n") + "\n"
        if !preExec.isEmpty {
            s += "\n# Pre-exec (annotation \(SlurmAnnotations.preExec)).\n" + preExec + "\n"
        }
        if initCount > 0 {
            s += "\n# Init containers, in order; the first that fails ends the job with its exit code.\n"
            for (i, c) in pod.spec.initContainers.enumerated() {
                s += "weft_run \(q(c.name)) weft_ctr_\(i) || exit $?\n"
                s += "[ \"$weft_term\" = 0 ] || exit 143\n"
            }
        }
        s += "\n# Containers, together; the job exits with the highest exit code.\nweft_pids=()\n"
        for (i, c) in pod.spec.containers.enumerated() {
            s += "weft_run \(q(c.name)) weft_ctr_\(initCount + i) &\nweft_pids+=($!)\n"
        }
        s += """
            weft_highest=0
            for weft_pid in "${weft_pids[@]}"; do
              while :; do
                wait "$weft_pid"; weft_rc=$?
                # A trapped SIGTERM interrupts wait; wait again while the container still runs.
                if [ "$weft_rc" -gt 128 ] && kill -0 "$weft_pid" 2>/dev/null; then continue; fi
                break
              done
              [ "$weft_rc" -le "$weft_highest" ] || weft_highest=$weft_rc
            done
            exit "$weft_highest"

            """
        return s
    }

    /// A valid shell variable name.
    static func isShellName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    /// Whether a path can appear in `host:container[:ro]` bind syntax.
    static func isBindable(_ s: String) -> Bool { !s.contains(":") && !s.contains(",") }

    /// The image reference apptainer/singularity pulls: paths and `scheme://` references as they
    /// are, else the image root (annotation) or `docker://` in front.
    public static func apptainerImage(_ image: String, root: String?) -> String {
        if image.hasPrefix("/") || image.contains("://") { return image }
        return (root ?? "docker://") + image
    }

    /// Text safe inside a one-line comment.
    static func comment(_ s: String) -> String {
        String(s.unicodeScalars.map { $0.value < 32 || $0.value == 127 ? "?" : Character($0) })
    }
}
