import Foundation
import Synchronization
import Testing
import WeftKubernetes
import WeftVirtualKubelet

/// A byte stream that answers with scripted chunks and records what is written.
final class ScriptedStream: ByteStream {
    private let state: Mutex<(chunks: [Data], written: Data, closed: Bool)>
    init(_ chunks: [String]) { state = Mutex((chunks.map { Data($0.utf8) }, Data(), false)) }
    var written: String { state.withLock { String(decoding: $0.written, as: UTF8.self) } }
    var closed: Bool { state.withLock { $0.closed } }
    func write(_ data: Data) async throws { state.withLock { $0.written += data } }
    func read(maxLength: Int) async throws -> Data {
        state.withLock { s in
            guard !s.chunks.isEmpty else { return Data() }
            let first = s.chunks.removeFirst()
            if first.count > maxLength {
                s.chunks.insert(Data(first.dropFirst(maxLength)), at: 0)
                return Data(first.prefix(maxLength))
            }
            return first
        }
    }
    func close() { state.withLock { $0.closed = true } }
}

final class ScriptedConnector: ByteStreamConnector {
    let stream: ScriptedStream
    let target: Mutex<String> = Mutex("")
    init(stream: ScriptedStream) { self.stream = stream }
    func connect(host: String, port: Int, timeout: TimeInterval) async throws -> any ByteStream {
        target.withLock { $0 = "\(host):\(port)" }
        return stream
    }
}

struct HTTP1Tests {
    @Test func decodesContentLengthInPieces() throws {
        var d = HTTP1ResponseDecoder()
        #expect(try d.feed(Data("HTTP/1.1 200 OK\r\nContent-Le".utf8)).isEmpty)
        #expect(d.head == nil)
        let body = try d.feed(Data("ngth: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhel".utf8))
        #expect(d.head == HTTP1ResponseHead(status: 200, headers: ["content-length": "5", "x-a": "1, 2"]))
        #expect(body == [Data("hel".utf8)])
        #expect(!d.isComplete)
        #expect(try d.feed(Data("lo".utf8)) == [Data("lo".utf8)])
        #expect(d.isComplete)
    }

    @Test func decodesChunkedWithExtensionsAndTrailers() throws {
        var d = HTTP1ResponseDecoder()
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Trailer: t\r\n\r\n"
        var body = Data()
        for byte in Data(text.utf8) { for c in try d.feed(Data([byte])) { body += c } }
        #expect(body == Data("abcdefg".utf8))
        #expect(d.isComplete)
    }

    @Test func skipsInformationalResponsesAndReadsUntilClose() throws {
        var d = HTTP1ResponseDecoder()
        let body = try d.feed(Data("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 404 Not Found\r\n\r\ngone".utf8))
        #expect(d.head?.status == 404)
        #expect(body == [Data("gone".utf8)])
        try d.finish()
        #expect(d.isComplete)
    }

    @Test func refusesBrokenResponses() {
        var bad = HTTP1ResponseDecoder()
        #expect(throws: HTTP1ProtocolError.self) { _ = try bad.feed(Data("SSH-2.0-OpenSSH\r\n\r\n".utf8)) }
        var short = HTTP1ResponseDecoder()
        #expect(throws: HTTP1ProtocolError.self) {
            _ = try short.feed(Data("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".utf8))
            try short.finish()
        }
        var chunk = HTTP1ResponseDecoder()
        #expect(throws: HTTP1ProtocolError.self) { _ = try chunk.feed(Data("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8)) }
    }

    @Test func encodesRequests() {
        var r = HTTPRequest(method: "PATCH", url: URL(string: "https://10.0.0.1:6443/api/v1/namespaces/a/pods/b/status?x=1%202")!,
                            headers: [("Authorization", "Bearer t"), ("Bad", "in\r\njected")], body: Data("{}".utf8))
        #expect(String(decoding: HTTP1Transport.encode(r), as: UTF8.self) ==
            "PATCH /api/v1/namespaces/a/pods/b/status?x=1%202 HTTP/1.1\r\nHost: 10.0.0.1:6443\r\nConnection: close\r\nAuthorization: Bearer t\r\nContent-Length: 2\r\n\r\n{}")
        r = HTTPRequest(method: "GET", url: URL(string: "http://[::1]:8001/api")!)
        #expect(String(decoding: HTTP1Transport.encode(r), as: UTF8.self) == "GET /api HTTP/1.1\r\nHost: [::1]:8001\r\nConnection: close\r\n\r\n")
    }

    @Test func sendsAndReadsAWholeResponse() async throws {
        let stream = ScriptedStream(["HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"a\":", "true}"])
        let connector = ScriptedConnector(stream: stream)
        let transport = HTTP1Transport(connector: connector)
        let response = try await transport.send(HTTPRequest(method: "POST", url: URL(string: "https://k8s:6443/api/v1/nodes")!, body: Data("{}".utf8)))
        #expect(response.status == 201)
        #expect(try JSONValue(parsing: response.body) == ["a": true])
        #expect(connector.target.withLock { $0 } == "k8s:6443")
        #expect(stream.written.hasPrefix("POST /api/v1/nodes HTTP/1.1\r\n"))
        #expect(stream.closed)
    }

    @Test func streamsAChunkedWatchThroughTheClient() async throws {
        let line1 = #"{"type":"ADDED","object":{"metadata":{"name":"a"}}}"# + "\n"
        let line2 = #"{"type":"DELETED","object":{"metadata":{"name":"a"}}}"# + "\n"
        let stream = ScriptedStream([
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            String(line1.utf8.count, radix: 16) + "\r\n" + line1 + "\r\n",
            String(line2.utf8.count, radix: 16) + "\r\n" + line2 + "\r\n0\r\n\r\n",
        ])
        let client = KubernetesClient(endpoint: KubernetesEndpoint(server: URL(string: "https://k8s")!), transport: HTTP1Transport(connector: ScriptedConnector(stream: stream)))
        var types: [WatchEvent.EventType] = []
        for try await e in try await client.watch("/api/v1/pods", query: [], timeout: 10) { types.append(e.type) }
        #expect(types == [.added, .deleted])
        #expect(stream.written.contains("watch=true"))
    }
}
