// The shared RPC conformance checks over real sockets: h2c on TCP, a Unix domain socket, TLS and
// mutual TLS.

import Foundation
import Testing
import TestProtos
import TestSupport
@testable import WeftHTTP2
import WeftRPC
import WeftTLS

/// Test certificates (test-only keys, committed) under Tests/interop/certs.
enum Certs {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("interop/certs").path
    static var ca: String { dir + "/ca.pem" }
    static var serverCert: String { dir + "/server.pem" }
    static var serverKey: String { dir + "/server.key" }
    static var clientCert: String { dir + "/client.pem" }
    static var clientKey: String { dir + "/client.key" }
}

/// Starts a server for `rpc` and returns a client transport to it.
func serve(_ rpc: RPCServer, tls: Bool = false, mutual: Bool = false, unix: Bool = false, limits: HTTP2ServerLimits = .init()) async throws -> (HTTP2Server, HTTP2ClientTransport) {
    let target: BindTarget = unix ? .unix(path: NSTemporaryDirectory() + "weft-test-\(UUID().uuidString.prefix(8)).sock") : .tcp(host: "127.0.0.1", port: 0)
    let serverTLS = tls ? TLSConfiguration(certificateChainFile: Certs.serverCert, privateKeyFile: Certs.serverKey,
                                            trustRootsFile: mutual ? Certs.ca : nil, requireClientCertificate: mutual) : nil
    let server = try await HTTP2Server.start(serving: rpc, configuration: .init(target: target, tls: serverTLS, limits: limits))
    let clientTarget: BindTarget
    if case let .unix(path) = target { clientTarget = .unix(path: path) } else { clientTarget = .tcp(host: "127.0.0.1", port: server.port ?? 0) }
    let clientTLS = tls ? TLSConfiguration(certificateChainFile: mutual ? Certs.clientCert : nil, privateKeyFile: mutual ? Certs.clientKey : nil,
                                            trustRootsFile: Certs.ca, serverNameOverride: "foo.test.google.fr") : nil
    return (server, try HTTP2ClientTransport(target: clientTarget, tls: clientTLS))
}

struct H2CConformanceTests {
    let checks = RPCConformance { try await serve($0).1 }
    @Test func unary() async throws { try await checks.unary() }
    @Test func serverStreaming() async throws { try await checks.serverStreaming() }
    @Test func serverStreamingErrorAfterMessages() async throws { try await checks.serverStreamingErrorAfterMessages() }
    @Test func clientStreaming() async throws { try await checks.clientStreaming() }
    @Test func bidirectional() async throws { try await checks.bidirectional() }
    @Test func statusesAndMetadata() async throws { try await checks.statusesAndMetadata() }
    @Test func unimplementedMethodAndService() async throws { try await checks.unimplementedMethodAndService() }
    @Test func deadlineExceededCancelsTheHandler() async throws { try await checks.deadlineExceededCancelsTheHandler() }
    @Test func clientCancellation() async throws { try await checks.clientCancellation() }
    @Test func interceptorsBothSides() async throws { try await checks.interceptorsBothSides() }
}

struct UnixSocketConformanceTests {
    let checks = RPCConformance { try await serve($0, unix: true).1 }
    @Test func unary() async throws { try await checks.unary() }
    @Test func bidirectional() async throws { try await checks.bidirectional() }
    @Test func clientCancellation() async throws { try await checks.clientCancellation() }
}

struct TLSConformanceTests {
    let checks = RPCConformance { try await serve($0, tls: true).1 }
    @Test func unary() async throws { try await checks.unary() }
    @Test func serverStreaming() async throws { try await checks.serverStreaming() }
    @Test func clientStreaming() async throws { try await checks.clientStreaming() }
    @Test func bidirectional() async throws { try await checks.bidirectional() }
    @Test func statusesAndMetadata() async throws { try await checks.statusesAndMetadata() }
    @Test func deadlineExceededCancelsTheHandler() async throws { try await checks.deadlineExceededCancelsTheHandler() }
}

struct MutualTLSTests {
    @Test func clientCertificateRequired() async throws {
        let checks = RPCConformance { try await serve($0, tls: true, mutual: true).1 }
        try await checks.unary()
        // Without a client certificate the handshake fails: UNAVAILABLE.
        let (server, _) = try await serve(RPCServer(services: [KindsService()]), tls: true, mutual: true)
        let anonymous = try HTTP2ClientTransport(
            target: .tcp(host: "127.0.0.1", port: server.port ?? 0),
            tls: TLSConfiguration(trustRootsFile: Certs.ca, serverNameOverride: "foo.test.google.fr"))
        do {
            _ = try await Weft_Testing_Kinds.Client(transport: anonymous).unary(checks.nested(1), options: CallOptions(timeout: .seconds(5)))
            Issue.record("call without a client certificate succeeded")
        } catch let e as RPCError {
            #expect(e.code == .unavailable || e.code == .deadlineExceeded)
        }
    }

    @Test func wrongServerNameIsRefused() async throws {
        let (server, _) = try await serve(RPCServer(services: [KindsService()]), tls: true)
        let t = try HTTP2ClientTransport(
            target: .tcp(host: "127.0.0.1", port: server.port ?? 0),
            tls: TLSConfiguration(trustRootsFile: Certs.ca, serverNameOverride: "evil.example.org"))
        do {
            _ = try await Weft_Testing_Kinds.Client(transport: t).unary(Weft_Testing_Nested(), options: CallOptions(timeout: .seconds(5)))
            Issue.record("certificate for the wrong name accepted")
        } catch let e as RPCError {
            #expect(e.code == .unavailable || e.code == .deadlineExceeded)
        }
    }
}
