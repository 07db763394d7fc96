// The OpenSSL handler between two in-memory channels on one thread, as connections share an event loop.

import COpenSSL
import Foundation
import NIOCore
import NIOEmbedded
import Testing
import WeftTLS

private enum Certs {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("interop/certs").path
}

/// A client and a server handler joined back to back; `pump` moves ciphertext until both are idle.
private struct Pair {
    let client: EmbeddedChannel
    let server: EmbeddedChannel

    init() throws {
        let serverContext = try TLSContext(
            configuration: .init(certificateChainFile: Certs.dir + "/server.pem", privateKeyFile: Certs.dir + "/server.key"), isServer: true)
        let clientContext = try TLSContext(
            configuration: .init(trustRootsFile: Certs.dir + "/ca.pem", serverNameOverride: "foo.test.google.fr"), isServer: false)
        server = EmbeddedChannel(handler: try OpenSSLHandler(context: serverContext, isServer: true, serverName: nil))
        client = EmbeddedChannel(handler: try OpenSSLHandler(context: clientContext, isServer: false, serverName: nil))
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 7700)
        try server.connect(to: address).wait()
        try client.connect(to: address).wait()
        try pump()
    }

    func pump() throws {
        var moved = true
        while moved {
            moved = false
            while let bytes = try client.readOutbound(as: ByteBuffer.self) { try server.writeInbound(bytes); moved = true }
            while let bytes = try server.readOutbound(as: ByteBuffer.self) { try client.writeInbound(bytes); moved = true }
        }
    }

    func received(on channel: EmbeddedChannel) throws -> String {
        var text = ""
        while var b = try channel.readInbound(as: ByteBuffer.self) { text += b.readString(length: b.readableBytes) ?? "" }
        return text
    }
}

/// Leaves an error on this thread's OpenSSL error queue, as a failed handshake or a bad file on
/// another connection of the same event loop does.
private func leaveAStaleError() {
    let ctx = SSL_CTX_new(TLS_method())
    defer { SSL_CTX_free(ctx) }
    #expect(SSL_CTX_use_certificate_chain_file(ctx, "/nonexistent/weft-test.pem") != 1)
    #expect(ERR_peek_error() != 0)
}

struct OpenSSLHandlerTests {
    @Test func handshakeNegotiatesH2AndCarriesDataBothWays() throws {
        let pair = try Pair()
        try pair.client.writeAndFlush(ByteBuffer(string: "ping")).wait()
        try pair.pump()
        #expect(try pair.received(on: pair.server) == "ping")
        try pair.server.writeAndFlush(ByteBuffer(string: "pong")).wait()
        try pair.pump()
        #expect(try pair.received(on: pair.client) == "pong")
    }

    /// Regression: a stale error on the thread's queue made `SSL_get_error` report a fatal error for
    /// an ordinary "want more input", and the connection was closed mid-call.
    @Test func aStaleErrorOnTheThreadDoesNotCloseAHealthyConnection() throws {
        let pair = try Pair()
        for round in 0..<3 {
            leaveAStaleError()
            try pair.client.writeAndFlush(ByteBuffer(string: "request \(round)")).wait()
            try pair.pump()
            #expect(try pair.received(on: pair.server) == "request \(round)")
            leaveAStaleError()
            try pair.server.writeAndFlush(ByteBuffer(string: "response \(round)")).wait()
            try pair.pump()
            #expect(try pair.received(on: pair.client) == "response \(round)")
        }
        #expect(pair.client.isActive && pair.server.isActive)
    }

    @Test func aCertificateForAnotherNameIsRefused() throws {
        let serverContext = try TLSContext(
            configuration: .init(certificateChainFile: Certs.dir + "/server.pem", privateKeyFile: Certs.dir + "/server.key"), isServer: true)
        let clientContext = try TLSContext(
            configuration: .init(trustRootsFile: Certs.dir + "/ca.pem", serverNameOverride: "evil.example.org"), isServer: false)
        let server = EmbeddedChannel(handler: try OpenSSLHandler(context: serverContext, isServer: true, serverName: nil))
        let client = EmbeddedChannel(handler: try OpenSSLHandler(context: clientContext, isServer: false, serverName: nil))
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 7700)
        try server.connect(to: address).wait()
        var failure: (any Error)?
        do {
            try client.connect(to: address).wait()
            for _ in 0..<4 {
                while let b = try client.readOutbound(as: ByteBuffer.self) { try server.writeInbound(b) }
                while let b = try server.readOutbound(as: ByteBuffer.self) { try client.writeInbound(b) }
            }
        } catch { failure = error }
        #expect(failure is TLSError)
        #expect(String(describing: failure.map { "\($0)" } ?? "").contains("certificate verify failed"))
    }
}
