import Foundation
import Gen
import WeftKubernetes
import WeftPodKit
import WeftProtobuf
import Yams

/// Printing pods as tables, canonical proto3 JSON or YAML.
enum PodOutput {
    static let header = ["NAMESPACE", "NAME", "PHASE", "READY", "RESTARTS", "AGE", "JOB", "REASON"]

    /// One table row for a pod status.
    static func row(_ report: Weft_Kubelet_V1_PodStatusReport, now: Date = Date()) -> [String] {
        let s = report.status
        let ready = s.containerStatuses.filter(\.ready).count
        let restarts = s.containerStatuses.reduce(Int32(0)) { $0 + $1.restartCount }
        let age = s.hasStartTime ? duration(now.timeIntervalSince(s.startTime.date)) : "-"
        return [report.pod.namespace, report.pod.name, phase(s.phase), "\(ready)/\(s.containerStatuses.count)", "\(restarts)", age,
                report.remoteJobId.isEmpty ? "-" : report.remoteJobId, reason(s)]
    }

    /// Kubernetes' phase names.
    static func phase(_ p: Weft_Kubelet_V1_PodPhase) -> String {
        switch p {
        case .pending: return "Pending"
        case .running: return "Running"
        case .succeeded: return "Succeeded"
        case .failed: return "Failed"
        case .unknown: return "Unknown"
        default: return "-"
        }
    }

    /// The most telling reason: the pod's, else the first container's waiting or terminated reason with its exit code.
    static func reason(_ s: Weft_Kubelet_V1_PodStatus) -> String {
        if !s.reason.isEmpty { return s.message.isEmpty ? s.reason : "\(s.reason): \(s.message)" }
        for c in s.initContainerStatuses + s.containerStatuses {
            switch c.state.state {
            case .waiting(let w)? where !w.reason.isEmpty && w.reason != "ContainerCreating" && w.reason != "PodInitializing":
                return w.message.isEmpty ? "\(c.name): \(w.reason)" : "\(c.name): \(w.reason): \(w.message)"
            case .terminated(let t)? where t.exitCode != 0:
                return "\(c.name): \(t.reason) (exit \(t.exitCode))"
            default: continue
            }
        }
        return ""
    }

    static func duration(_ seconds: TimeInterval) -> String {
        let s = max(0, Int(seconds))
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }

    /// Left-aligned columns separated by three spaces, as kubectl prints them; no header line when `header` is empty.
    static func table(_ rows: [[String]], header: [String] = header) -> String {
        let all = header.isEmpty ? rows : [header] + rows
        var widths = [Int](repeating: 0, count: all.map(\.count).max() ?? 0)
        for r in all { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return all.map { r in
            r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "   ")
        }.joined(separator: "\n") + "\n"
    }

    /// JSONSerialization's NSNumbers as the Bool, Int or Double they are, so YAML prints `true` and `3`.
    static func yamlValue(_ v: Any) -> Any {
        switch v {
        case let d as [String: Any]: return d.mapValues(yamlValue)
        case let a as [Any]: return a.map(yamlValue)
        case let n as NSNumber:
            switch String(cString: n.objCType) {
            case "c", "B": return n.boolValue
            case "d", "f": return n.doubleValue
            default: return n.int64Value
            }
        default: return v
        }
    }

    /// A message as JSON (proto3 canonical) or YAML of the same object.
    static func render(_ message: some ProtoMessage, as format: OutputFormat) throws -> String {
        let json = try message.jsonString()
        switch format {
        case .json, .table:
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8))
            let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            return String(decoding: pretty, as: UTF8.self) + "\n"
        case .yaml:
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8))
            return try Yams.dump(object: yamlValue(object), sortKeys: true)
        }
    }
}
