import ArgumentParser
import COpenSSL
import Foundation
import Gen
import Logging
import WeftRPC
import WeftVirtualKubelet

/// `weft kubelet`: a virtual kubelet — a Kubernetes node whose pods run through the kubelet API.
struct VirtualKubeletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubelet",
        abstract: "Run a virtual kubelet: a Kubernetes node whose pods run through the kubelet API.",
        discussion: """
            Registers the node (labels type=virtual-kubelet, kubernetes.io/role=agent; taint \
            virtual-node.interlink/no-schedule=true:NoSchedule), keeps its status and Lease current, creates the pods \
            Kubernetes binds to it on the kubelet API (--server) with their ConfigMaps and Secrets, writes their status \
            back, and deletes them when Kubernetes does. Kubernetes is reached from --kubeconfig, $KUBECONFIG, \
            ~/.kube/config or the in-cluster service account. `kubectl logs` is not served (no port 10250); use \
            `weft pods logs --node NODE`.
            """)

    @Option(help: "Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then the in-cluster service account).")
    var kubeconfig: String?
    @Option(help: "Kubeconfig context (default: its current-context).")
    var context: String?
    @Option(name: .customLong("node-name"), help: "Name of the virtual node.")
    var nodeName = "weft-virtual-node"
    @Option(name: .customLong("node-ip"), help: "The node's InternalIP, also each pod's hostIP (default: $POD_IP, then 127.0.0.1).")
    var nodeIP: String?
    @Option(name: .customLong("node-label"), help: "Extra node label KEY=VALUE; repeatable.")
    var nodeLabels: [String] = []
    @Option(name: .customLong("status-interval"), help: "Seconds between node status updates (from the kubelet API's Ping).")
    var statusInterval: Double = 30
    @Option(name: .customLong("lease-interval"), help: "Seconds between node Lease renewals.")
    var leaseInterval: Double = 10
    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel = "info"
    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard statusInterval >= 1, leaseInterval >= 1 else { throw ValidationError("--status-interval and --lease-interval must be at least 1 second") }
        for label in nodeLabels where !label.contains("=") || label.hasPrefix("=") { throw ValidationError("--node-label \"\(label)\" is not KEY=VALUE") }
    }

    func run() async throws {
        bootstrapLogging(level: logLevel)
        let endpoint: KubernetesEndpoint
        do {
            endpoint = try KubeConfig.resolve(path: kubeconfig, context: context)
        } catch {
            throw OperationFailure("\(error)")
        }
        let kubernetes = KubernetesClient(endpoint: endpoint, transport: try Self.transport(for: endpoint))
        let (rpc, transport) = try client.client()
        var configuration = VirtualKubeletConfiguration(
            nodeName: nodeName, nodeAddress: nodeIP ?? ProcessInfo.processInfo.environment["POD_IP"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1")
        configuration.statusInterval = .milliseconds(Int64(statusInterval * 1000))
        configuration.leaseInterval = .milliseconds(Int64(leaseInterval * 1000))
        configuration.callTimeout = .milliseconds(Int64(client.timeout * 1000))
        for label in nodeLabels {
            guard let eq = label.firstIndex(of: "=") else { continue }
            configuration.nodeLabels[String(label[..<eq])] = String(label[label.index(after: eq)...])
        }
        let kubelet = VirtualKubelet(configuration: configuration, client: kubernetes, kubelet: Weft_Kubelet_V1_KubeletService.Client(rpc))
        FileHandle.standardError.write(Data("weft kubelet: node \(nodeName) on \(endpoint.server.absoluteString) (\(endpoint.origin)); pods run through the kubelet API at \(client.address); Ctrl-C stops\n".utf8))
        let running = Task { await kubelet.run() }
        await Up.waitForTermination()
        FileHandle.standardError.write(Data("weft kubelet: stopping\n".utf8))
        running.cancel()
        await running.value
        await transport.close()
    }
}

extension VirtualKubeletCommand {
    /// URLSession for plain HTTP and system-trusted HTTPS; HTTP/1.1 over OpenSSL when the
    /// kubeconfig names a CA, a TLS server name or skips verification, which URLSession on Linux
    /// cannot do per connection.
    static func transport(for endpoint: KubernetesEndpoint) throws -> any HTTPTransport {
        guard endpoint.usesTLS, endpoint.certificateAuthorityPEM != nil || endpoint.tlsServerName != nil || endpoint.insecureSkipTLSVerify else {
            return URLSessionHTTPTransport()
        }
        let context = try OpenSSLClientContext(certificateAuthorityPEM: endpoint.certificateAuthorityPEM, verify: !endpoint.insecureSkipTLSVerify)
        return HTTP1Transport(connector: OpenSSLConnector(context: context, serverName: endpoint.tlsServerName))
    }
}

// MARK: - TLS to the API server (OpenSSL over a blocking socket)

/// An `SSL_CTX` for connections to one API server: its CA (or the system's), TLS 1.2 or later,
/// ALPN `http/1.1`.
final class OpenSSLClientContext: @unchecked Sendable {
    let ctx: OpaquePointer

    init(certificateAuthorityPEM: Data?, verify: Bool) throws {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw OperationFailure("cannot create a TLS context: \(openSSLErrors())") }
        self.ctx = ctx
        SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        _ = SSL_CTX_set_options(ctx, UInt64(1) << 7)  // SSL_OP_IGNORE_UNEXPECTED_EOF: a closed connection ends a body
        if let pem = certificateAuthorityPEM {
            var added = 0
            pem.withUnsafeBytes { raw in
                guard let store = SSL_CTX_get_cert_store(ctx), let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return }
                defer { BIO_free(bio) }
                while let cert = PEM_read_bio_X509(bio, nil, nil, nil) {
                    if X509_STORE_add_cert(store, cert) == 1 { added += 1 }
                    X509_free(cert)
                }
            }
            ERR_clear_error()  // PEM_read_bio_X509 leaves "no start line" at the end of the data.
            guard added > 0 else { throw OperationFailure("the cluster's certificate-authority holds no PEM certificate") }
        } else {
            SSL_CTX_set_default_verify_paths(ctx)
        }
        SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
        let alpn: [UInt8] = [8] + Array("http/1.1".utf8)
        _ = SSL_CTX_set_alpn_protos(ctx, alpn, UInt32(alpn.count))
    }

    deinit { SSL_CTX_free(ctx) }
}

/// Opens TLS connections verified against the API server's CA, by host name or IP address
/// (or the kubeconfig's `tls-server-name`).
struct OpenSSLConnector: ByteStreamConnector {
    let context: OpenSSLClientContext
    let serverName: String?

    func connect(host: String, port: Int, timeout: TimeInterval) async throws -> any ByteStream {
        let socket = try await TCPSocket.connect(host: host, port: port, timeout: timeout)
        let name = serverName ?? host
        let ctx = context
        do {
            let ssl = try await socket.run { () throws -> OpenSSLConnection in
                guard let ssl = SSL_new(ctx.ctx) else { throw TLSFailure("SSL_new: \(openSSLErrors())") }
                let connection = OpenSSLConnection(ssl)
                SSL_set_fd(ssl, socket.fd)
                if isIPAddress(name) {
                    _ = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name)
                } else {
                    _ = name.withCString { SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0)) }
                    _ = SSL_set1_host(ssl, name)
                }
                ERR_clear_error()
                guard SSL_connect(ssl) == 1 else {
                    let verify = SSL_get_verify_result(ssl)
                    if verify != X509_V_OK {
                        throw TLSFailure("the server's certificate is not trusted for \(name): \(String(cString: X509_verify_cert_error_string(verify)))")
                    }
                    throw TLSFailure("TLS handshake failed: \(openSSLErrors())")
                }
                return connection
            }
            return OpenSSLByteStream(socket: socket, connection: ssl)
        } catch {
            socket.close()
            throw KubernetesTransportError(method: "CONNECT", url: "https://\(host):\(port)", message: "\(error)")
        }
    }
}

/// One `SSL`, used only on its socket's queue.
final class OpenSSLConnection: @unchecked Sendable {
    let ssl: OpaquePointer
    init(_ ssl: OpaquePointer) { self.ssl = ssl }
    deinit { SSL_free(ssl) }
}

/// A TLS byte stream: `SSL_read`/`SSL_write` on the socket's serial queue.
final class OpenSSLByteStream: ByteStream {
    let socket: TCPSocket
    let connection: OpenSSLConnection

    init(socket: TCPSocket, connection: OpenSSLConnection) {
        self.socket = socket
        self.connection = connection
    }

    func write(_ data: Data) async throws {
        let ssl = connection
        try await socket.run {
            var offset = 0
            while offset < data.count {
                ERR_clear_error()
                let n = data.withUnsafeBytes { SSL_write(ssl.ssl, $0.baseAddress.map { $0 + offset }, Int32(data.count - offset)) }
                guard n > 0 else { throw TLSFailure("write: \(sslError(ssl.ssl, n))") }
                offset += Int(n)
            }
        }
    }

    func read(maxLength: Int) async throws -> Data {
        let ssl = connection
        return try await socket.run {
            var buffer = [UInt8](repeating: 0, count: maxLength)
            ERR_clear_error()
            let n = SSL_read(ssl.ssl, &buffer, Int32(maxLength))
            if n > 0 { return Data(buffer.prefix(Int(n))) }
            let code = SSL_get_error(ssl.ssl, n)
            if code == SSL_ERROR_ZERO_RETURN || (code == SSL_ERROR_SYSCALL && errno == 0) { return Data() }
            throw TLSFailure("read: \(sslError(ssl.ssl, n))")
        }
    }

    func close() {
        let keep = connection
        socket.close(after: { _ = keep })
    }
}

/// A TLS failure with OpenSSL's reason.
struct TLSFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

private func openSSLErrors() -> String {
    var reasons: [String] = []
    while case let code = ERR_get_error(), code != 0 {
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return reasons.isEmpty ? "no details" : reasons.joined(separator: "; ")
}

private func sslError(_ ssl: OpaquePointer, _ rc: Int32) -> String {
    let code = SSL_get_error(ssl, rc)
    if code == SSL_ERROR_SYSCALL {
        return errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : String(cString: strerror(errno))
    }
    return "SSL error \(code): \(openSSLErrors())"
}

private func isIPAddress(_ s: String) -> Bool {
    var v4 = in_addr()
    var v6 = in6_addr()
    return inet_pton(AF_INET, s, &v4) == 1 || inet_pton(AF_INET6, s, &v6) == 1
}
