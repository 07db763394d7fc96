import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A connected TCP socket used with blocking calls, each run on the connection's own serial
/// queue so async callers never block the cooperative pool. ``TLSConnector`` implementations
/// (OpenSSL in the `weft` command) run their TLS over ``fd``; ``PlainByteStream`` reads and writes it.
public final class TCPSocket: @unchecked Sendable {
    /// The file descriptor; owned by this object and closed by ``close()``.
    public let fd: Int32
    /// Serial queue for the blocking calls on ``fd``.
    public let queue: DispatchQueue
    private let lock = NSLock()
    private var closed = false

    private init(fd: Int32, label: String) {
        self.fd = fd
        self.queue = DispatchQueue(label: label)
    }

    /// Connects to `host:port` (every address it resolves to, in order); `timeout` bounds the
    /// connect and then each blocking read and write (`SO_RCVTIMEO`, `SO_SNDTIMEO`).
    public static func connect(host: String, port: Int, timeout: TimeInterval) async throws -> TCPSocket {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<TCPSocket, any Error>) in
            DispatchQueue.global().async {
                c.resume(with: Result { try connectBlocking(host: host, port: port, timeout: timeout) })
            }
        }
    }

    private static func connectBlocking(host: String, port: Int, timeout: TimeInterval) throws -> TCPSocket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw KubernetesTransportError(method: "CONNECT", url: "\(host):\(port)", message: "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let ai = next {
            next = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
            guard fd >= 0 else { lastError = String(cString: strerror(errno)); continue }
            if let error = connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen, timeout: timeout) {
                lastError = error
                Glibc_close(fd)
                continue
            }
            var tv = timeval()
            tv.tv_sec = .init(timeout.rounded(.down))
            tv.tv_usec = .init((timeout - timeout.rounded(.down)) * 1_000_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            return TCPSocket(fd: fd, label: "weft.kubelet.socket.\(host):\(port)")
        }
        throw KubernetesTransportError(method: "CONNECT", url: "\(host):\(port)", message: "cannot connect: \(lastError)")
    }

    /// A non-blocking connect bounded by `timeout`; nil on success, else the reason.
    private static func connect(_ fd: Int32, _ addr: UnsafeMutablePointer<sockaddr>?, _ len: socklen_t, timeout: TimeInterval) -> String? {
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        if Glibc_connect(fd, addr, len) == 0 { return nil }
        guard errno == EINPROGRESS else { return String(cString: strerror(errno)) }
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&p, 1, Int32(max(1, timeout * 1000)))
        if ready == 0 { return "timed out after \(Int(timeout)) s" }
        if ready < 0 { return String(cString: strerror(errno)) }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
        return error == 0 ? nil : String(cString: strerror(error))
    }

    /// Runs a blocking call on the connection's queue.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            queue.async { c.resume(with: Result { try body() }) }
        }
    }

    /// True once ``close()`` was called.
    public var isClosed: Bool { lock.withLock { closed } }

    /// Shuts the socket down at once (a blocked read returns) and closes it after the calls queued before.
    public func close(after cleanup: (@Sendable () -> Void)? = nil) {
        let first = lock.withLock { () -> Bool in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        let fd = self.fd
        queue.async {
            cleanup?()
            Glibc_close(fd)
        }
    }
}

/// Plain (unencrypted) HTTP over a ``TCPSocket``.
public final class PlainByteStream: ByteStream {
    private let socket: TCPSocket

    /// Wraps a connected socket.
    public init(_ socket: TCPSocket) { self.socket = socket }

    public func write(_ data: Data) async throws {
        let fd = socket.fd
        try await socket.run {
            var offset = 0
            while offset < data.count {
                let n = data.withUnsafeBytes { send(fd, $0.baseAddress.map { $0 + offset }, data.count - offset, noSignal) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw KubernetesTransportError(method: "WRITE", url: "fd \(fd)", message: String(cString: strerror(errno)))
                }
                offset += n
            }
        }
    }

    public func read(maxLength: Int) async throws -> Data {
        let fd = socket.fd
        return try await socket.run {
            var buffer = [UInt8](repeating: 0, count: maxLength)
            while true {
                let n = recv(fd, &buffer, maxLength, 0)
                if n >= 0 { return Data(buffer.prefix(n)) }
                if errno == EINTR { continue }
                throw KubernetesTransportError(method: "READ", url: "fd \(fd)", message: errno == EAGAIN ? "timed out" : String(cString: strerror(errno)))
            }
        }
    }

    public func close() { socket.close() }
}

/// Connects plain TCP byte streams (HTTP without TLS).
public struct PlainConnector: ByteStreamConnector {
    /// Creates a connector.
    public init() {}

    public func connect(host: String, port: Int, timeout: TimeInterval) async throws -> any ByteStream {
        PlainByteStream(try await TCPSocket.connect(host: host, port: port, timeout: timeout))
    }
}

#if os(Linux)
private let noSignal = Int32(MSG_NOSIGNAL)
#else
private let noSignal: Int32 = 0
#endif

// The system calls, named apart from this file's methods of the same name.
private func Glibc_close(_ fd: Int32) { _ = close(fd) }
private func Glibc_connect(_ fd: Int32, _ addr: UnsafeMutablePointer<sockaddr>?, _ len: socklen_t) -> Int32 { connect(fd, addr, len) }
