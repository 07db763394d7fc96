import Foundation
import Gen
import Testing
import WeftPodKit

struct PodRecordStoreTests {
    @Test func recordsSurviveReopeningAndInsertIsIdempotent() async throws {
        let path = NSTemporaryDirectory() + "weft-store-\(UUID().uuidString)/pods.sqlite"
        var submission = sampleSubmission()
        submission.pod.spec.restartPolicy = .never
        let record = PodRecord(uid: "u1", node: "n", namespace: "ns", name: "p", submission: submission, state: "creating", revision: 1)
        do {
            let store = try PodRecordStore(path: path)
            #expect(try await store.insert(record) == nil)
            #expect(try await store.insert(record)?.uid == "u1", "a second insert returns the stored record")
            var status = Weft_Kubelet_V1_PodStatus()
            status.phase = .running
            try await store.updateStatuses([.init(uid: "u1", status: status, observeTime: 42, revision: 7)])
            var older = status
            older.phase = .pending
            try await store.updateStatuses([.init(uid: "u1", status: older, observeTime: 1, revision: 3)])
            try await store.setCounter("revision", 9)
        }
        let reopened = try PodRecordStore(path: path)
        let got = try await reopened.get(uid: "u1")
        #expect(got?.submission == submission)
        #expect(got?.status.phase == .running && got?.observeTime == 42 && got?.revision == 7)
        #expect(try await reopened.counter("revision") == 9)
        let onN = try await reopened.all(node: "n")
        let onOther = try await reopened.all(node: "other")
        #expect(onN.count == 1 && onOther.isEmpty)
        #expect(try await reopened.delete(uid: "u1")?.uid == "u1")
        #expect(try await reopened.get(uid: "u1") == nil)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600, "the file holds Secret data")
    }
}
