import Foundation
import WeftKubernetes

/// A small Kubernetes REST client: JSON requests to one API server with its credential, errors
/// as ``KubernetesAPIError`` (with the server's Status reason and message) or
/// ``KubernetesTransportError``, and watches as streams of ``WatchEvent``.
public struct KubernetesClient: Sendable {
    /// The API server and credential.
    public let endpoint: KubernetesEndpoint
    private let transport: any HTTPTransport
    /// Deadline of each non-streaming request.
    public var requestTimeout: TimeInterval = 30
    /// Sent as `User-Agent`.
    public var userAgent = "weft-kubelet/0.1"

    /// Creates a client.
    public init(endpoint: KubernetesEndpoint, transport: any HTTPTransport) {
        self.endpoint = endpoint
        self.transport = transport
    }

    /// Content types of `PATCH` bodies.
    public enum PatchType: String, Sendable {
        /// RFC 7386 JSON merge patch.
        case merge = "application/merge-patch+json"
        /// Kubernetes' strategic merge patch.
        case strategic = "application/strategic-merge-patch+json"
    }

    // MARK: Verbs

    /// `GET path`.
    public func get(_ path: String, query: [(String, String)] = []) async throws -> JSONValue {
        try await request("GET", path, query: query)
    }

    /// `GET path`, nil on 404.
    public func getIfPresent(_ path: String) async throws -> JSONValue? {
        do {
            return try await get(path)
        } catch let e as KubernetesAPIError where e.isNotFound {
            return nil
        }
    }

    /// `POST path` with `body` (create).
    public func create(_ path: String, _ body: JSONValue) async throws -> JSONValue {
        try await request("POST", path, body: body)
    }

    /// `PUT path` with `body` (replace; `metadata.resourceVersion` in the body makes it conditional).
    public func replace(_ path: String, _ body: JSONValue) async throws -> JSONValue {
        try await request("PUT", path, body: body)
    }

    /// `PATCH path` with `body`.
    public func patch(_ path: String, _ body: JSONValue, type: PatchType = .merge) async throws -> JSONValue {
        try await request("PATCH", path, body: body, contentType: type.rawValue)
    }

    /// `DELETE path` with delete options such as `{"gracePeriodSeconds": 0}`.
    public func delete(_ path: String, options: JSONValue? = nil) async throws -> JSONValue {
        try await request("DELETE", path, body: options)
    }

    /// Sends one request and parses the JSON answer; a status outside 2xx throws ``KubernetesAPIError``.
    public func request(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil,
                        contentType: String = "application/json") async throws -> JSONValue {
        var r = try httpRequest(method, path, query: query, timeout: requestTimeout)
        if let body {
            r.body = body.serialized()
            r.headers.append(("Content-Type", contentType))
        }
        let response = try await transport.send(r)
        guard (200..<300).contains(response.status) else { throw Self.apiError(method, path, response.status, response.body) }
        if response.body.isEmpty { return .null }
        do {
            return try JSONValue(parsing: response.body)
        } catch {
            throw KubernetesTransportError(method: method, url: r.url.absoluteString, message: "the answer is not JSON: \(error.message)")
        }
    }

    /// Starts a watch (`watch=true` is added) and returns its events as they arrive. The stream ends
    /// when the server ends the watch; a failed connection or an `ERROR` event that carries a
    /// Status (such as 410 Gone) ends it with an error.
    public func watch(_ path: String, query: [(String, String)], timeout: TimeInterval) async throws -> AsyncThrowingStream<WatchEvent, any Error> {
        let r = try httpRequest("GET", path, query: query + [("watch", "true")], timeout: timeout)
        let response = try await transport.stream(r)
        guard (200..<300).contains(response.status) else {
            var body = Data()
            do { for try await chunk in response.body { body += chunk; if body.count > 65536 { break } } } catch {}
            throw Self.apiError("GET", path, response.status, body)
        }
        let (events, continuation) = AsyncThrowingStream<WatchEvent, any Error>.makeStream()
        let reader = Task {
            var lines = LineSplitter()
            do {
                for try await chunk in response.body {
                    for line in lines.append(chunk) {
                        let event = try WatchEvent(line: line)
                        if event.type == .error {
                            throw Self.apiError("GET", path, Int(event.object["code"]?.intValue ?? 500), event.object.serialized())
                        }
                        continuation.yield(event)
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in reader.cancel() }
        return events
    }

    // MARK: Plumbing

    private func httpRequest(_ method: String, _ path: String, query: [(String, String)], timeout: TimeInterval) throws -> HTTPRequest {
        guard var components = URLComponents(url: endpoint.server, resolvingAgainstBaseURL: false) else {
            throw KubernetesTransportError(method: method, url: endpoint.server.absoluteString, message: "the server URL cannot take a path")
        }
        let base = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
        components.percentEncodedPath = base + Self.encodePath(path)
        if !query.isEmpty {
            components.percentEncodedQuery = query.map { "\(Self.encodeQuery($0.0))=\(Self.encodeQuery($0.1))" }.joined(separator: "&")
        }
        guard let url = components.url else {
            throw KubernetesTransportError(method: method, url: endpoint.server.absoluteString + path, message: "not a valid URL")
        }
        var headers: [(String, String)] = [("Accept", "application/json"), ("User-Agent", userAgent)]
        if let auth = try endpoint.authorizationHeader() { headers.append(("Authorization", auth)) }
        return HTTPRequest(method: method, url: url, headers: headers, timeout: timeout)
    }

    private static let pathAllowed: CharacterSet = {
        var s = CharacterSet.alphanumerics
        s.insert(charactersIn: "-._~/:@")
        return s
    }()

    private static let queryAllowed: CharacterSet = {
        var s = CharacterSet.alphanumerics
        s.insert(charactersIn: "-._~")
        return s
    }()

    static func encodePath(_ p: String) -> String { p.addingPercentEncoding(withAllowedCharacters: pathAllowed) ?? p }
    static func encodeQuery(_ q: String) -> String { q.addingPercentEncoding(withAllowedCharacters: queryAllowed) ?? q }

    /// The error for a non-2xx answer, from its `metav1.Status` body when it has one.
    static func apiError(_ method: String, _ path: String, _ status: Int, _ body: Data) -> KubernetesAPIError {
        if let s = try? JSONValue(parsing: body), s["kind"]?.stringValue == "Status" || s["message"] != nil {
            return KubernetesAPIError(method: method, path: path, statusCode: Int(s["code"]?.intValue ?? Int64(status)),
                                      reason: s["reason"]?.stringValue ?? "", message: s["message"]?.stringValue ?? "")
        }
        let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return KubernetesAPIError(method: method, path: path, statusCode: status, reason: "", message: text)
    }
}
