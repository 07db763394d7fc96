import Foundation
import Testing
import WeftKubernetes
import WeftVirtualKubelet

struct KubernetesClientTests {
    static func client(_ transport: FakeTransport, server: String = "https://k8s.example.org:6443/prefix") -> KubernetesClient {
        KubernetesClient(endpoint: KubernetesEndpoint(server: URL(string: server)!, credential: .token("t0k")), transport: transport)
    }

    @Test func buildsURLsWithPrefixQueryAndAuth() async throws {
        let fake = FakeTransport()
        fake.route("GET", "/prefix/api/v1/pods", ["kind": "PodList", "items": []])
        let list = try await Self.client(fake).get("/api/v1/pods", query: [("fieldSelector", "spec.nodeName=vk 1"), ("limit", "500")])
        #expect(list["kind"] == "PodList")
        let r = try #require(fake.requests.first)
        #expect(r.method == "GET")
        #expect(r.url.absoluteString == "https://k8s.example.org:6443/prefix/api/v1/pods?fieldSelector=spec.nodeName%3Dvk%201&limit=500")
        #expect(r.headers.contains { $0 == ("Authorization", "Bearer t0k") })
        #expect(r.headers.contains { $0 == ("Accept", "application/json") })
        #expect(r.body == nil)
    }

    @Test func patchesWithTheMergePatchContentType() async throws {
        let fake = FakeTransport()
        fake.route("PATCH", "/api/v1/namespaces/ns/pods/p/status", ["kind": "Pod"])
        _ = try await Self.client(fake, server: "http://127.0.0.1:8001").patch("/api/v1/namespaces/ns/pods/p/status", ["status": ["phase": "Running"]])
        let r = try #require(fake.requests.first)
        #expect(r.headers.contains { $0 == ("Content-Type", "application/merge-patch+json") })
        #expect(r.body.map { String(decoding: $0, as: UTF8.self) } == #"{"status":{"phase":"Running"}}"#)
    }

    @Test func errorsCarryTheStatusReason() async throws {
        let fake = FakeTransport()
        fake.route("POST", "/api/v1/nodes", status: 409, ["kind": "Status", "code": 409, "reason": "AlreadyExists", "message": "nodes \"vk\" already exists"])
        let client = Self.client(fake, server: "http://127.0.0.1:8001")
        await #expect {
            _ = try await client.create("/api/v1/nodes", ["kind": "Node"])
        } throws: { error in
            guard let e = error as? KubernetesAPIError else { return false }
            return e.isConflict && e.reason == "AlreadyExists" && e.description == "POST /api/v1/nodes: 409 AlreadyExists: nodes \"vk\" already exists"
        }
        #expect(try await client.getIfPresent("/api/v1/nodes/absent") == nil)
    }

    @Test func watchSplitsEventsAcrossChunks() async throws {
        let fake = FakeTransport()
        fake.streamChunks([
            #"{"type":"ADDED","object":{"metadata":{"name":"a"}}}"# + "\n" + #"{"type":"MODI"#,
            #"FIED","object":{"metadata":{"name":"a","resourceVersion":"7"}}}"# + "\r\n\n",
            #"{"type":"DELETED","object":{"metadata":{"name":"a"}}}"# + "\n",
        ])
        let events = try await Self.client(fake).watch("/api/v1/pods", query: [("resourceVersion", "5")], timeout: 60)
        var seen: [WatchEvent] = []
        for try await e in events { seen.append(e) }
        #expect(seen.map(\.type) == [.added, .modified, .deleted])
        #expect(seen[1].object["metadata", "resourceVersion"] == "7")
        #expect(fake.requests.first?.url.query?.contains("watch=true") == true)
    }

    @Test func watchErrorEventEndsWithGone() async throws {
        let fake = FakeTransport()
        fake.streamChunks([#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version: 5 (90)"}}"# + "\n"])
        let events = try await Self.client(fake).watch("/api/v1/pods", query: [], timeout: 60)
        await #expect {
            for try await _ in events {}
        } throws: { error in
            (error as? KubernetesAPIError)?.isGone == true
        }
    }

    @Test func lineSplitterKeepsPartialLines() {
        var s = LineSplitter()
        #expect(s.append(Data("ab".utf8)).isEmpty)
        #expect(s.append(Data("c\n\nde\nf".utf8)) == [Data("abc".utf8), Data("de".utf8)])
        #expect(s.remainder == Data("f".utf8))
    }

    @Test func basicAuthHeader() throws {
        let e = KubernetesEndpoint(server: URL(string: "http://h")!, credential: .basic(username: "u", password: "p"))
        #expect(try e.authorizationHeader() == "Basic dTpw")
        #expect(try KubernetesEndpoint(server: URL(string: "http://h")!).authorizationHeader() == nil)
    }
}

struct URLSessionTransportTests {
    @Test func plainHTTPAndSystemTrustNeedNoCheck() throws {
        try URLSessionHTTPTransport.check(KubernetesEndpoint(server: URL(string: "http://127.0.0.1:8001")!))
        try URLSessionHTTPTransport.check(KubernetesEndpoint(server: URL(string: "https://k8s.example.org")!))
    }

    #if os(Linux)
    @Test func aPrivateCAIsRefusedOnLinux() {
        let pem = Data("-----BEGIN CERTIFICATE-----\nTk9UIElOIFRIRSBTWVNURU0gU1RPUkU=\n-----END CERTIFICATE-----\n".utf8)
        #expect {
            try URLSessionHTTPTransport.check(KubernetesEndpoint(server: URL(string: "https://k8s")!, certificateAuthorityPEM: pem))
        } throws: { error in
            "\(error)".contains("not in the system trust store")
        }
        #expect(throws: KubeConfigError.self) {
            try URLSessionHTTPTransport.check(KubernetesEndpoint(server: URL(string: "https://k8s")!, insecureSkipTLSVerify: true))
        }
    }
    #endif
}
