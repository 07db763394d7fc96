import Foundation

/// ``HTTPTransport`` as plain HTTP/1.1 over byte streams from a ``ByteStreamConnector``: one
/// connection per request (`Connection: close`), chunked and length-delimited bodies. With a TLS
/// connector it reaches API servers whose CA URLSession on Linux cannot be told to trust.
public struct HTTP1Transport: HTTPTransport {
    let connector: any ByteStreamConnector
    /// Bytes asked for per read.
    var readSize = 64 * 1024

    /// Creates a transport that opens its connections with `connector`.
    public init(connector: any ByteStreamConnector) { self.connector = connector }

    /// The request as HTTP/1.1 bytes.
    public static func encode(_ r: HTTPRequest) -> Data {
        let components = URLComponents(url: r.url, resolvingAgainstBaseURL: false)
        var target = components?.percentEncodedPath ?? "/"
        if target.isEmpty { target = "/" }
        if let q = components?.percentEncodedQuery, !q.isEmpty { target += "?" + q }
        var host = r.url.host ?? "localhost"
        if host.contains(":") { host = "[\(host)]" }
        if let port = r.url.port { host += ":\(port)" }
        var text = "\(r.method) \(target) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
        for (k, v) in r.headers where !k.contains("\r") && !k.contains("\n") && !v.contains("\r") && !v.contains("\n") {
            text += "\(k): \(v)\r\n"
        }
        if let body = r.body {
            text += "Content-Length: \(body.count)\r\n\r\n"
            return Data(text.utf8) + body
        }
        if r.method != "GET" && r.method != "DELETE" { text += "Content-Length: 0\r\n" }
        return Data((text + "\r\n").utf8)
    }

    private func open(_ r: HTTPRequest) async throws -> (any ByteStream, HTTP1ResponseDecoder, [Data]) {
        guard let host = r.url.host else { throw KubernetesTransportError(method: r.method, url: r.url.absoluteString, message: "the URL has no host") }
        let port = r.url.port ?? (r.url.scheme?.lowercased() == "https" ? 443 : 80)
        let stream = try await connector.connect(host: host, port: port, timeout: r.timeout)
        do {
            try await stream.write(Self.encode(r))
            var decoder = HTTP1ResponseDecoder()
            var body: [Data] = []
            while decoder.head == nil {
                let chunk = try await stream.read(maxLength: readSize)
                if chunk.isEmpty { try decoder.finish() }
                body += try decoder.feed(chunk)
            }
            return (stream, decoder, body)
        } catch {
            stream.close()
            throw Self.wrap(error, r)
        }
    }

    private static func wrap(_ error: any Error, _ r: HTTPRequest) -> any Error {
        if error is KubernetesTransportError || error is CancellationError { return error }
        return KubernetesTransportError(method: r.method, url: r.url.absoluteString, message: "\(error)")
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let (stream, first, initial) = try await open(request)
        defer { stream.close() }
        var decoder = first
        var body = initial.reduce(Data(), +)
        do {
            try await withTaskCancellationHandler {
                while !decoder.isComplete {
                    let chunk = try await stream.read(maxLength: readSize)
                    if chunk.isEmpty { try decoder.finish(); break }
                    for c in try decoder.feed(chunk) { body += c }
                }
            } onCancel: {
                stream.close()
            }
        } catch {
            throw Self.wrap(error, request)
        }
        return HTTPResponse(status: decoder.head?.status ?? 0, body: body)
    }

    public func stream(_ request: HTTPRequest) async throws -> HTTPStreamResponse {
        let (stream, first, initial) = try await open(request)
        let status = first.head?.status ?? 0
        let (body, continuation) = AsyncThrowingStream<Data, any Error>.makeStream()
        for c in initial { continuation.yield(c) }
        let readSize = self.readSize
        let reader = Task {
            var decoder = first
            do {
                while !decoder.isComplete {
                    try Task.checkCancellation()
                    let chunk = try await stream.read(maxLength: readSize)
                    if chunk.isEmpty { try decoder.finish(); break }
                    for c in try decoder.feed(chunk) { continuation.yield(c) }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: Self.wrap(error, request))
            }
            stream.close()
        }
        continuation.onTermination = { _ in
            reader.cancel()
            stream.close()
        }
        return HTTPStreamResponse(status: status, body: body)
    }
}
