import Foundation
import Gen
import Yams

/// The objects of one or more manifests: pods and the ConfigMaps and Secrets they may use.
public struct ManifestSet: Sendable {
    /// Pods, in file order.
    public var pods: [Weft_Kubelet_V1_Pod] = []
    /// ConfigMaps.
    public var configMaps: [Weft_Kubelet_V1_ConfigMap] = []
    /// Secrets.
    public var secrets: [Weft_Kubelet_V1_Secret] = []

    /// Creates an empty set.
    public init() {}

    /// Adds every object of `other`.
    public mutating func merge(_ other: ManifestSet) {
        pods += other.pods
        configMaps += other.configMaps
        secrets += other.secrets
    }

    /// Each pod with the ConfigMaps and Secrets of its namespace (all of them: the kubelet API
    /// checks that the ones the pod needs are there).
    public func submissions() -> [Weft_Kubelet_V1_PodSubmission] {
        pods.map { pod in
            var s = Weft_Kubelet_V1_PodSubmission()
            s.pod = pod
            s.configMaps = configMaps.filter { $0.metadata.namespace == pod.metadata.namespace }
            s.secrets = secrets.filter { $0.metadata.namespace == pod.metadata.namespace }
            return s
        }
    }
}

/// Reads Kubernetes manifests (YAML, several documents, or JSON; `Pod`, `ConfigMap`, `Secret` and
/// `List` kinds) into the kubelet IDL. Fields Weft does not model (probes, affinity, …) are ignored;
/// a field of the wrong type or an unknown enum value is an error naming file, line and field.
public enum ManifestDecoder {
    /// Decodes every document of `text`; `file` names it in errors.
    public static func decode(_ text: String, file: String, defaultNamespace: String = "default") throws(ManifestError) -> ManifestSet {
        var set = ManifestSet()
        var documents: [Node] = []
        do {
            // compose_all keeps a parse error in the sequence instead of throwing it.
            var sequence = try Yams.compose_all(yaml: text)
            while let doc = sequence.next() { documents.append(doc) }
            if let error = sequence.error { throw error }
        } catch let e as YamlError {
            throw yamlError(e, file: file)
        } catch {
            throw ManifestError(file: file, line: 0, message: "\(error)")
        }
        for doc in documents {
            try decodeObject(ManifestNode(node: doc, path: "", file: file), into: &set, defaultNamespace: defaultNamespace)
        }
        return set
    }

    static func yamlError(_ e: YamlError, file: String) -> ManifestError {
        switch e {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            return ManifestError(file: file, line: mark.line, column: mark.column, message: [context?.text, problem].compactMap { $0 }.joined(separator: " "))
        case .composer(let context, let problem, let mark, _):
            return ManifestError(file: file, line: mark.line, column: mark.column, message: [context?.text, problem].compactMap { $0 }.joined(separator: " "))
        default:
            return ManifestError(file: file, line: 0, message: "\(e)")
        }
    }

    private static func decodeObject(_ n: ManifestNode, into set: inout ManifestSet, defaultNamespace: String) throws(ManifestError) {
        if n.isNull { return }
        guard n.node.mapping != nil else { throw n.error("a manifest must be a mapping with apiVersion and kind") }
        guard let kindNode = n["kind"] else { throw n.error("the object has no kind") }
        let kind = try kindNode.string()
        switch kind {
        case "Pod": set.pods.append(try pod(n, defaultNamespace: defaultNamespace))
        case "ConfigMap": set.configMaps.append(try configMap(n, defaultNamespace: defaultNamespace))
        case "Secret": set.secrets.append(try secret(n, defaultNamespace: defaultNamespace))
        case "List", "PodList", "ConfigMapList", "SecretList":
            for item in try n.list("items") { try decodeObject(item, into: &set, defaultNamespace: defaultNamespace) }
        default:
            throw kindNode.error("kind \(kind) is not supported (Pod, ConfigMap, Secret, List)")
        }
    }

    // MARK: Objects

    static func metadata(_ n: ManifestNode?, defaultNamespace: String, what: String, parent: ManifestNode) throws(ManifestError) -> Weft_Kubelet_V1_ObjectMeta {
        guard let n else { throw parent.error("\(what) has no metadata") }
        var m = Weft_Kubelet_V1_ObjectMeta()
        m.name = try n.string("name")
        guard !m.name.isEmpty else { throw n.error("\(what) has no name") }
        m.namespace = try n.string("namespace")
        if m.namespace.isEmpty { m.namespace = defaultNamespace }
        m.uid = try n.string("uid")
        m.labels = try n.stringMap("labels")
        m.annotations = try n.stringMap("annotations")
        m.resourceVersion = try n.string("resourceVersion")
        if let t = n["creationTimestamp"] { m.creationTime = try timestamp(t) }
        if let t = n["deletionTimestamp"] { m.deletionTime = try timestamp(t) }
        for o in try n.list("ownerReferences") {
            var r = Weft_Kubelet_V1_OwnerReference()
            r.apiVersion = try o.string("apiVersion")
            r.kind = try o.string("kind")
            r.name = try o.string("name")
            r.uid = try o.string("uid")
            r.controller = try o.bool("controller")
            m.ownerReferences.append(r)
        }
        return m
    }

    static func timestamp(_ n: ManifestNode) throws(ManifestError) -> Google_Protobuf_Timestamp {
        guard let t = KubernetesTime.parse(try n.string()) else { throw n.error("expected an RFC 3339 time") }
        return t
    }

    static func configMap(_ n: ManifestNode, defaultNamespace: String) throws(ManifestError) -> Weft_Kubelet_V1_ConfigMap {
        var cm = Weft_Kubelet_V1_ConfigMap()
        cm.metadata = try metadata(n["metadata"], defaultNamespace: defaultNamespace, what: "the ConfigMap", parent: n)
        cm.data = try n.stringMap("data")
        if let b = n["binaryData"] {
            for (k, v) in try b.entries() {
                guard let data = Data(base64Encoded: try v.string().filter { !$0.isWhitespace }) else { throw v.error("binaryData values must be base64") }
                cm.binaryData[k] = data
            }
        }
        return cm
    }

    static func secret(_ n: ManifestNode, defaultNamespace: String) throws(ManifestError) -> Weft_Kubelet_V1_Secret {
        var s = Weft_Kubelet_V1_Secret()
        s.metadata = try metadata(n["metadata"], defaultNamespace: defaultNamespace, what: "the Secret", parent: n)
        s.secretType = try n.string("type")
        if s.secretType.isEmpty { s.secretType = "Opaque" }
        if let d = n["data"] {
            for (k, v) in try d.entries() {
                guard let data = Data(base64Encoded: try v.string().filter { !$0.isWhitespace }) else { throw v.error("Secret data values must be base64 (use stringData for plain text)") }
                s.data[k] = data
            }
        }
        for (k, v) in try n.stringMap("stringData") { s.data[k] = Data(v.utf8) }
        return s
    }

    static func pod(_ n: ManifestNode, defaultNamespace: String) throws(ManifestError) -> Weft_Kubelet_V1_Pod {
        var pod = Weft_Kubelet_V1_Pod()
        pod.metadata = try metadata(n["metadata"], defaultNamespace: defaultNamespace, what: "the Pod", parent: n)
        guard let s = n["spec"] else { throw n.error("the Pod has no spec") }
        var spec = Weft_Kubelet_V1_PodSpec()
        spec.initContainers = try s.list("initContainers").map { c throws(ManifestError) in try container(c) }
        spec.containers = try s.list("containers").map { c throws(ManifestError) in try container(c) }
        guard !spec.containers.isEmpty else { throw s.error("the Pod has no containers") }
        spec.volumes = try s.list("volumes").map { v throws(ManifestError) in try volume(v) }
        if let r = s["restartPolicy"] {
            switch try r.string() {
            case "Always": spec.restartPolicy = .always
            case "OnFailure": spec.restartPolicy = .onFailure
            case "Never": spec.restartPolicy = .never
            case let other: throw r.error("restartPolicy \"\(other)\" is not Always, OnFailure or Never")
            }
        } else {
            spec.restartPolicy = .always
        }
        spec.nodeSelector = try s.stringMap("nodeSelector")
        for t in try s.list("tolerations") {
            var tol = Weft_Kubelet_V1_Toleration()
            tol.key = try t.string("key")
            tol.value = try t.string("value")
            switch try t.string("operator") {
            case "", "Equal": tol.matchOperator = .equal
            case "Exists": tol.matchOperator = .exists
            case let other: throw t["operator"]?.error("operator \"\(other)\" is not Equal or Exists") ?? t.error("bad operator")
            }
            tol.effect = try taintEffect(t["effect"])
            if let secs = t["tolerationSeconds"] { tol.tolerationDuration = .init(seconds: Double(try secs.int())) }
            spec.tolerations.append(tol)
        }
        spec.nodeName = try s.string("nodeName")
        spec.serviceAccountName = try s.string("serviceAccountName")
        if let sc = s["securityContext"] {
            var p = Weft_Kubelet_V1_PodSecurityContext()
            if let v = sc["runAsUser"] { p.runAsUser = try v.int() }
            if let v = sc["runAsGroup"] { p.runAsGroup = try v.int() }
            if let v = sc["runAsNonRoot"] { p.runAsNonRoot = try v.bool() }
            if let v = sc["fsGroup"] { p.fsGroup = try v.int() }
            for g in try sc.list("supplementalGroups") { p.supplementalGroups.append(try g.int()) }
            spec.securityContext = p
        }
        if let g = s["terminationGracePeriodSeconds"] { spec.terminationGracePeriod = .init(seconds: Double(try g.int())) }
        if let d = s["activeDeadlineSeconds"] { spec.activeDeadline = .init(seconds: Double(try d.int())) }
        spec.hostname = try s.string("hostname")
        for secret in try s.list("imagePullSecrets") { spec.imagePullSecretNames.append(try secret.string("name")) }
        spec.hostNetwork = try s.bool("hostNetwork")
        spec.priorityClassName = try s.string("priorityClassName")
        if let p = s["priority"] { spec.priority = Int32(clamping: try p.int()) }
        spec.runtimeClassName = try s.string("runtimeClassName")
        pod.spec = spec
        return pod
    }

    static func taintEffect(_ n: ManifestNode?) throws(ManifestError) -> Weft_Kubelet_V1_TaintEffect {
        guard let n else { return .unspecified }
        switch try n.string() {
        case "": return .unspecified
        case "NoSchedule": return .noSchedule
        case "PreferNoSchedule": return .preferNoSchedule
        case "NoExecute": return .noExecute
        case let other: throw n.error("effect \"\(other)\" is not NoSchedule, PreferNoSchedule or NoExecute")
        }
    }

    static func container(_ n: ManifestNode) throws(ManifestError) -> Weft_Kubelet_V1_Container {
        var c = Weft_Kubelet_V1_Container()
        c.name = try n.string("name")
        guard !c.name.isEmpty else { throw n.error("the container has no name") }
        c.image = try n.string("image")
        if let p = n["imagePullPolicy"] {
            switch try p.string() {
            case "Always": c.imagePullPolicy = .always
            case "IfNotPresent": c.imagePullPolicy = .ifNotPresent
            case "Never": c.imagePullPolicy = .never
            case let other: throw p.error("imagePullPolicy \"\(other)\" is not Always, IfNotPresent or Never")
            }
        }
        c.command = try n.strings("command")
        c.args = try n.strings("args")
        c.workingDir = try n.string("workingDir")
        for e in try n.list("env") {
            var v = Weft_Kubelet_V1_EnvVar()
            v.name = try e.string("name")
            guard !v.name.isEmpty else { throw e.error("an env entry has no name") }
            if let from = e["valueFrom"] {
                var src = Weft_Kubelet_V1_EnvVarSource()
                if let r = from["configMapKeyRef"] {
                    var k = Weft_Kubelet_V1_ConfigMapKeySelector()
                    k.name = try r.string("name")
                    k.key = try r.string("key")
                    k.allowMissing = try r.bool("optional")
                    src.configMapKeyRef = k
                } else if let r = from["secretKeyRef"] {
                    var k = Weft_Kubelet_V1_SecretKeySelector()
                    k.name = try r.string("name")
                    k.key = try r.string("key")
                    k.allowMissing = try r.bool("optional")
                    src.secretKeyRef = k
                } else if let r = from["fieldRef"] {
                    var f = Weft_Kubelet_V1_ObjectFieldSelector()
                    f.fieldPath = try r.string("fieldPath")
                    f.apiVersion = try r.string("apiVersion")
                    src.fieldRef = f
                } else if let r = from["resourceFieldRef"] {
                    src.resourceFieldRef = try resourceField(r)
                } else {
                    throw from.error("valueFrom needs configMapKeyRef, secretKeyRef, fieldRef or resourceFieldRef")
                }
                v.valueFrom = src
            } else {
                v.value = try e.string("value")
            }
            c.env.append(v)
        }
        for e in try n.list("envFrom") {
            var f = Weft_Kubelet_V1_EnvFromSource()
            f.prefix = try e.string("prefix")
            if let r = e["configMapRef"] {
                f.configMapName = try r.string("name")
                f.allowMissing = try r.bool("optional")
            } else if let r = e["secretRef"] {
                f.secretName = try r.string("name")
                f.allowMissing = try r.bool("optional")
            } else {
                throw e.error("envFrom needs configMapRef or secretRef")
            }
            c.envFrom.append(f)
        }
        if let r = n["resources"] {
            var req = Weft_Kubelet_V1_ResourceRequirements()
            if let l = r["limits"] { req.limits = try quantities(l) }
            if let q = r["requests"] { req.requests = try quantities(q) }
            c.resources = req
        }
        for m in try n.list("volumeMounts") {
            var vm = Weft_Kubelet_V1_VolumeMount()
            vm.name = try m.string("name")
            vm.mountPath = try m.string("mountPath")
            guard !vm.name.isEmpty, !vm.mountPath.isEmpty else { throw m.error("a volume mount needs name and mountPath") }
            vm.readOnly = try m.bool("readOnly")
            vm.subPath = try m.string("subPath")
            c.volumeMounts.append(vm)
        }
        if let sc = n["securityContext"] {
            var s = Weft_Kubelet_V1_SecurityContext()
            if let v = sc["runAsUser"] { s.runAsUser = try v.int() }
            if let v = sc["runAsGroup"] { s.runAsGroup = try v.int() }
            if let v = sc["runAsNonRoot"] { s.runAsNonRoot = try v.bool() }
            if let v = sc["privileged"] { s.privileged = try v.bool() }
            if let v = sc["readOnlyRootFilesystem"] { s.readOnlyRootFilesystem = try v.bool() }
            if let v = sc["allowPrivilegeEscalation"] { s.allowPrivilegeEscalation = try v.bool() }
            if let caps = sc["capabilities"] {
                s.capabilitiesAdd = try caps.strings("add")
                s.capabilitiesDrop = try caps.strings("drop")
            }
            c.securityContext = s
        }
        for p in try n.list("ports") {
            var port = Weft_Kubelet_V1_ContainerPort()
            port.name = try p.string("name")
            if let v = p["containerPort"] { port.containerPort = Int32(clamping: try v.int()) }
            if let v = p["hostPort"] { port.hostPort = Int32(clamping: try v.int()) }
            switch try p.string("protocol") {
            case "", "TCP": port.transportProtocol = .tcp
            case "UDP": port.transportProtocol = .udp
            case "SCTP": port.transportProtocol = .sctp
            case let other: throw p.error("protocol \"\(other)\" is not TCP, UDP or SCTP")
            }
            c.ports.append(port)
        }
        c.stdin = try n.bool("stdin")
        c.tty = try n.bool("tty")
        return c
    }

    static func resourceField(_ r: ManifestNode) throws(ManifestError) -> Weft_Kubelet_V1_ResourceFieldSelector {
        var f = Weft_Kubelet_V1_ResourceFieldSelector()
        f.containerName = try r.string("containerName")
        f.resource = try r.string("resource")
        f.divisor = try r.string("divisor")
        return f
    }

    static func quantities(_ n: ManifestNode) throws(ManifestError) -> Weft_Common_V1_ResourceQuantities {
        var q = Weft_Common_V1_ResourceQuantities()
        for (key, v) in try n.entries() {
            let text = try v.string()
            switch key {
            case "cpu":
                guard let m = Quantity.parse(text, scale: 1000) else { throw v.error("\"\(text)\" is not a CPU quantity (e.g. 500m, 2)") }
                q.cpuMillis = m
            case "memory":
                guard let b = Quantity.parse(text, scale: 1) else { throw v.error("\"\(text)\" is not a memory quantity (e.g. 128Mi, 1G)") }
                q.memoryBytes = b
            case "ephemeral-storage":
                guard let b = Quantity.parse(text, scale: 1) else { throw v.error("\"\(text)\" is not a storage quantity") }
                q.ephemeralStorageBytes = b
            case "pods":
                guard let p = Quantity.parse(text, scale: 1) else { throw v.error("\"\(text)\" is not a count") }
                q.pods = p
            default:
                if key.contains("/"), let count = Quantity.parse(text, scale: 1) {
                    q.accelerators[key] = count
                } else {
                    q.extended[key] = text
                }
            }
        }
        return q
    }

    static func keyToPaths(_ n: ManifestNode) throws(ManifestError) -> [Weft_Kubelet_V1_KeyToPath] {
        var out: [Weft_Kubelet_V1_KeyToPath] = []
        for i in try n.list("items") {
            var k = Weft_Kubelet_V1_KeyToPath()
            k.key = try i.string("key")
            k.path = try i.string("path")
            if let m = i["mode"] { k.mode = Int32(clamping: try m.int()) }
            out.append(k)
        }
        return out
    }

    static func volume(_ n: ManifestNode) throws(ManifestError) -> Weft_Kubelet_V1_Volume {
        var v = Weft_Kubelet_V1_Volume()
        v.name = try n.string("name")
        guard !v.name.isEmpty else { throw n.error("the volume has no name") }
        if let s = n["configMap"] {
            var c = Weft_Kubelet_V1_ConfigMapVolumeSource()
            c.name = try s.string("name")
            c.items = try keyToPaths(s)
            if let m = s["defaultMode"] { c.defaultMode = Int32(clamping: try m.int()) }
            c.allowMissing = try s.bool("optional")
            v.configMap = c
        } else if let s = n["secret"] {
            var c = Weft_Kubelet_V1_SecretVolumeSource()
            c.secretName = try s.string("secretName")
            c.items = try keyToPaths(s)
            if let m = s["defaultMode"] { c.defaultMode = Int32(clamping: try m.int()) }
            c.allowMissing = try s.bool("optional")
            v.secret = c
        } else if let s = n["emptyDir"] {
            var e = Weft_Kubelet_V1_EmptyDirVolumeSource()
            if try s.node.mapping != nil ? s.string("medium") == "Memory" : false { e.medium = .memory }
            if let l = s["sizeLimit"], let b = Quantity.parse(try l.string(), scale: 1) { e.sizeLimitBytes = b }
            v.emptyDir = e
        } else if let s = n["projected"] {
            var p = Weft_Kubelet_V1_ProjectedVolumeSource()
            if let m = s["defaultMode"] { p.defaultMode = Int32(clamping: try m.int()) }
            for src in try s.list("sources") {
                var proj = Weft_Kubelet_V1_VolumeProjection()
                if let c = src["configMap"] {
                    var x = Weft_Kubelet_V1_ConfigMapProjection()
                    x.name = try c.string("name")
                    x.items = try keyToPaths(c)
                    x.allowMissing = try c.bool("optional")
                    proj.configMap = x
                } else if let c = src["secret"] {
                    var x = Weft_Kubelet_V1_SecretProjection()
                    x.name = try c.string("name")
                    x.items = try keyToPaths(c)
                    x.allowMissing = try c.bool("optional")
                    proj.secret = x
                } else if let c = src["serviceAccountToken"] {
                    var x = Weft_Kubelet_V1_ServiceAccountTokenProjection()
                    x.audience = try c.string("audience")
                    x.path = try c.string("path")
                    if let e = c["expirationSeconds"] { x.expiration = .init(seconds: Double(try e.int())) }
                    proj.serviceAccountToken = x
                } else if let c = src["downwardAPI"] {
                    var x = Weft_Kubelet_V1_DownwardApiProjection()
                    for i in try c.list("items") {
                        var f = Weft_Kubelet_V1_DownwardApiFile()
                        f.path = try i.string("path")
                        if let r = i["fieldRef"] { f.fieldRef.fieldPath = try r.string("fieldPath") }
                        if let r = i["resourceFieldRef"] { f.resourceFieldRef = try resourceField(r) }
                        if let m = i["mode"] { f.mode = Int32(clamping: try m.int()) }
                        x.items.append(f)
                    }
                    proj.downwardApi = x
                } else {
                    continue  // Projections Weft does not know (clusterTrustBundle) are skipped.
                }
                p.sources.append(proj)
            }
            v.projected = p
        } else if let s = n["hostPath"] {
            var h = Weft_Kubelet_V1_HostPathVolumeSource()
            h.path = try s.string("path")
            let types: [String: Weft_Kubelet_V1_HostPathType] = [
                "": .unspecified, "DirectoryOrCreate": .directoryOrCreate, "Directory": .directory, "FileOrCreate": .fileOrCreate,
                "File": .file, "Socket": .socket, "CharDevice": .charDevice, "BlockDevice": .blockDevice,
            ]
            let t = try s.string("type")
            guard let type = types[t] else { throw s.error("hostPath type \"\(t)\" is not known") }
            h.pathType = type
            v.hostPath = h
        } else if let s = n["persistentVolumeClaim"] {
            var c = Weft_Kubelet_V1_PersistentVolumeClaimVolumeSource()
            c.claimName = try s.string("claimName")
            c.readOnly = try s.bool("readOnly")
            v.persistentVolumeClaim = c
        } else {
            throw n.error("volume \(v.name) has no source Weft supports (configMap, secret, emptyDir, projected, hostPath, persistentVolumeClaim)")
        }
        return v
    }
}
