import Foundation
import Gen
import Logging
import Testing
import WeftKubernetes
import WeftPodKit
import WeftVirtualKubelet

struct PodSubmissionBuilderTests {
    /// A pod as the API server returns it, with a ConfigMap env ref, an optional Secret envFrom,
    /// a Secret volume and the service account volume every pod gets.
    static let podJSON = #"""
        {"apiVersion":"v1","kind":"Pod",
         "metadata":{"name":"twin","namespace":"sim","uid":"7c9e-11","resourceVersion":"4711","creationTimestamp":"2026-05-28T20:26:40Z",
                     "labels":{"app":"twin"},"managedFields":[{"manager":"kubectl","operation":"Update","fieldsV1":{"f:spec":{}}}]},
         "spec":{"containers":[{"name":"main","image":"busybox","command":["sh","-c","echo $A"],
                   "env":[{"name":"A","valueFrom":{"configMapKeyRef":{"name":"settings","key":"a"}}}],
                   "envFrom":[{"secretRef":{"name":"extra","optional":true}}],
                   "resources":{"limits":{"cpu":"500m","memory":"128Mi"}},
                   "volumeMounts":[{"name":"pw","mountPath":"/secret","readOnly":true}],
                   "terminationMessagePath":"/dev/termination-log","imagePullPolicy":"IfNotPresent"}],
                 "volumes":[{"name":"pw","secret":{"secretName":"pw","defaultMode":420}},
                   {"name":"kube-api-access-abcde","projected":{"defaultMode":420,"sources":[
                     {"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},
                     {"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},
                     {"downwardAPI":{"items":[{"path":"namespace","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}]}}],
                 "restartPolicy":"Never","terminationGracePeriodSeconds":5,"dnsPolicy":"ClusterFirst","serviceAccountName":"runner",
                 "nodeName":"vk","securityContext":{},"schedulerName":"default-scheduler","enableServiceLinks":true,
                 "tolerations":[{"key":"virtual-node.interlink/no-schedule","operator":"Exists","effect":"NoSchedule"},
                                {"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}]},
         "status":{"phase":"Pending","qosClass":"Burstable","conditions":[{"type":"PodScheduled","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-05-28T20:26:40Z"}]}}
        """#

    static func builder(_ fake: FakeTransport) -> PodSubmissionBuilder {
        let client = KubernetesClient(endpoint: KubernetesEndpoint(server: URL(string: "http://127.0.0.1:8001")!), transport: fake)
        return PodSubmissionBuilder(client: client, logger: Logger(label: "test"))
    }

    static func serveReferences(_ fake: FakeTransport, settings: Bool = true) {
        if settings {
            fake.route("GET", "/api/v1/namespaces/sim/configmaps/settings", ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "settings", "namespace": "sim"], "data": ["a": "1"]])
        }
        fake.route("GET", "/api/v1/namespaces/sim/configmaps/kube-root-ca.crt", ["kind": "ConfigMap", "metadata": ["name": "kube-root-ca.crt", "namespace": "sim"], "data": ["ca.crt": "PEM"]])
        fake.route("GET", "/api/v1/namespaces/sim/secrets/pw", ["kind": "Secret", "metadata": ["name": "pw", "namespace": "sim"], "type": "Opaque", "data": ["pw": "aHVudGVyMg=="]])
    }

    @Test func decodesTheAPIPod() throws {
        let pod = try PodSubmissionBuilder.decodePod(try JSONValue(parsing: Self.podJSON))
        #expect(pod.metadata.uid == "7c9e-11")
        #expect(pod.spec.nodeName == "vk")
        #expect(pod.spec.containers.first?.resources.limits.cpuMillis == 500)
        #expect(pod.spec.volumes.count == 2)
        #expect(pod.spec.tolerations.count == 2)
        let refs = PodReferences(pod)
        #expect(refs.configMaps == ["settings": false, "kube-root-ca.crt": false])
        #expect(refs.secrets == ["pw": false, "extra": true])
        #expect(refs.tokens.map(\.volume) == ["kube-api-access-abcde"])
    }

    @Test func unsupportedPodsAreConversionErrors() throws {
        var object = try JSONValue(parsing: Self.podJSON)
        guard case .object(var o) = object, case .object(var spec)? = o["spec"] else { Issue.record("bad fixture"); return }
        spec["volumes"] = [["name": "odd", "iscsi": ["targetPortal": "x"]]]
        o["spec"] = .object(spec)
        object = .object(o)
        #expect {
            _ = try PodSubmissionBuilder.decodePod(object)
        } throws: { error in
            "\(error)".contains("sim/twin") && "\(error)".contains("volume odd")
        }
    }

    @Test func fetchesReferencesAndAToken() async throws {
        let fake = FakeTransport()
        Self.serveReferences(fake)
        fake.route("POST", "/api/v1/namespaces/sim/serviceaccounts/runner/token", status: 201, ["kind": "TokenRequest", "status": ["token": "jwt"]])
        let pod = try PodSubmissionBuilder.decodePod(try JSONValue(parsing: Self.podJSON))
        let s = try await Self.builder(fake).submission(for: pod)
        #expect(s.configMaps.map(\.metadata.name).sorted() == ["kube-root-ca.crt", "settings"])
        #expect(s.configMaps.first { $0.metadata.name == "settings" }?.data == ["a": "1"])
        #expect(s.secrets.map(\.metadata.name) == ["pw"], "the optional missing Secret is skipped")
        #expect(s.secrets.first?.data["pw"] == Data("hunter2".utf8))
        #expect(s.projectedVolumes.count == 1)
        #expect(s.projectedVolumes.first?.volumeName == "kube-api-access-abcde")
        #expect(s.projectedVolumes.first?.files["token"] == Data("jwt".utf8))
        let tokenRequest = try #require(fake.requests.first { $0.method == "POST" })
        let body = try JSONValue(parsing: tokenRequest.body ?? Data())
        #expect(body["spec", "boundObjectRef"] == ["apiVersion": "v1", "kind": "Pod", "name": "twin", "uid": "7c9e-11"])
        #expect(body["spec", "expirationSeconds"] == 3607)
    }

    @Test func aRefusedTokenRequestLeavesTheTokenOut() async throws {
        let fake = FakeTransport()
        Self.serveReferences(fake)
        fake.route("POST", "/api/v1/namespaces/sim/serviceaccounts/runner/token", status: 403, ["kind": "Status", "code": 403, "reason": "Forbidden", "message": "no"])
        let pod = try PodSubmissionBuilder.decodePod(try JSONValue(parsing: Self.podJSON))
        let s = try await Self.builder(fake).submission(for: pod)
        #expect(s.projectedVolumes.isEmpty)
        #expect(s.configMaps.count == 2)
    }

    @Test func aMissingRequiredConfigMapIsAMissingReference() async throws {
        let fake = FakeTransport()
        Self.serveReferences(fake, settings: false)
        let pod = try PodSubmissionBuilder.decodePod(try JSONValue(parsing: Self.podJSON))
        await #expect {
            _ = try await Self.builder(fake).submission(for: pod)
        } throws: { error in
            (error as? MissingReferenceError)?.description == "configmap \"settings\" not found"
        }
    }
}
