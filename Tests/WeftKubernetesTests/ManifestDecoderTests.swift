import Foundation
import Gen
import Testing
import WeftKubernetes

struct ManifestDecoderTests {
    static let manifest = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings, namespace: sim}
        data: {A: "1"}
        binaryData: {raw: AAEC}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: creds, namespace: sim}
        data: {password: aHVudGVyMg==}
        stringData: {user: alice}
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: twin
          namespace: sim
          uid: 1234-abcd
          labels: {app: twin}
          annotations: {slurm-job.vk.io/flags: "--partition=gpu"}
        spec:
          restartPolicy: OnFailure
          terminationGracePeriodSeconds: 5
          nodeSelector: {kubernetes.io/role: agent}
          tolerations:
          - {key: virtual-node.interlink/no-schedule, operator: Exists, effect: NoSchedule}
          securityContext: {runAsUser: 1000}
          initContainers:
          - {name: init, image: busybox, command: [sh, -c, "true"]}
          containers:
          - name: main
            image: ghcr.io/intertwin/twin:1.0
            imagePullPolicy: IfNotPresent
            command: [python3]
            args: [run.py, --steps, "3"]
            workingDir: /app
            env:
            - {name: PLAIN, value: x}
            - name: FROM_CM
              valueFrom: {configMapKeyRef: {name: settings, key: A, optional: true}}
            - name: FROM_SECRET
              valueFrom: {secretKeyRef: {name: creds, key: password}}
            - name: NODE
              valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
            - name: LIMIT
              valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}
            envFrom:
            - {prefix: S_, secretRef: {name: creds}}
            resources:
              requests: {cpu: 250m, memory: 64Mi}
              limits: {cpu: "2", memory: 1Gi, nvidia.com/gpu: 1, example.org/widget: small}
            volumeMounts:
            - {name: cfg, mountPath: /etc/twin, readOnly: true}
            - {name: scratch, mountPath: /scratch, subPath: run1}
            securityContext: {runAsUser: 1001, capabilities: {drop: [ALL]}}
            ports: [{containerPort: 8080, protocol: TCP}]
          volumes:
          - name: cfg
            configMap: {name: settings, items: [{key: A, path: a.txt, mode: 0400}]}
          - {name: scratch, emptyDir: {medium: Memory, sizeLimit: 1Gi}}
          - name: token
            projected:
              sources:
              - serviceAccountToken: {path: token, expirationSeconds: 3600}
              - downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}
          - {name: host, hostPath: {path: /data, type: DirectoryOrCreate}}
        """

    @Test func decodesPodsConfigMapsAndSecrets() throws {
        let set = try ManifestDecoder.decode(Self.manifest, file: "twin.yaml")
        #expect(set.configMaps.count == 1 && set.secrets.count == 1 && set.pods.count == 1)
        #expect(set.configMaps[0].binaryData["raw"] == Data([0, 1, 2]))
        #expect(set.secrets[0].data["password"] == Data("hunter2".utf8) && set.secrets[0].data["user"] == Data("alice".utf8))
        let pod = set.pods[0]
        #expect(pod.metadata.uid == "1234-abcd" && pod.metadata.annotations["slurm-job.vk.io/flags"] == "--partition=gpu")
        #expect(pod.spec.restartPolicy == .onFailure && pod.spec.terminationGracePeriod.seconds == 5)
        #expect(pod.spec.tolerations[0].matchOperator == .exists && pod.spec.tolerations[0].effect == .noSchedule)
        #expect(pod.spec.securityContext.runAsUser == 1000)
        let c = pod.spec.containers[0]
        #expect(c.imagePullPolicy == .ifNotPresent && c.args == ["run.py", "--steps", "3"] && c.workingDir == "/app")
        #expect(c.resources.requests.cpuMillis == 250 && c.resources.requests.memoryBytes == 64 << 20)
        #expect(c.resources.limits.cpuMillis == 2000 && c.resources.limits.memoryBytes == 1 << 30)
        #expect(c.resources.limits.accelerators["nvidia.com/gpu"] == 1 && c.resources.limits.extended["example.org/widget"] == "small")
        #expect(c.env.count == 5 && c.env[1].valueFrom.configMapKeyRef.allowMissing && c.env[4].valueFrom.resourceFieldRef.divisor == "1Mi")
        #expect(c.envFrom[0].secretName == "creds" && c.envFrom[0].prefix == "S_")
        #expect(c.volumeMounts[1].subPath == "run1" && c.securityContext.runAsUser == 1001 && c.securityContext.capabilitiesDrop == ["ALL"])
        let v = pod.spec.volumes
        #expect(v[0].configMap.items[0].mode == 0o400)
        #expect(v[1].emptyDir.medium == .memory && v[1].emptyDir.sizeLimitBytes == 1 << 30)
        #expect(v[2].projected.sources.count == 2 && v[2].projected.sources[0].serviceAccountToken.expiration.seconds == 3600)
        #expect(v[3].hostPath.pathType == .directoryOrCreate)
        let submissions = set.submissions()
        #expect(submissions[0].configMaps.count == 1 && submissions[0].secrets.count == 1)
    }

    @Test func jsonAndListsDecodeToo() throws {
        let json = #"{"apiVersion":"v1","kind":"List","items":[{"kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"host","command":["true"]}]}}]}"#
        let set = try ManifestDecoder.decode(json, file: "list.json", defaultNamespace: "team")
        #expect(set.pods.map(\.metadata.name) == ["a"] && set.pods[0].metadata.namespace == "team")
        #expect(set.pods[0].spec.restartPolicy == .always, "Kubernetes' default")
    }

    @Test func errorsNameFileLineAndField() {
        func error(_ text: String) -> ManifestError? {
            do { _ = try ManifestDecoder.decode(text, file: "bad.yaml"); return nil } catch { return error }
        }
        let cpu = error("kind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n  - name: c\n    resources: {limits: {cpu: lots}}\n")
        #expect(cpu?.line == 6 && cpu?.message.contains("spec.containers[0].resources.limits.cpu") == true, "\(String(describing: cpu))")
        let syntax = error("kind: Pod\nmetadata: {name: x\n")
        #expect(syntax?.line == 3 && syntax?.description.hasPrefix("bad.yaml:3:") == true, "\(String(describing: syntax))")
        #expect(error("kind: Deployment\nmetadata: {name: x}\n")?.message.contains("not supported") == true)
        #expect(error("kind: Pod\nmetadata: {name: x}\nspec: {containers: []}\n")?.message.contains("no containers") == true)
        #expect(error("kind: Pod\nmetadata: {name: x}\nspec:\n  restartPolicy: Sometimes\n  containers: [{name: c}]\n")?.line == 4)
        #expect(error("kind: Secret\nmetadata: {name: s}\ndata: {k: \"not base64!\"}\n")?.message.contains("base64") == true)
        #expect(error("- just\n- a list\n")?.message.contains("mapping") == true)
    }
}
