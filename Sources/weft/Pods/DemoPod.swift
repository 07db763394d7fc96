import Foundation
import Gen
import WeftKubernetes
import WeftRPC

/// The demo of `weft up --demo`: a pod with an init container, a ConfigMap, a Secret and an
/// emptyDir, offloaded through the kubelet API over the server's own socket like any client.
enum DemoPod {
    static let manifest = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: demo-settings
        data:
          GREETING: "Hello from a ConfigMap"
          model.cfg: |
            resolution = 0.25
            steps = 3
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: demo-credentials
        stringData:
          token: not-a-real-token
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: weft-demo
          labels:
            app: weft-demo
        spec:
          restartPolicy: Never
          initContainers:
          - name: prepare
            image: host
            command: ["/bin/sh", "-c", "echo 'input prepared by the init container' > /data/input.txt"]
            volumeMounts:
            - {name: scratch, mountPath: /data}
          containers:
          - name: twin
            image: host
            command: ["/bin/sh", "-c"]
            args:
            - |
              echo "$GREETING (pod $POD_NAME on host $(hostname), in its own PID namespace)"
              echo "token is ${#TOKEN} bytes long"
              cat /data/input.txt
              for i in 1 2 3; do echo "simulation step $i of $(grep steps /config/model.cfg)"; sleep 0.2; done
            env:
            - name: GREETING
              valueFrom: {configMapKeyRef: {name: demo-settings, key: GREETING}}
            - name: TOKEN
              valueFrom: {secretKeyRef: {name: demo-credentials, key: token}}
            - name: POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
            resources:
              limits: {cpu: 500m, memory: 256Mi}
            volumeMounts:
            - {name: scratch, mountPath: /data}
            - {name: settings, mountPath: /config}
          volumes:
          - name: scratch
            emptyDir: {}
          - name: settings
            configMap: {name: demo-settings}
        """

    /// The site the demo's usage is accounted to when the configuration names none.
    static let usageSite = "DEMO"

    /// Applies the demo pod (replacing an earlier one), follows it to the end, prints its log and
    /// the accounting summary its usage produced.
    static func run(address: String, tls: Bool) async {
        func say(_ s: String) { FileHandle.standardError.write(Data("demo: \(s)\n".utf8)) }
        guard !tls else { say("skipped: the demo speaks h2c and the server uses TLS"); return }
        do {
            let transport = try HTTP2ClientTransport(target: try Up.parseTarget(address))
            defer { Task { await transport.close() } }
            let kubelet = Weft_Kubelet_V1_KubeletService.Client(transport: transport)
            let set = try ManifestDecoder.decode(manifest, file: "demo.yaml")
            guard var submission = set.submissions().first else { return }
            var ref = Weft_Kubelet_V1_PodRef()
            ref.name = submission.pod.metadata.name
            ref.namespace = submission.pod.metadata.namespace
            var delete = Weft_Kubelet_V1_DeletePodRequest()
            delete.pod = ref
            delete.gracePeriod = .init(seconds: 1)
            _ = try await kubelet.deletePod(delete)
            submission.pod.metadata.uid = UUID().uuidString.lowercased()
            var create = Weft_Kubelet_V1_CreatePodRequest()
            create.submission = submission
            let created = try await kubelet.createPod(create)
            say("applied pod/\(ref.name) (job \(created.remoteJobId)); following it")
            var watch = Weft_Kubelet_V1_WatchPodStatusesRequest()
            watch.pods = [ref]
            try await kubelet.watchPodStatuses(watch) { stream in
                var last = ""
                for try await m in stream where m.changeType != .synced {
                    let row = PodOutput.row(m.report)
                    let line = "\(row[2]) \(row[3]) \(row[7])"
                    if line != last { say("pod/\(ref.name): \(line)"); last = line }
                    if m.report.status.phase == .succeeded || m.report.status.phase == .failed { return }
                }
            }
            var logs = Weft_Kubelet_V1_GetContainerLogsRequest()
            logs.pod = ref
            logs.containerName = "twin"
            say("logs of pod/\(ref.name):")
            try await kubelet.getContainerLogs(logs) { stream in
                for try await chunk in stream { FileHandle.standardError.write(chunk.chunk.data) }
            }
            // The finished pod becomes an APEL job record (site DEMO) within moments.
            let accounting = Weft_Accounting_V1_AccountingService.Client(transport: transport)
            var query = Weft_Accounting_V1_QuerySummariesRequest()
            query.filter.sites = [usageSite]
            query.groupBy = [.site, .month]
            for _ in 0..<50 {
                if let row = try await accounting.querySummaries(query).rows.first, case .job(let job)? = row.usage {
                    say("accounted: site \(row.key.site), \(row.key.year)-\(row.key.month < 10 ? "0" : "")\(row.key.month): \(job.numberOfJobs) job(s), \(job.coreSeconds) core-seconds, \(job.cpuDuration.seconds) CPU seconds")
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            say("done; try: weft pods list, weft pods logs weft-demo --timestamps, weft accounting query --group-by site,month")
        } catch {
            say("failed: \(error)")
        }
    }
}

import WeftHTTP2
