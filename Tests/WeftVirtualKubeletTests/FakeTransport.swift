import Foundation
import Synchronization
import WeftKubernetes
import WeftVirtualKubelet

/// An ``HTTPTransport`` that answers from a table of routes and records every request.
final class FakeTransport: HTTPTransport {
    struct Route: Sendable {
        var status: Int
        var body: JSONValue
    }

    private let state = Mutex<(routes: [String: Route], requests: [HTTPRequest], chunks: [Data])>(([:], [], []))

    /// Answers `METHOD path` (path without query) with `status` and `body`.
    func route(_ method: String, _ path: String, status: Int = 200, _ body: JSONValue) {
        state.withLock { $0.routes["\(method) \(path)"] = Route(status: status, body: body) }
    }

    /// The body chunks of the next stream.
    func streamChunks(_ chunks: [String]) {
        state.withLock { $0.chunks = chunks.map { Data($0.utf8) } }
    }

    var requests: [HTTPRequest] { state.withLock { $0.requests } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let route = state.withLock { s in
            s.requests.append(request)
            return s.routes["\(request.method) \(request.url.path)"]
        }
        guard let route else {
            return HTTPResponse(status: 404, body: JSONValue.object(["kind": "Status", "code": 404, "reason": "NotFound", "message": .string("\(request.url.path) not found")]).serialized())
        }
        return HTTPResponse(status: route.status, body: route.body.serialized())
    }

    func stream(_ request: HTTPRequest) async throws -> HTTPStreamResponse {
        let chunks = state.withLock { s in
            s.requests.append(request)
            return s.chunks
        }
        let (body, c) = AsyncThrowingStream<Data, any Error>.makeStream()
        for chunk in chunks { c.yield(chunk) }
        c.finish()
        return HTTPStreamResponse(status: 200, body: body)
    }
}
