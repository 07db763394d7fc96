import Gen
import WeftKubernetes

/// The merge patch that sets a pod's status in Kubernetes from a kubelet API status report.
///
/// A JSON merge patch keeps fields it does not mention, so pod-level fields Weft owns but did
/// not report (`reason`, `message`, `podIP`, `podIPs`) are sent as null to clear them; a condition
/// whose status did not change keeps its previous `lastTransitionTime`, as a kubelet's does.
public enum StatusPatch {
    /// `{"status": …}` for `status`, with `hostIP` set to the node's address.
    public static func make(_ status: Weft_Kubelet_V1_PodStatus, spec: Weft_Kubelet_V1_PodSpec?, hostIP: String,
                            previous: JSONValue? = nil) -> JSONValue {
        var s = status
        if !hostIP.isEmpty { s.hostIp = hostIP }
        guard case .object(var out) = KubernetesStatusEncoder.podStatus(s, spec: spec) else { return ["status": .null] }
        for key in ["reason", "message", "podIP", "podIPs", "startTime"] where out[key] == nil { out[key] = .null }
        if let old = previous?["status", "conditions"]?.arrayValue, let new = out["conditions"]?.arrayValue {
            out["conditions"] = .array(new.map { c in
                guard case .object(var o) = c,
                      let before = old.first(where: { $0["type"] == c["type"] }), before["status"] == c["status"],
                      let since = before["lastTransitionTime"]
                else { return c }
                o["lastTransitionTime"] = since
                return .object(o)
            })
        }
        return ["status": .object(out)]
    }

    /// The patch for a pod that cannot start because a ConfigMap or Secret is missing: Pending,
    /// with every container waiting in `CreateContainerConfigError` (what a kubelet reports).
    public static func configError(_ message: String, spec: Weft_Kubelet_V1_PodSpec, hostIP: String) -> JSONValue {
        var status = Weft_Kubelet_V1_PodStatus()
        status.phase = .pending
        status.reason = "CreateContainerConfigError"
        status.message = message
        func waiting(_ c: Weft_Kubelet_V1_Container) -> Weft_Kubelet_V1_ContainerStatus {
            var s = Weft_Kubelet_V1_ContainerStatus()
            s.name = c.name
            s.image = c.image
            var w = Weft_Kubelet_V1_ContainerStateWaiting()
            w.reason = "CreateContainerConfigError"
            w.message = message
            s.state.waiting = w
            return s
        }
        status.initContainerStatuses = spec.initContainers.map(waiting)
        status.containerStatuses = spec.containers.map(waiting)
        return make(status, spec: spec, hostIP: hostIP)
    }

    /// The patch for a pod Weft cannot run at all: Failed with `reason` and `message`.
    public static func failed(reason: String, message: String, spec: Weft_Kubelet_V1_PodSpec?, hostIP: String) -> JSONValue {
        var status = Weft_Kubelet_V1_PodStatus()
        status.phase = .failed
        status.reason = reason
        status.message = message
        return make(status, spec: spec, hostIP: hostIP)
    }
}
