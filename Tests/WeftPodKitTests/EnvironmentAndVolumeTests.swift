import Foundation
import Gen
import Testing
import WeftPodKit

/// A pod submission built in code, with a ConfigMap `cm` and a Secret `sec`.
func sampleSubmission() -> Weft_Kubelet_V1_PodSubmission {
    var s = Weft_Kubelet_V1_PodSubmission()
    s.pod.metadata.name = "p"
    s.pod.metadata.namespace = "ns"
    s.pod.metadata.uid = "u1"
    s.pod.metadata.labels = ["app": "twin"]
    var cm = Weft_Kubelet_V1_ConfigMap()
    cm.metadata.name = "cm"
    cm.data = ["A": "from-cm", "file.cfg": "x = 1\n"]
    cm.binaryData = ["blob": Data([0, 1, 2])]
    var sec = Weft_Kubelet_V1_Secret()
    sec.metadata.name = "sec"
    sec.data = ["password": Data("hunter2".utf8)]
    s.configMaps = [cm]
    s.secrets = [sec]
    return s
}

struct EnvironmentResolverTests {
    func env(_ name: String, value: String? = nil, _ source: Weft_Kubelet_V1_EnvVarSource.OneOf_Source? = nil) -> Weft_Kubelet_V1_EnvVar {
        var e = Weft_Kubelet_V1_EnvVar()
        e.name = name
        if let value { e.value = value }
        if let source {
            var from = Weft_Kubelet_V1_EnvVarSource()
            from.source = source
            e.valueFrom = from
        }
        return e
    }

    @Test func resolvesEveryKindOfSourceInOrder() throws {
        var c = Weft_Kubelet_V1_Container()
        c.name = "main"
        var envFrom = Weft_Kubelet_V1_EnvFromSource()
        envFrom.configMapName = "cm"
        envFrom.prefix = "CM_"
        c.envFrom = [envFrom]
        var cmKey = Weft_Kubelet_V1_ConfigMapKeySelector()
        cmKey.name = "cm"
        cmKey.key = "A"
        var secKey = Weft_Kubelet_V1_SecretKeySelector()
        secKey.name = "sec"
        secKey.key = "password"
        var field = Weft_Kubelet_V1_ObjectFieldSelector()
        field.fieldPath = "metadata.labels['app']"
        c.env = [env("A", .configMapKeyRef(cmKey)), env("P", .secretKeyRef(secKey)), env("APP", .fieldRef(field)),
                 env("MSG", value: "$(A)-$(APP)-$(UNKNOWN)-$$(A)"), env("CM_A", value: "overridden")]
        let resolved = try EnvironmentResolver(submission: sampleSubmission()).environment(of: c)
        let dict = Dictionary(uniqueKeysWithValues: resolved.map { ($0.name, $0.value) })
        #expect(dict["A"] == "from-cm" && dict["P"] == "hunter2" && dict["APP"] == "twin")
        #expect(dict["MSG"] == "from-cm-twin-$(UNKNOWN)-$(A)")
        #expect(dict["CM_A"] == "overridden" && dict["CM_file.cfg"] == "x = 1\n")
        #expect(resolved.first?.name == "CM_A", "envFrom comes first, env entries override in place")
    }

    @Test func missingReferencesFailUnlessOptional() throws {
        var c = Weft_Kubelet_V1_Container()
        c.name = "main"
        var key = Weft_Kubelet_V1_ConfigMapKeySelector()
        key.name = "cm"
        key.key = "nope"
        c.env = [env("X", .configMapKeyRef(key))]
        #expect(throws: PodConfigError.self) { try EnvironmentResolver(submission: sampleSubmission()).environment(of: c) }
        key.allowMissing = true
        c.env = [env("X", .configMapKeyRef(key))]
        #expect(try EnvironmentResolver(submission: sampleSubmission()).environment(of: c).isEmpty)
    }
}

struct VolumeMaterializerTests {
    @Test func writesConfigMapSecretProjectedAndEmptyDirVolumes() throws {
        var s = sampleSubmission()
        func volume(_ name: String, _ source: Weft_Kubelet_V1_Volume.OneOf_Source) -> Weft_Kubelet_V1_Volume {
            var v = Weft_Kubelet_V1_Volume()
            v.name = name
            v.source = source
            return v
        }
        var cm = Weft_Kubelet_V1_ConfigMapVolumeSource()
        cm.name = "cm"
        var sec = Weft_Kubelet_V1_SecretVolumeSource()
        sec.secretName = "sec"
        var item = Weft_Kubelet_V1_KeyToPath()
        item.key = "password"
        item.path = "nested/pw"
        item.mode = 0o400
        sec.items = [item]
        var projected = Weft_Kubelet_V1_ProjectedVolumeSource()
        var downward = Weft_Kubelet_V1_DownwardApiProjection()
        var file = Weft_Kubelet_V1_DownwardApiFile()
        file.path = "name"
        file.fieldRef.fieldPath = "metadata.name"
        downward.items = [file]
        var projection = Weft_Kubelet_V1_VolumeProjection()
        projection.downwardApi = downward
        projected.sources = [projection]
        var data = Weft_Kubelet_V1_ProjectedVolumeData()
        data.volumeName = "proj"
        data.files = ["token": Data("tok".utf8)]
        s.projectedVolumes = [data]
        s.pod.spec.volumes = [volume("c", .configMap(cm)), volume("s", .secret(sec)), volume("proj", .projected(projected)),
                              volume("scratch", .emptyDir(Weft_Kubelet_V1_EmptyDirVolumeSource()))]
        let dir = NSTemporaryDirectory() + "weft-vol-\(UUID().uuidString)"
        let volumes = try VolumeMaterializer().materialize(s, under: dir)
        let fm = FileManager.default
        #expect(String(decoding: fm.contents(atPath: dir + "/c/A") ?? Data(), as: UTF8.self) == "from-cm")
        #expect(fm.contents(atPath: dir + "/c/blob") == Data([0, 1, 2]))
        #expect(String(decoding: fm.contents(atPath: dir + "/s/nested/pw") ?? Data(), as: UTF8.self) == "hunter2")
        #expect((try fm.attributesOfItem(atPath: dir + "/s/nested/pw")[.posixPermissions] as? Int) == 0o400)
        #expect(String(decoding: fm.contents(atPath: dir + "/proj/name") ?? Data(), as: UTF8.self) == "p")
        #expect(String(decoding: fm.contents(atPath: dir + "/proj/token") ?? Data(), as: UTF8.self) == "tok")
        #expect(volumes["c"]?.readOnly == true && volumes["scratch"]?.readOnly == false)
    }

    @Test func refusesHostPathUnlessAllowedAndMissingObjects() throws {
        var s = sampleSubmission()
        var v = Weft_Kubelet_V1_Volume()
        v.name = "h"
        var h = Weft_Kubelet_V1_HostPathVolumeSource()
        h.path = "/etc"
        v.hostPath = h
        s.pod.spec.volumes = [v]
        let dir = NSTemporaryDirectory() + "weft-vol-\(UUID().uuidString)"
        #expect(throws: PodConfigError.self) { try VolumeMaterializer().materialize(s, under: dir) }
        #expect(try VolumeMaterializer(allowHostPath: true).materialize(s, under: dir)["h"]?.hostPath == "/etc")
        var cm = Weft_Kubelet_V1_ConfigMapVolumeSource()
        cm.name = "absent"
        v.configMap = cm
        s.pod.spec.volumes = [v]
        #expect(throws: PodConfigError.self) { try VolumeMaterializer().materialize(s, under: dir) }
    }
}

struct PodStatusBuilderTests {
    func record(_ name: String, _ run: ContainerRun) -> ContainerRecord { ContainerRecord(name: name, image: "host", run: run) }
    let done = ContainerRun.terminated(exitCode: 0, reason: "Completed", startedAt: 1, finishedAt: 2)
    let failed = ContainerRun.terminated(exitCode: 3, reason: "Error", startedAt: 1, finishedAt: 2)

    @Test func phasesFollowTheKubelet() {
        func phase(_ policy: Weft_Kubelet_V1_RestartPolicy, _ inits: [ContainerRun], _ mains: [ContainerRun]) -> Weft_Kubelet_V1_PodPhase {
            PodStatusBuilder.build(restartPolicy: policy, initContainers: inits.map { record("i", $0) }, containers: mains.map { record("m", $0) }, startTime: 1).phase
        }
        #expect(phase(.never, [], [.waiting(reason: "ContainerCreating")]) == .pending)
        #expect(phase(.never, [.running(startedAt: 1)], [.waiting(reason: "PodInitializing")]) == .pending)
        #expect(phase(.never, [failed], [.waiting(reason: "PodInitializing")]) == .failed)
        #expect(phase(.never, [done], [.running(startedAt: 1)]) == .running)
        #expect(phase(.never, [], [done, .running(startedAt: 1)]) == .running)
        #expect(phase(.never, [], [done, done]) == .succeeded)
        #expect(phase(.never, [], [done, failed]) == .failed)
        #expect(phase(.always, [], [done]) == .running, "ALWAYS restarts a finished container")
        #expect(phase(.onFailure, [], [done]) == .succeeded)
        #expect(phase(.onFailure, [], [failed]) == .running, "ON_FAILURE restarts a failed container")
        let s = PodStatusBuilder.build(restartPolicy: .never, initContainers: [], containers: [record("m", done)], startTime: 1, failure: ("X", "why"))
        #expect(s.phase == .failed && s.reason == "X" && s.message == "why")
    }
}
