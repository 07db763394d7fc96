import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// ``HTTPTransport`` on Foundation's `URLSession` (libcurl on Linux): plain HTTP, and HTTPS
/// verified against the system's trust store. Streams use a data delegate, so watch events
/// arrive as the server sends them.
///
/// swift-corelibs-foundation on Linux offers no way to trust a private CA per session (its
/// `URLSessionCertificateAuthorityInfoFile` variable is read only on Android) nor to skip
/// verification; ``check(_:)`` says so before the first request instead of failing each one.
public final class URLSessionHTTPTransport: HTTPTransport {
    private let session: URLSession

    /// Creates a transport with its own ephemeral session (no cookies, no cache).
    public init() {
        session = URLSession(configuration: Self.configuration())
    }

    deinit { session.invalidateAndCancel() }

    private static func configuration() -> URLSessionConfiguration {
        let c = URLSessionConfiguration.ephemeral
        c.requestCachePolicy = .reloadIgnoringLocalCacheData
        c.httpShouldSetCookies = false
        c.timeoutIntervalForResource = 7 * 24 * 3600
        return c
    }

    /// Throws if this transport cannot verify `endpoint`'s server as its kubeconfig asks: on Linux,
    /// a private CA that is not in the system trust store, or `insecure-skip-tls-verify`.
    public static func check(_ endpoint: KubernetesEndpoint) throws(KubeConfigError) {
        #if os(Linux)
        guard endpoint.usesTLS else { return }
        if endpoint.insecureSkipTLSVerify {
            throw KubeConfigError(source: endpoint.origin, message: "insecure-skip-tls-verify is not supported by URLSession on Linux; give the cluster's CA instead")
        }
        if let pem = endpoint.certificateAuthorityPEM, !SystemTrust.contains(pem: pem) {
            throw KubeConfigError(source: endpoint.origin, message: """
                the cluster CA is not in the system trust store, and URLSession on Linux cannot trust a CA per connection; \
                use a TLS transport that can (weft kubelet does so itself), or add the CA to the system store \
                (/usr/local/share/ca-certificates + update-ca-certificates)
                """)
        }
        #endif
    }

    private func urlRequest(_ r: HTTPRequest) -> URLRequest {
        var u = URLRequest(url: r.url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: r.timeout)
        u.httpMethod = r.method
        for (k, v) in r.headers { u.addValue(v, forHTTPHeaderField: k) }
        u.httpBody = r.body
        return u
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await session.data(for: urlRequest(request))
        } catch {
            throw KubernetesTransportError(method: request.method, url: request.url.absoluteString, message: Self.describe(error))
        }
        guard let http = response as? HTTPURLResponse else {
            throw KubernetesTransportError(method: request.method, url: request.url.absoluteString, message: "the answer is not an HTTP response")
        }
        return HTTPResponse(status: http.statusCode, body: data)
    }

    public func stream(_ request: HTTPRequest) async throws -> HTTPStreamResponse {
        let delegate = StreamDelegate(method: request.method, url: request.url.absoluteString)
        let session = URLSession(configuration: Self.configuration(), delegate: delegate, delegateQueue: nil)
        let task = session.dataTask(with: urlRequest(request))
        let (body, continuation) = AsyncThrowingStream<Data, any Error>.makeStream(bufferingPolicy: .unbounded)
        continuation.onTermination = { _ in
            task.cancel()
            session.invalidateAndCancel()
        }
        let status: Int = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (head: CheckedContinuation<Int, any Error>) in
                delegate.start(head: head, body: continuation)
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
        return HTTPStreamResponse(status: status, body: body)
    }

    static func describe(_ error: any Error) -> String {
        if let u = error as? URLError {
            switch u.code {
            case .serverCertificateUntrusted, .serverCertificateHasBadDate, .serverCertificateHasUnknownRoot, .serverCertificateNotYetValid, .secureConnectionFailed:
                return "TLS failed (is the server's CA trusted?): \(u.localizedDescription)"
            case .cannotConnectToHost: return "cannot connect: \(u.localizedDescription)"
            case .timedOut: return "timed out"
            case .cancelled: return "cancelled"
            default: return u.localizedDescription
            }
        }
        return "\(error)"
    }
}

/// Passes one streaming task's response head and body chunks to async code.
private final class StreamDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var head: CheckedContinuation<Int, any Error>?
    private var body: AsyncThrowingStream<Data, any Error>.Continuation?
    private let method: String
    private let url: String

    init(method: String, url: String) {
        self.method = method
        self.url = url
    }

    func start(head: CheckedContinuation<Int, any Error>, body: AsyncThrowingStream<Data, any Error>.Continuation) {
        lock.lock()
        self.head = head
        self.body = body
        lock.unlock()
    }

    private func takeHead() -> CheckedContinuation<Int, any Error>? {
        lock.lock()
        defer { lock.unlock() }
        let h = head
        head = nil
        return h
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        completionHandler(.allow)
        takeHead()?.resume(returning: status)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        lock.lock()
        let b = body
        lock.unlock()
        b?.yield(data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let failure = error.map { KubernetesTransportError(method: method, url: url, message: URLSessionHTTPTransport.describe($0)) }
        if let h = takeHead() {
            h.resume(throwing: failure ?? KubernetesTransportError(method: method, url: url, message: "the connection closed before a response"))
        }
        lock.lock()
        let b = body
        body = nil
        lock.unlock()
        if let failure { b?.finish(throwing: failure) } else { b?.finish() }
        session.finishTasksAndInvalidate()
    }
}
