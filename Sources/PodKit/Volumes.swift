import Foundation
import Gen

/// A volume made real on the backend's file system.
public struct MaterializedVolume: Sendable, Equatable {
    /// Where its files are on the host.
    public var hostPath: String
    /// Kubernetes mounts ConfigMap, Secret and projected volumes read-only.
    public var readOnly: Bool

    /// Creates a description of a materialised volume.
    public init(hostPath: String, readOnly: Bool) {
        self.hostPath = hostPath
        self.readOnly = readOnly
    }
}

/// Writes a pod's ConfigMap, Secret, projected and emptyDir volumes under a directory, as the
/// kubelet would materialise them, so that a sandbox can bind them or a job script can reach them.
public struct VolumeMaterializer: Sendable {
    /// Whether `hostPath` volumes are allowed (off by default: they reach outside the pod).
    public var allowHostPath: Bool

    /// Creates a materializer.
    public init(allowHostPath: Bool = false) { self.allowHostPath = allowHostPath }

    /// Materialises every volume of `submission`'s pod under `directory/<volume name>`.
    public func materialize(_ submission: Weft_Kubelet_V1_PodSubmission, under directory: String) throws -> [String: MaterializedVolume] {
        let fm = FileManager.default
        let configMaps = Dictionary(submission.configMaps.map { ($0.metadata.name, $0) }, uniquingKeysWith: { a, _ in a })
        let secrets = Dictionary(submission.secrets.map { ($0.metadata.name, $0) }, uniquingKeysWith: { a, _ in a })
        let projectedData = Dictionary(submission.projectedVolumes.map { ($0.volumeName, $0) }, uniquingKeysWith: { a, _ in a })
        var result: [String: MaterializedVolume] = [:]
        for volume in submission.pod.spec.volumes {
            let dir = directory + "/" + volume.name
            switch volume.source {
            case .emptyDir?:
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
                result[volume.name] = MaterializedVolume(hostPath: dir, readOnly: false)
            case .configMap(let source)?:
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
                if let cm = configMaps[source.name] {
                    try write(entries: entries(of: cm), items: source.items, defaultMode: source.hasDefaultMode ? source.defaultMode : 0o644,
                              into: dir, what: "ConfigMap \(source.name)", optional: source.allowMissing)
                } else if !source.allowMissing {
                    throw PodConfigError("configmap \"\(source.name)\" not found (volume \(volume.name))")
                }
                result[volume.name] = MaterializedVolume(hostPath: dir, readOnly: true)
            case .secret(let source)?:
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
                if let secret = secrets[source.secretName] {
                    try write(entries: secret.data.mapValues { [UInt8]($0) }, items: source.items, defaultMode: source.hasDefaultMode ? source.defaultMode : 0o644,
                              into: dir, what: "Secret \(source.secretName)", optional: source.allowMissing)
                } else if !source.allowMissing {
                    throw PodConfigError("secret \"\(source.secretName)\" not found (volume \(volume.name))")
                }
                result[volume.name] = MaterializedVolume(hostPath: dir, readOnly: true)
            case .projected(let source)?:
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let mode = source.hasDefaultMode ? source.defaultMode : 0o644
                for projection in source.sources {
                    switch projection.projection {
                    case .configMap(let p)?:
                        if let cm = configMaps[p.name] {
                            try write(entries: entries(of: cm), items: p.items, defaultMode: mode, into: dir, what: "ConfigMap \(p.name)", optional: p.allowMissing)
                        } else if !p.allowMissing {
                            throw PodConfigError("configmap \"\(p.name)\" not found (projected volume \(volume.name))")
                        }
                    case .secret(let p)?:
                        if let s = secrets[p.name] {
                            try write(entries: s.data.mapValues { [UInt8]($0) }, items: p.items, defaultMode: mode, into: dir, what: "Secret \(p.name)", optional: p.allowMissing)
                        } else if !p.allowMissing {
                            throw PodConfigError("secret \"\(p.name)\" not found (projected volume \(volume.name))")
                        }
                    case .downwardApi(let d)?:
                        for item in d.items where item.hasFieldRef {
                            let value = try FieldPaths.value(of: item.fieldRef.fieldPath, in: submission.pod)
                            try writeFile(dir + "/" + item.path, Array(value.utf8), mode: item.hasMode ? item.mode : mode)
                        }
                    case .serviceAccountToken?, nil:
                        break  // Tokens come materialised in projected_volumes below.
                    }
                }
                if let data = projectedData[volume.name] {
                    for (path, bytes) in data.files.sorted(by: { $0.key < $1.key }) {
                        guard PodNames.isRelativePath(path) else { throw PodConfigError("projected file path \"\(path)\" in volume \(volume.name) is not a relative path") }
                        try writeFile(dir + "/" + path, [UInt8](bytes), mode: data.modes[path] ?? mode)
                    }
                }
                result[volume.name] = MaterializedVolume(hostPath: dir, readOnly: true)
            case .hostPath(let source)?:
                guard allowHostPath else { throw PodConfigError("hostPath volume \(volume.name) is not allowed by this sidecar") }
                guard source.path.hasPrefix("/") else { throw PodConfigError("hostPath \"\(source.path)\" is not absolute") }
                var isDir: ObjCBool = false
                let exists = fm.fileExists(atPath: source.path, isDirectory: &isDir)
                switch source.pathType {
                case .directoryOrCreate: if !exists { try fm.createDirectory(atPath: source.path, withIntermediateDirectories: true) }
                case .fileOrCreate: if !exists { _ = fm.createFile(atPath: source.path, contents: nil) }
                case .directory: guard exists, isDir.boolValue else { throw PodConfigError("hostPath \(source.path) is not a directory") }
                case .file: guard exists, !isDir.boolValue else { throw PodConfigError("hostPath \(source.path) is not a file") }
                default: guard exists else { throw PodConfigError("hostPath \(source.path) does not exist") }
                }
                result[volume.name] = MaterializedVolume(hostPath: source.path, readOnly: false)
            case .persistentVolumeClaim(let c)?:
                throw PodConfigError("persistentVolumeClaim \(c.claimName) (volume \(volume.name)) is not supported by this sidecar")
            case nil:
                throw PodConfigError("volume \(volume.name) has no source")
            }
        }
        return result
    }

    private func entries(of cm: Weft_Kubelet_V1_ConfigMap) -> [String: [UInt8]] {
        var all = cm.binaryData.mapValues { [UInt8]($0) }
        for (k, v) in cm.data { all[k] = Array(v.utf8) }
        return all
    }

    private func write(entries: [String: [UInt8]], items: [Weft_Kubelet_V1_KeyToPath], defaultMode: Int32, into dir: String, what: String, optional: Bool) throws {
        if items.isEmpty {
            for (key, value) in entries {
                guard PodNames.isDataKey(key) else { throw PodConfigError("\(what) has key \"\(key)\" that is not a valid file name") }
                try writeFile(dir + "/" + key, value, mode: defaultMode)
            }
            return
        }
        for item in items {
            guard let value = entries[item.key] else {
                if optional { continue }
                throw PodConfigError("\(what) has no key \"\(item.key)\"")
            }
            guard PodNames.isRelativePath(item.path) else { throw PodConfigError("\(what): path \"\(item.path)\" is not relative") }
            try writeFile(dir + "/" + item.path, value, mode: item.hasMode ? item.mode : defaultMode)
        }
    }

    private func writeFile(_ path: String, _ bytes: [UInt8], mode: Int32) throws {
        let fm = FileManager.default
        let parent = (path as NSString).deletingLastPathComponent
        try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
        if fm.fileExists(atPath: path) { try fm.removeItem(atPath: path) }
        guard fm.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: Int(mode & 0o777)]) else {
            throw PodConfigError("cannot write \(path)", reason: "RunContainerError")
        }
    }
}

/// Values of the downward API's field paths for a pod (`metadata.name`, `metadata.labels['k']`, …).
public enum FieldPaths {
    /// The value of `path` in `pod`; throws ``PodConfigError`` for a path Kubernetes does not define.
    public static func value(of path: String, in pod: Weft_Kubelet_V1_Pod) throws -> String {
        let m = pod.metadata
        switch path {
        case "metadata.name": return m.name
        case "metadata.namespace": return m.namespace
        case "metadata.uid": return m.uid
        case "spec.nodeName": return pod.spec.nodeName
        case "spec.serviceAccountName": return pod.spec.serviceAccountName
        case "status.hostIP", "status.podIP", "status.podIPs", "status.hostIPs": return "127.0.0.1"
        case "metadata.labels": return m.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: "\n")
        case "metadata.annotations": return m.annotations.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: "\n")
        default:
            for (prefix, map) in [("metadata.labels['", m.labels), ("metadata.annotations['", m.annotations)] where path.hasPrefix(prefix) && path.hasSuffix("']") {
                return map[String(path.dropFirst(prefix.count).dropLast(2))] ?? ""
            }
            throw PodConfigError("unsupported fieldRef \"\(path)\"")
        }
    }
}
