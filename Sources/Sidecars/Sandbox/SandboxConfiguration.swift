import Foundation

/// Settings of the local sandbox sidecar.
public struct SandboxConfiguration: Sendable {
    /// Where pod records, volumes and logs live.
    public var stateDirectory: String
    /// Where image names resolve to root file systems: `<imageRoot>/<name>` with `/` and `:` kept
    /// as directories (`alpine:3.19` → `<imageRoot>/alpine/3.19`, else `<imageRoot>/alpine`).
    /// The image `host` (or `host:*`) is the host's root, read-only.
    public var imageRoot: String
    /// `bwrap` executable.
    public var bwrapPath: String
    /// `prlimit` executable, for memory and open-file limits; nil disables limits.
    public var prlimitPath: String?
    /// Whether pods may use hostPath volumes.
    public var allowHostPath: Bool
    /// Give every pod a private network namespace (loopback only). A pod can also ask for one
    /// with the annotation `sandbox.weft.io/network: none`.
    public var isolateNetwork: Bool
    /// Grace period between SIGTERM and SIGKILL when a delete names none.
    public var defaultGracePeriod: Duration
    /// Pods the node advertises.
    public var maxPods: Int64

    /// Creates a configuration; tool paths are looked up on `PATH` when not given.
    public init(stateDirectory: String, imageRoot: String? = nil, bwrapPath: String? = nil, prlimitPath: String? = nil,
                allowHostPath: Bool = false, isolateNetwork: Bool = false, defaultGracePeriod: Duration = .seconds(30), maxPods: Int64 = 110) {
        self.stateDirectory = stateDirectory
        self.imageRoot = imageRoot ?? stateDirectory + "/images"
        self.bwrapPath = bwrapPath ?? Self.which("bwrap") ?? "/usr/bin/bwrap"
        self.prlimitPath = prlimitPath ?? Self.which("prlimit")
        self.allowHostPath = allowHostPath
        self.isolateNetwork = isolateNetwork
        self.defaultGracePeriod = defaultGracePeriod
        self.maxPods = maxPods
    }

    /// The first executable named `name` on `PATH`.
    public static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        return nil
    }

    /// The root directory of `image`, or nil when it is not installed.
    public func rootfs(for image: String) -> String? {
        if image == "host" || image.hasPrefix("host:") { return "/" }
        guard !image.isEmpty, !image.contains(".."), !image.hasPrefix("/") else { return nil }
        var candidates = [imageRoot + "/" + image.replacingOccurrences(of: ":", with: "/")]
        if let colon = image.lastIndex(of: ":") { candidates.append(imageRoot + "/" + image[..<colon]) }
        candidates.append(imageRoot + "/" + image)
        var isDir: ObjCBool = false
        return candidates.first { FileManager.default.fileExists(atPath: $0, isDirectory: &isDir) && isDir.boolValue }
    }
}
