import COpenSSL
import NIOCore

/// TLS settings from PEM files.
public struct TLSConfiguration: Sendable {
    /// The certificate chain to present (PEM); required on servers, for mutual TLS on clients.
    public var certificateChainFile: String?
    /// The private key of that certificate (PEM).
    public var privateKeyFile: String?
    /// CA certificates (PEM) that verify the peer; clients use the system store when nil.
    public var trustRootsFile: String?
    /// Servers: require and verify a client certificate (mutual TLS).
    public var requireClientCertificate: Bool
    /// Clients: the name to verify in the server's certificate and to send as SNI, when it differs
    /// from the host connected to (`--server_host_override`).
    public var serverNameOverride: String?

    /// Creates a configuration.
    public init(
        certificateChainFile: String? = nil, privateKeyFile: String? = nil, trustRootsFile: String? = nil,
        requireClientCertificate: Bool = false, serverNameOverride: String? = nil
    ) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.trustRootsFile = trustRootsFile
        self.requireClientCertificate = requireClientCertificate
        self.serverNameOverride = serverNameOverride
    }
}

/// A TLS failure with OpenSSL's reason.
public struct TLSError: Error, CustomStringConvertible {
    /// What failed, with OpenSSL's error queue text.
    public let message: String
    init(_ what: String) {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buf, buf.count)
            reasons.append(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        message = reasons.isEmpty ? what : "\(what): \(reasons.joined(separator: "; "))"
    }
    public var description: String { message }
}

/// An `SSL_CTX` made once per server or client and shared by its connections.
public final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer
    let configuration: TLSConfiguration

    /// Loads certificates and keys; throws ``TLSError`` naming the file that failed.
    public init(configuration: TLSConfiguration, isServer: Bool) throws {
        guard let ctx = SSL_CTX_new(isServer ? TLS_server_method() : TLS_client_method()) else { throw TLSError("SSL_CTX_new") }
        self.ctx = ctx
        self.configuration = configuration
        // SSL_CTX_set_min_proto_version is a macro over SSL_CTX_ctrl.
        SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        if let chain = configuration.certificateChainFile {
            guard SSL_CTX_use_certificate_chain_file(ctx, chain) == 1 else { throw TLSError("cannot load certificate chain \(chain)") }
        }
        if let key = configuration.privateKeyFile {
            guard SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 else { throw TLSError("cannot load private key \(key)") }
            guard SSL_CTX_check_private_key(ctx) == 1 else { throw TLSError("private key \(key) does not match the certificate") }
        }
        if let roots = configuration.trustRootsFile {
            guard SSL_CTX_load_verify_locations(ctx, roots, nil) == 1 else { throw TLSError("cannot load CA file \(roots)") }
        } else if !isServer {
            SSL_CTX_set_default_verify_paths(ctx)
        }
        if isServer {
            guard configuration.certificateChainFile != nil, configuration.privateKeyFile != nil else {
                throw TLSError("a TLS server needs a certificate chain and a private key")
            }
            if configuration.requireClientCertificate {
                SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
            }
            SSL_CTX_set_alpn_select_cb(ctx, selectALPN, nil)
        } else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
            let protos: [UInt8] = [2, UInt8(ascii: "h"), UInt8(ascii: "2")]
            guard SSL_CTX_set_alpn_protos(ctx, protos, UInt32(protos.count)) == 0 else { throw TLSError("cannot set ALPN") }
        }
    }

    deinit { SSL_CTX_free(ctx) }
}

/// Server side of ALPN: choose `h2` or fail the handshake.
private let selectALPN: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
    UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
) -> Int32 = { _, out, outlen, input, inlen, _ in
    guard let out, let outlen, let input else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    var i = 0
    while i < Int(inlen) {
        let n = Int(input[i])
        if n == 2, i + 2 < Int(inlen), input[i + 1] == UInt8(ascii: "h"), input[i + 2] == UInt8(ascii: "2") {
            out.pointee = input + i + 1
            outlen.pointee = 2
            return SSL_TLSEXT_ERR_OK
        }
        i += 1 + n
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL
}

/// TLS by OpenSSL over memory BIOs, as a SwiftNIO handler below the HTTP/2 handler.
///
/// Ciphertext from the socket goes into the read BIO; plaintext comes out of `SSL_read` and up the
/// pipeline. Plaintext written before the handshake completes is held and sent after it.
///
/// Every OpenSSL I/O call starts with `ERR_clear_error()`: `SSL_get_error` reads the calling
/// thread's error queue, and an event-loop thread shares that queue between all its connections, so
/// an error left by one connection (a failed handshake, a verification failure) would otherwise make
/// a harmless `SSL_ERROR_WANT_READ` on another look fatal and close it.
/// Fired inbound once the TLS handshake has completed, so that handlers above learn who the peer
/// proved to be (mutual TLS) without reaching into the TLS handler.
public struct TLSEstablished: Sendable, Hashable {
    /// The negotiated ALPN protocol.
    public var applicationProtocol: String?
    /// The RFC 2253 subject of the verified client certificate, when the peer presented one.
    public var peerSubject: String?
}

public final class OpenSSLHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let ssl: OpaquePointer
    private let rbio: OpaquePointer
    private let wbio: OpaquePointer
    private let context: TLSContext
    private var handshakeDone = false
    private var pending: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var closed = false

    /// Creates the handler for one connection; `serverName` is the host to verify on clients.
    public init(context: TLSContext, isServer: Bool, serverName: String?) throws {
        guard let ssl = SSL_new(context.ctx) else { throw TLSError("SSL_new") }
        guard let rbio = BIO_new(BIO_s_mem()), let wbio = BIO_new(BIO_s_mem()) else { throw TLSError("BIO_new") }
        SSL_set_bio(ssl, rbio, wbio)
        self.ssl = ssl
        self.rbio = rbio
        self.wbio = wbio
        self.context = context
        if isServer {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if let name = context.configuration.serverNameOverride ?? serverName {
                // SNI (SSL_set_tlsext_host_name is a macro over SSL_ctrl) and hostname verification.
                _ = name.withCString { SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0)) }
                _ = name.withCString { SSL_set1_host(ssl, $0) }
            }
        }
    }

    deinit { SSL_free(ssl) }

    public func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        if SSL_is_server(ssl) == 0 { handshake(context: context) }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        bytes.withUnsafeReadableBytes { raw in
            if let base = raw.baseAddress { _ = BIO_write(rbio, base, Int32(raw.count)) }
        }
        bytes.clear()
        if !handshakeDone {
            handshake(context: context)
            if !handshakeDone { return }
        }
        readPlaintext(context: context)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        flushCiphertext(context: context)
        context.fireChannelReadComplete()
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let plaintext = unwrapOutboundIn(data)
        guard handshakeDone else {
            pending.append((plaintext, promise))
            return
        }
        encrypt(plaintext, context: context, promise: promise)
    }

    public func flush(context: ChannelHandlerContext) {
        flushCiphertext(context: context)
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if !closed, handshakeDone, mode == .all {
            closed = true
            ERR_clear_error()
            SSL_shutdown(ssl)
            ERR_clear_error()
            flushCiphertext(context: context)
        }
        context.close(mode: mode, promise: promise)
    }

    /// The negotiated ALPN protocol, if any.
    public var negotiatedProtocol: String? {
        var p: UnsafePointer<UInt8>?
        var n: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &p, &n)
        guard let p, n > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: p, count: Int(n)), as: UTF8.self)
    }

    /// The subject of the verified peer certificate (mutual TLS), e.g. `CN=alice,O=Site`.
    public var peerSubject: String? {
        guard let cert = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(cert) }
        guard let name = X509_get_subject_name(cert), let bio = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        // XN_FLAG_RFC2253 (a macro): ESC_2253 | ESC_CTRL | ESC_MSB | UTF8_CONVERT | DUMP_UNKNOWN_FIELDS | DUMP_DER | SEP_COMMA_PLUS | DN_REV | FN_SN.
        let rfc2253: UInt = 1 | 2 | 4 | 0x10 | 0x100 | 0x200 | (1 << 16) | (1 << 20)
        X509_NAME_print_ex(bio, name, 0, rfc2253)
        return drain(bio).map { String(decoding: $0, as: UTF8.self) }
    }

    private func handshake(context: ChannelHandlerContext) {
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        flushCiphertext(context: context)
        if rc == 1 {
            handshakeDone = true
            if negotiatedProtocol != "h2" {
                context.fireErrorCaught(TLSError("peer did not negotiate ALPN h2"))
                context.close(promise: nil)
                return
            }
            let queued = pending
            pending.removeAll()
            for (b, p) in queued { encrypt(b, context: context, promise: p) }
            flushCiphertext(context: context)
            context.fireUserInboundEventTriggered(TLSEstablished(applicationProtocol: negotiatedProtocol, peerSubject: peerSubject))
            return
        }
        let err = SSL_get_error(ssl, rc)
        if err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE { return }
        let e = TLSError("TLS handshake failed")
        for (_, p) in pending { p?.fail(e) }
        pending.removeAll()
        context.fireErrorCaught(e)
        context.close(promise: nil)
    }

    private func readPlaintext(context: ChannelHandlerContext) {
        while true {
            var out = context.channel.allocator.buffer(capacity: 16384)
            var got: Int32 = 0
            ERR_clear_error()
            out.writeWithUnsafeMutableBytes(minimumWritableBytes: 16384) { raw in
                got = SSL_read(ssl, raw.baseAddress, Int32(raw.count))
                return got > 0 ? Int(got) : 0
            }
            if got > 0 {
                context.fireChannelRead(wrapInboundOut(out))
                continue
            }
            let err = SSL_get_error(ssl, got)
            if err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE { return }
            if err == SSL_ERROR_ZERO_RETURN {
                context.close(promise: nil)
                return
            }
            context.fireErrorCaught(TLSError("TLS read failed"))
            context.close(promise: nil)
            return
        }
    }

    private func encrypt(_ plaintext: ByteBuffer, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        var ok = true
        ERR_clear_error()
        plaintext.withUnsafeReadableBytes { raw in
            var offset = 0
            while offset < raw.count, let base = raw.baseAddress {
                let n = SSL_write(ssl, base + offset, Int32(min(raw.count - offset, Int(Int32.max))))
                if n <= 0 { ok = false; return }
                offset += Int(n)
            }
        }
        if ok {
            let ciphertext = drainToBuffer(context: context)
            if let ciphertext { context.write(wrapOutboundOut(ciphertext), promise: promise) } else { promise?.succeed(()) }
        } else {
            promise?.fail(TLSError("TLS write failed"))
        }
    }

    private func flushCiphertext(context: ChannelHandlerContext) {
        if let b = drainToBuffer(context: context) { context.write(wrapOutboundOut(b), promise: nil) }
        context.flush()
    }

    private func drainToBuffer(context: ChannelHandlerContext) -> ByteBuffer? {
        let n = Int(BIO_ctrl_pending(wbio))
        guard n > 0 else { return nil }
        var out = context.channel.allocator.buffer(capacity: n)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: n) { raw in
            Int(max(0, BIO_read(wbio, raw.baseAddress, Int32(n))))
        }
        return out
    }

    private func drain(_ bio: OpaquePointer) -> [UInt8]? {
        let n = Int(BIO_ctrl_pending(bio))
        guard n > 0 else { return nil }
        var out = [UInt8](repeating: 0, count: n)
        let got = BIO_read(bio, &out, Int32(n))
        return got > 0 ? Array(out[..<Int(got)]) : nil
    }
}
