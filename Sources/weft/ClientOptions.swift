import ArgumentParser
import Foundation
import WeftHTTP2
import WeftRPC
import WeftTLS

/// The options every client command takes (DESIGN §9): where the server is and how to reach it.
struct ClientOptions: ParsableArguments {
    @Option(help: "Server address HOST:PORT or unix:PATH (default: $WEFT_SERVER, then 127.0.0.1:7700).")
    var server: String?
    @Option(name: .customLong("ca-file"), help: "Use TLS and verify the server with this CA (PEM).")
    var caFile: String?
    @Option(name: .customLong("server-name"), help: "Name to verify in the server's certificate, if not the host.")
    var serverName: String?
    @Option(name: .customLong("token-file"), help: "Send the bearer token in this file (default: $WEFT_TOKEN).")
    var tokenFile: String?
    @Option(help: "Give up on each call after this many seconds.")
    var timeout: Double = 60

    /// The resolved address.
    var address: String { server ?? ProcessInfo.processInfo.environment["WEFT_SERVER"] ?? "127.0.0.1:7700" }

    /// A client on a new connection, with the token (if any) on every call.
    func client() throws -> (RPCClient, HTTP2ClientTransport) {
        let target = try Up.parseTarget(address)
        let tls = caFile.map { TLSConfiguration(trustRootsFile: $0, serverNameOverride: serverName) }
        let transport: HTTP2ClientTransport
        do {
            transport = try HTTP2ClientTransport(target: target, tls: tls)
        } catch {
            throw OperationFailure("cannot set up TLS: \(error)")
        }
        var metadata = Metadata()
        if let token = try token() { metadata.addString("Bearer \(token)", forKey: "authorization") }
        return (RPCClient(transport: transport, defaultOptions: CallOptions(metadata: metadata)), transport)
    }

    /// Options for one unary call.
    var callOptions: CallOptions { CallOptions(timeout: .milliseconds(Int64(timeout * 1000))) }

    private func token() throws -> String? {
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else { throw OperationFailure("cannot read the token file \(tokenFile)") }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return ProcessInfo.processInfo.environment["WEFT_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Output formats of commands that print objects.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, yaml
}

/// Turns an `RPCError` into the CLI's failure (exit 1, status and message on stderr).
func failure(_ error: any Error, _ what: String) -> any Error {
    if let e = error as? RPCError { return OperationFailure("\(what): \(e.code): \(e.message)") }
    if error is OperationFailure || error is ExitCode || error is ValidationError { return error }
    return OperationFailure("\(what): \(error)")
}
