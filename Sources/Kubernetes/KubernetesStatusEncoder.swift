import Gen

/// Writes Weft's pod status (`weft.kubelet.v1.PodStatus`) as Kubernetes core/v1 `PodStatus` JSON,
/// the body a kubelet sends to `PATCH /api/v1/namespaces/NS/pods/NAME/status`.
///
/// With the pod's spec, every container of the spec gets a status in spec order (containers the
/// backend has not reported yet are `waiting` with `ContainerCreating`, or `PodInitializing` while
/// init containers run) and empty images are taken from the spec. `PodScheduled` is always
/// present: a merge patch replaces the whole `conditions` list, and a pod on a node is scheduled.
public enum KubernetesStatusEncoder {
    /// The PodStatus object. Empty strings and unset times are left out.
    public static func podStatus(_ status: Weft_Kubelet_V1_PodStatus, spec: Weft_Kubelet_V1_PodSpec? = nil) -> JSONValue {
        var out: [String: JSONValue] = ["phase": .string(phase(status.phase))]
        var conditions = status.conditions
        if !conditions.contains(where: { $0.conditionType == .podScheduled }) {
            var scheduled = Weft_Kubelet_V1_PodCondition()
            scheduled.conditionType = .podScheduled
            scheduled.status = .isTrue
            if status.hasStartTime { scheduled.lastTransitionTime = status.startTime }
            conditions.insert(scheduled, at: 0)
        }
        out["conditions"] = .array(conditions.filter { $0.conditionType != .unspecified }.map(condition))
        if !status.message.isEmpty { out["message"] = .string(status.message) }
        if !status.reason.isEmpty { out["reason"] = .string(status.reason) }
        if !status.hostIp.isEmpty {
            out["hostIP"] = .string(status.hostIp)
            out["hostIPs"] = [["ip": .string(status.hostIp)]]
        }
        let podIPs = status.podIps.isEmpty ? (status.podIp.isEmpty ? [] : [status.podIp]) : status.podIps
        if let first = podIPs.first {
            out["podIP"] = .string(status.podIp.isEmpty ? first : status.podIp)
            out["podIPs"] = .array(podIPs.map { ["ip": .string($0)] })
        }
        if status.hasStartTime { out["startTime"] = .string(KubernetesTime.format(status.startTime)) }
        let initializing = spec.map { s in
            s.initContainers.contains { c in
                !status.initContainerStatuses.contains { s in
                    guard s.name == c.name, case .terminated(let t)? = s.state.state else { return false }
                    return t.exitCode == 0
                }
            }
        } ?? false
        let initStatuses = complete(status.initContainerStatuses, spec: spec?.initContainers, waitingReason: "PodInitializing")
        if !initStatuses.isEmpty { out["initContainerStatuses"] = .array(initStatuses.map(containerStatus)) }
        let statuses = complete(status.containerStatuses, spec: spec?.containers, waitingReason: initializing ? "PodInitializing" : "ContainerCreating")
        out["containerStatuses"] = .array(statuses.map(containerStatus))
        return .object(out)
    }

    /// Kubernetes' phase name: `Pending`, `Running`, `Succeeded`, `Failed` or `Unknown`.
    public static func phase(_ p: Weft_Kubelet_V1_PodPhase) -> String {
        switch p {
        case .running: return "Running"
        case .succeeded: return "Succeeded"
        case .failed: return "Failed"
        case .unknown: return "Unknown"
        default: return "Pending"
        }
    }

    /// Kubernetes' condition type name, e.g. `ContainersReady`.
    public static func conditionType(_ t: Weft_Kubelet_V1_PodConditionType) -> String {
        switch t {
        case .podScheduled: return "PodScheduled"
        case .initialized: return "Initialized"
        case .containersReady: return "ContainersReady"
        case .ready: return "Ready"
        case .podReadyToStartContainers: return "PodReadyToStartContainers"
        default: return "Unknown"
        }
    }

    /// One PodCondition.
    public static func condition(_ c: Weft_Kubelet_V1_PodCondition) -> JSONValue {
        var out: [String: JSONValue] = [
            "type": .string(conditionType(c.conditionType)),
            "status": .string(c.status == .isTrue ? "True" : c.status == .isFalse ? "False" : "Unknown"),
            "lastProbeTime": .null,
        ]
        if c.hasLastProbeTime { out["lastProbeTime"] = .string(KubernetesTime.format(c.lastProbeTime)) }
        if c.hasLastTransitionTime { out["lastTransitionTime"] = .string(KubernetesTime.format(c.lastTransitionTime)) }
        if !c.reason.isEmpty { out["reason"] = .string(c.reason) }
        if !c.message.isEmpty { out["message"] = .string(c.message) }
        return .object(out)
    }

    /// One ContainerStatus.
    public static func containerStatus(_ s: Weft_Kubelet_V1_ContainerStatus) -> JSONValue {
        var out: [String: JSONValue] = [
            "name": .string(s.name),
            "image": .string(s.image),
            "imageID": .string(s.imageId),
            "ready": .bool(s.ready),
            "restartCount": .int(Int64(s.restartCount)),
            "started": .bool(s.hasStarted ? s.started : hasStarted(s.state)),
            "state": containerState(s.state),
            "lastState": s.hasLastTerminationState ? containerState(s.lastTerminationState) : [:],
        ]
        if !s.containerId.isEmpty { out["containerID"] = .string(s.containerId) }
        return .object(out)
    }

    /// A ContainerState: `{"waiting": …}`, `{"running": …}`, `{"terminated": …}`, or `{}` when unset.
    public static func containerState(_ s: Weft_Kubelet_V1_ContainerState) -> JSONValue {
        switch s.state {
        case .waiting(let w)?:
            var o: [String: JSONValue] = [:]
            if !w.reason.isEmpty { o["reason"] = .string(w.reason) }
            if !w.message.isEmpty { o["message"] = .string(w.message) }
            return ["waiting": .object(o)]
        case .running(let r)?:
            var o: [String: JSONValue] = [:]
            if r.hasStartedAt { o["startedAt"] = .string(KubernetesTime.format(r.startedAt)) }
            return ["running": .object(o)]
        case .terminated(let t)?:
            var o: [String: JSONValue] = ["exitCode": .int(Int64(t.exitCode))]
            if t.signal != 0 { o["signal"] = .int(Int64(t.signal)) }
            if !t.reason.isEmpty { o["reason"] = .string(t.reason) }
            if !t.message.isEmpty { o["message"] = .string(t.message) }
            if t.hasStartedAt { o["startedAt"] = .string(KubernetesTime.format(t.startedAt)) }
            if t.hasFinishedAt { o["finishedAt"] = .string(KubernetesTime.format(t.finishedAt)) }
            if !t.containerId.isEmpty { o["containerID"] = .string(t.containerId) }
            return ["terminated": .object(o)]
        case nil:
            return [:]
        }
    }

    private static func hasStarted(_ s: Weft_Kubelet_V1_ContainerState) -> Bool {
        switch s.state {
        case .running?, .terminated?: return true
        default: return false
        }
    }

    /// The reported statuses in spec order, with a waiting status for each container not reported.
    private static func complete(_ reported: [Weft_Kubelet_V1_ContainerStatus], spec: [Weft_Kubelet_V1_Container]?, waitingReason: String) -> [Weft_Kubelet_V1_ContainerStatus] {
        guard let spec else { return reported }
        var byName: [String: Weft_Kubelet_V1_ContainerStatus] = [:]
        for s in reported where byName[s.name] == nil { byName[s.name] = s }
        var out: [Weft_Kubelet_V1_ContainerStatus] = []
        for c in spec {
            var s = byName.removeValue(forKey: c.name) ?? {
                var w = Weft_Kubelet_V1_ContainerStatus()
                w.name = c.name
                var waiting = Weft_Kubelet_V1_ContainerStateWaiting()
                waiting.reason = waitingReason
                w.state.waiting = waiting
                return w
            }()
            if s.image.isEmpty { s.image = c.image }
            out.append(s)
        }
        // Statuses for containers the spec does not name are kept, after the spec's.
        out += reported.filter { byName[$0.name] != nil }
        return out
    }
}
