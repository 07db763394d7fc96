import Foundation

/// One HTTP request to the Kubernetes API server.
public struct HTTPRequest: Sendable {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    public var method: String
    /// Full URL, with query.
    public var url: URL
    /// Header fields, in order.
    public var headers: [(String, String)]
    /// Body, if any.
    public var body: Data?
    /// Give up after this long without an answer (for streams: without data).
    public var timeout: TimeInterval

    /// Creates a request.
    public init(method: String, url: URL, headers: [(String, String)] = [], body: Data? = nil, timeout: TimeInterval = 30) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// A complete HTTP response.
public struct HTTPResponse: Sendable {
    /// Status code.
    public var status: Int
    /// Body.
    public var body: Data

    /// Creates a response.
    public init(status: Int, body: Data) {
        self.status = status
        self.body = body
    }
}

/// A response whose body arrives over time (a watch).
public struct HTTPStreamResponse: Sendable {
    /// Status code.
    public var status: Int
    /// The body in the chunks it arrives in; ends when the server ends the response, throws
    /// ``KubernetesTransportError`` when the connection fails.
    public var body: AsyncThrowingStream<Data, any Error>

    /// Creates a response.
    public init(status: Int, body: AsyncThrowingStream<Data, any Error>) {
        self.status = status
        self.body = body
    }
}

/// How the Kubernetes client reaches the API server. ``URLSessionHTTPTransport`` is the default;
/// tests and other TLS stacks plug in here.
public protocol HTTPTransport: Sendable {
    /// Sends a request and reads the whole response. Throws ``KubernetesTransportError`` when no
    /// response arrives; any HTTP status is a response.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
    /// Sends a request and returns as soon as the response head arrives. Cancelling the calling
    /// task or dropping the body stream closes the connection.
    func stream(_ request: HTTPRequest) async throws -> HTTPStreamResponse
}
