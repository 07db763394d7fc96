import Gen
import Testing
import WeftPodKit
import WeftRPC

struct PodNamesTests {
    func pod(_ name: String = "ok", namespace: String = "default", uid: String = "u-1", mutate: (inout Weft_Kubelet_V1_Pod) -> Void = { _ in }) -> Weft_Kubelet_V1_Pod {
        var p = Weft_Kubelet_V1_Pod()
        p.metadata.name = name
        p.metadata.namespace = namespace
        p.metadata.uid = uid
        var c = Weft_Kubelet_V1_Container()
        c.name = "main"
        p.spec.containers = [c]
        mutate(&p)
        return p
    }

    func refused(_ p: Weft_Kubelet_V1_Pod) -> String? {
        do {
            try PodNames.validate(pod: p)
            return nil
        } catch let e as RPCError {
            #expect(e.code == .invalidArgument)
            return e.message
        } catch {
            return "\(error)"
        }
    }

    @Test func acceptsKubernetesNames() {
        #expect(refused(pod("a.b-c", namespace: "ns-1")) == nil)
        #expect(PodNames.isLabel(String(repeating: "a", count: 63)))
        #expect(!PodNames.isLabel(String(repeating: "a", count: 64)))
    }

    @Test func refusesTraversalEverywhere() {
        #expect(refused(pod("../etc"))?.contains("pod name") == true)
        #expect(refused(pod(namespace: ".."))?.contains("namespace") == true)
        #expect(refused(pod(namespace: "a/b"))?.contains("namespace") == true)
        #expect(refused(pod(uid: "../../x"))?.contains("uid") == true)
        #expect(refused(pod { $0.spec.containers[0].name = "../c" })?.contains("container name") == true)
        #expect(refused(pod { $0.spec.containers[0].workingDir = "/a/../../etc" })?.contains("workingDir") == true)
        #expect(refused(pod {
            var v = Weft_Kubelet_V1_Volume()
            v.name = "v"
            var cm = Weft_Kubelet_V1_ConfigMapVolumeSource()
            cm.name = "c"
            var item = Weft_Kubelet_V1_KeyToPath()
            item.key = "k"
            item.path = "../../escape"
            cm.items = [item]
            v.configMap = cm
            $0.spec.volumes = [v]
        })?.contains("items path") == true)
        #expect(refused(pod {
            var m = Weft_Kubelet_V1_VolumeMount()
            m.name = "nope"
            m.mountPath = "/x"
            $0.spec.containers[0].volumeMounts = [m]
        })?.contains("does not declare") == true)
        #expect(!PodNames.isDataKey("..") && !PodNames.isDataKey("a/b") && PodNames.isDataKey(".hidden-file_1"))
    }

    @Test func refusesDuplicatesAndEmptyPods() {
        #expect(refused(pod { $0.spec.containers.append($0.spec.containers[0]) })?.contains("twice") == true)
        #expect(refused(pod { $0.spec.containers = [] })?.contains("no containers") == true)
    }
}
