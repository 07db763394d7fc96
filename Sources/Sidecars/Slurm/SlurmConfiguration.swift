import Foundation

/// How the containers of a pod are started inside its Slurm job.
public enum SlurmContainerRuntime: String, Sendable, Equatable, CaseIterable {
    /// The first of apptainer, singularity and podman found on `PATH` of the sidecar's host (the
    /// compute nodes are assumed to look like it, as interLink assumes), else ``none``.
    case auto
    /// `apptainer exec --containall --no-eval …` with the image as `docker://<image>`.
    case apptainer
    /// `singularity exec --containall --no-eval …`, as apptainer.
    case singularity
    /// `podman run --rm --network host …`.
    case podman
    /// No container: the command runs directly on the node, in a subshell with the container's
    /// environment and working directory. The image is ignored and volume mount paths cannot be
    /// honoured; the volumes' host directories are exported as `WEFT_VOLUME_<NAME>` instead.
    case none
}

/// Where the sidecar finds the Slurm client commands and container runtimes.
public struct SlurmCommandPaths: Sendable, Equatable {
    /// `sbatch`.
    public var sbatch: String
    /// `squeue`.
    public var squeue: String
    /// `scancel`.
    public var scancel: String
    /// `scontrol`.
    public var scontrol: String
    /// `sinfo`.
    public var sinfo: String
    /// `apptainer`, if installed.
    public var apptainer: String?
    /// `singularity`, if installed.
    public var singularity: String?
    /// `podman`, if installed.
    public var podman: String?

    /// Paths given explicitly; any left nil are looked up on `PATH` (Slurm commands fall back to
    /// `/usr/bin/<name>` so that a missing command shows up as an error when it is first run).
    public init(sbatch: String? = nil, squeue: String? = nil, scancel: String? = nil, scontrol: String? = nil, sinfo: String? = nil,
                apptainer: String? = nil, singularity: String? = nil, podman: String? = nil) {
        func slurm(_ given: String?, _ name: String) -> String { given ?? SlurmConfiguration.which(name) ?? "/usr/bin/\(name)" }
        self.sbatch = slurm(sbatch, "sbatch")
        self.squeue = slurm(squeue, "squeue")
        self.scancel = slurm(scancel, "scancel")
        self.scontrol = slurm(scontrol, "scontrol")
        self.sinfo = slurm(sinfo, "sinfo")
        self.apptainer = apptainer ?? SlurmConfiguration.which("apptainer")
        self.singularity = singularity ?? SlurmConfiguration.which("singularity")
        self.podman = podman ?? SlurmConfiguration.which("podman")
    }
}

/// A container runtime with the executable that provides it.
public enum ResolvedRuntime: Sendable, Equatable {
    /// Apptainer at the path.
    case apptainer(String)
    /// Singularity at the path.
    case singularity(String)
    /// Podman at the path.
    case podman(String)
    /// Commands run directly on the node.
    case none

    /// The runtime's name as in ``SlurmContainerRuntime``.
    public var name: String {
        switch self {
        case .apptainer: "apptainer"
        case .singularity: "singularity"
        case .podman: "podman"
        case .none: "none"
        }
    }
}

/// Settings of the Slurm sidecar.
public struct SlurmConfiguration: Sendable {
    /// Where the pod records (`slurm.sqlite`) and pod directories (`pods/<namespace>-<uid>/`) live.
    /// It must be on a file system the compute nodes share with the sidecar's host, and its path
    /// must not contain white space, quotes, `%`, `#`, `$`, backslashes or back quotes (it is
    /// written into `#SBATCH` lines, where `%` is a file name pattern).
    public var stateDirectory: String
    /// Container runtime used in the job scripts.
    public var runtime: SlurmContainerRuntime
    /// How often the job states are polled (one `squeue` call for all pods). Zero turns the
    /// background polling off; ``SlurmSidecar/poll()`` then runs a round when called.
    public var pollInterval: Duration
    /// `--partition` for every job, unless the pod's flags choose another.
    public var partition: String?
    /// `#SBATCH` flags for every job, before the pod's own (`slurm-job.vk.io/flags`).
    public var extraFlags: [String]
    /// The commands.
    public var commands: SlurmCommandPaths
    /// Time between `scancel --signal=TERM` and `scancel` when a delete names no grace period and
    /// the pod sets none.
    public var defaultGracePeriod: Duration
    /// Longest time any one Slurm command may take before it is killed.
    public var commandTimeout: Duration
    /// Whether pods may use hostPath volumes.
    public var allowHostPath: Bool
    /// Pods the virtual node advertises.
    public var maxPods: Int64

    /// Creates a configuration.
    public init(stateDirectory: String, runtime: SlurmContainerRuntime = .auto, pollInterval: Duration = .seconds(1),
                partition: String? = nil, extraFlags: [String] = [], commands: SlurmCommandPaths = SlurmCommandPaths(),
                defaultGracePeriod: Duration = .seconds(30), commandTimeout: Duration = .seconds(30),
                allowHostPath: Bool = false, maxPods: Int64 = 1000) {
        self.stateDirectory = stateDirectory
        self.runtime = runtime
        self.pollInterval = pollInterval
        self.partition = partition
        self.extraFlags = extraFlags
        self.commands = commands
        self.defaultGracePeriod = defaultGracePeriod
        self.commandTimeout = commandTimeout
        self.allowHostPath = allowHostPath
        self.maxPods = maxPods
    }

    /// The runtime the job scripts use: ``runtime`` with `auto` decided by what is installed.
    public var resolvedRuntime: ResolvedRuntime {
        switch runtime {
        case .apptainer: return .apptainer(commands.apptainer ?? "apptainer")
        case .singularity: return .singularity(commands.singularity ?? "singularity")
        case .podman: return .podman(commands.podman ?? "podman")
        case .none: return .none
        case .auto:
            if let p = commands.apptainer { return .apptainer(p) }
            if let p = commands.singularity { return .singularity(p) }
            if let p = commands.podman { return .podman(p) }
            return .none
        }
    }

    /// The first executable named `name` on `PATH`.
    public static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        return nil
    }

    /// Whether `path` can be written into `#SBATCH` lines and job scripts as it is.
    static func isPlainPath(_ path: String) -> Bool {
        guard path.hasPrefix("/") else { return false }
        return !path.unicodeScalars.contains { c in
            c.properties.isWhitespace || c.value < 32 || c.value == 127 || "'\"%#$\\`".unicodeScalars.contains(c)
        }
    }
}
