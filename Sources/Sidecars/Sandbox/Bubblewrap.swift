import Foundation

/// One bind mount into a sandbox.
public struct SandboxMount: Sendable, Equatable {
    /// Path on the host.
    public var source: String
    /// Path inside the sandbox (absolute).
    public var target: String
    /// Mounted read-only.
    public var readOnly: Bool

    /// Creates a mount.
    public init(source: String, target: String, readOnly: Bool) {
        self.source = source
        self.target = target
        self.readOnly = readOnly
    }
}

/// What one container process needs from bubblewrap.
public struct SandboxSpec: Sendable {
    /// The image's root directory on the host (`/` for the `host` image).
    public var root: String
    /// Volumes and the writable work directory.
    public var mounts: [SandboxMount]
    /// Working directory inside the sandbox.
    public var workingDirectory: String
    /// Environment, in order.
    public var environment: [(String, String)]
    /// Command and arguments.
    public var command: [String]
    /// Host name (the pod's name, as Kubernetes sets it).
    public var hostname: String
    /// A private network namespace (loopback only).
    public var isolateNetwork: Bool
    /// Run as this uid/gid inside a user namespace.
    public var user: (uid: Int64, gid: Int64)?
    /// RLIMIT_DATA in bytes (memory limit).
    public var memoryLimitBytes: Int64?
    /// RLIMIT_NOFILE.
    public var openFilesLimit: Int64?

    /// Creates a spec.
    public init(root: String, mounts: [SandboxMount], workingDirectory: String, environment: [(String, String)], command: [String],
                hostname: String, isolateNetwork: Bool = false, user: (uid: Int64, gid: Int64)? = nil,
                memoryLimitBytes: Int64? = nil, openFilesLimit: Int64? = nil) {
        self.root = root
        self.mounts = mounts
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.command = command
        self.hostname = hostname
        self.isolateNetwork = isolateNetwork
        self.user = user
        self.memoryLimitBytes = memoryLimitBytes
        self.openFilesLimit = openFilesLimit
    }
}

/// Builds the `bwrap` command line for a container.
///
/// The sandbox's `/` is a tmpfs that is made read-only at the end (`--remount-ro /`); the image's
/// top-level entries are bound into it read-only. A mount whose target lies inside an image
/// directory that lacks it cannot be created in a read-only bind (Debian's bwrap 0.8 has no
/// overlays), so such a directory is rebuilt entry by entry down to the mount point instead.
public struct BubblewrapCommand: Sendable {
    /// Path of `bwrap`.
    public var bwrap: String
    /// Path of `prlimit` (util-linux), used when the spec sets resource limits.
    public var prlimit: String?

    /// Creates a builder.
    public init(bwrap: String, prlimit: String?) {
        self.bwrap = bwrap
        self.prlimit = prlimit
    }

    /// The full argv, starting with an absolute executable path.
    public func argv(for spec: SandboxSpec) throws -> [String] {
        var args: [String] = []
        if let prlimit, spec.memoryLimitBytes != nil || spec.openFilesLimit != nil {
            args += [prlimit]
            if let m = spec.memoryLimitBytes { args.append("--data=\(m)") }
            if let n = spec.openFilesLimit { args.append("--nofile=\(n)") }
            args.append("--")
        }
        args += [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-uts", "--unshare-ipc", "--hostname", spec.hostname]
        if spec.isolateNetwork { args.append("--unshare-net") }
        if let user = spec.user { args += ["--unshare-user", "--uid", String(user.uid), "--gid", String(user.gid)] }
        // Mount points are resolved through the image's symlinks (`/var/run` → `/run`), as
        // container runtimes do, so that a mount under a linked directory lands where it points.
        let mounts = spec.mounts.map { m in SandboxMount(source: m.source, target: Self.resolve(m.target, in: spec.root), readOnly: m.readOnly) }
        let workingDirectory = Self.resolve(spec.workingDirectory, in: spec.root)
        let targets = mounts.map(\.target) + [workingDirectory]
        args += try rootArguments(root: spec.root, inside: "", targets: targets)
        args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        for m in mounts.sorted(by: { $0.target.split(separator: "/").count < $1.target.split(separator: "/").count }) {
            args += [m.readOnly ? "--ro-bind" : "--bind", m.source, m.target]
        }
        args += ["--remount-ro", "/", "--chdir", workingDirectory, "--clearenv"]
        for (k, v) in spec.environment { args += ["--setenv", k, v] }
        args.append("--")
        args += spec.command
        return args
    }

    /// `path` with every symbolic link of the image along it followed (at most 40), as an
    /// absolute path inside the image; components that do not exist are kept as written.
    static func resolve(_ path: String, in root: String) -> String {
        let fm = FileManager.default
        let prefix = root == "/" ? "" : root
        var pending = path.split(separator: "/").map(String.init)
        var resolved: [String] = []
        var links = 0
        while !pending.isEmpty {
            let component = pending.removeFirst()
            if component == "." || component.isEmpty { continue }
            if component == ".." { _ = resolved.popLast(); continue }
            let candidate = "/" + (resolved + [component]).joined(separator: "/")
            if links < 40, let target = try? fm.destinationOfSymbolicLink(atPath: prefix + candidate) {
                links += 1
                let parts = target.split(separator: "/").map(String.init)
                if target.hasPrefix("/") { resolved = [] }
                pending = parts + pending
                continue
            }
            resolved.append(component)
        }
        return "/" + resolved.joined(separator: "/")
    }

    /// Binds the entries of `root + inside` into the sandbox, expanding directories that contain a
    /// mount target that does not exist in the image.
    private func rootArguments(root: String, inside: String, targets: [String]) throws -> [String] {
        let fm = FileManager.default
        let hostDir = root == "/" ? (inside.isEmpty ? "/" : inside) : root + inside
        var args: [String] = []
        let skip: Set<String> = inside.isEmpty ? ["proc", "dev", "tmp", "sys"] : []
        for entry in try fm.contentsOfDirectory(atPath: hostDir).sorted() where !skip.contains(entry) {
            let path = inside + "/" + entry
            let hostPath = root == "/" ? path : root + path
            let needsExpansion = targets.contains { t in t.hasPrefix(path + "/") && !fm.fileExists(atPath: (root == "/" ? "" : root) + t) }
            if let link = try? fm.destinationOfSymbolicLink(atPath: hostPath) {
                // A symlink where a volume is mounted would redirect the mount: leave it out.
                if !targets.contains(path) { args += ["--symlink", link, path] }
            } else if needsExpansion {
                args += ["--dir", path]
                args += try rootArguments(root: root, inside: path, targets: targets)
            } else {
                args += ["--ro-bind", hostPath, path]
            }
        }
        return args
    }
}
