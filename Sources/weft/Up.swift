import ArgumentParser
import Dispatch
import Foundation
import Gen
import Logging
import WeftHealth
import WeftHTTP2
import WeftReflection
import WeftRPC
import WeftTLS

/// `weft up`: every service in one process on one port.
struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve every Weft service in one process on one port (gRPC over HTTP/2).")

    @Option(help: "Address to listen on: HOST:PORT, or unix:PATH.") var listen = "127.0.0.1:7700"
    @Option(name: .customLong("data-dir"), help: "Directory for state.") var dataDir = "./.weft"
    @Option(name: .customLong("tls-cert"), help: "Serve TLS with this certificate chain (PEM).") var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "Private key of --tls-cert (PEM).") var tlsKey: String?
    @Option(name: .customLong("client-ca"), help: "Require client certificates signed by this CA (mutual TLS).") var clientCA: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = Logger.Level(rawValue: self.logLevel) ?? .info
            return h
        }
        ProcessTuning.forServer()
        let target = try Self.parseTarget(listen)
        var tls: TLSConfiguration?
        if tlsCert != nil || tlsKey != nil {
            guard let tlsCert, let tlsKey else { throw ValidationError("--tls-cert and --tls-key go together") }
            tls = TLSConfiguration(certificateChainFile: tlsCert, privateKeyFile: tlsKey, trustRootsFile: clientCA,
                                   requireClientCertificate: clientCA != nil)
        }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let health = HealthService()
        let hosted = [Grpc_Health_V1_Health.serviceName]
        let reflection = ReflectionService(files: GenFiles.files, services: hosted)
        let rpc = RPCServer(services: [health, reflection, reflection.v1alpha])
        let server: HTTP2Server
        do {
            server = try await HTTP2Server.start(serving: rpc, configuration: .init(target: target, tls: tls))
        } catch {
            throw OperationFailure("cannot listen on \(listen): \(error)")
        }
        for s in rpc.router.serviceNames { health.setStatus(.serving, for: s) }
        let bound = server.localAddress.map { "\($0)" } ?? listen
        FileHandle.standardError.write(Data("weft up: serving \(rpc.router.serviceNames.joined(separator: ", ")) on \(bound)\(tls == nil ? " (h2c)" : " (TLS)"); Ctrl-C stops\n".utf8))
        await Self.waitForTermination()
        FileHandle.standardError.write(Data("weft up: shutting down gracefully\n".utf8))
        health.shutDown()
        await server.shutDownGracefully(timeout: .seconds(10))
    }

    /// `HOST:PORT`, `[V6]:PORT` or `unix:PATH`.
    static func parseTarget(_ s: String) throws -> BindTarget {
        if s.hasPrefix("unix:") { return .unix(path: String(s.dropFirst(5))) }
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("\"\(s)\" is not HOST:PORT or unix:PATH")
        }
        var host = String(s[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return .tcp(host: host, port: port)
    }

    /// Returns on SIGINT or SIGTERM.
    static func waitForTermination() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let once = SignalOnce(c)
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .main)
                source.setEventHandler { once.fire() }
                source.resume()
                once.keep(source)
            }
        }
    }
}

/// Resumes a continuation once, from whichever signal comes first.
private final class SignalOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    private var sources: [any DispatchSourceSignal] = []
    init(_ c: CheckedContinuation<Void, Never>) { continuation = c }
    func keep(_ s: any DispatchSourceSignal) { lock.lock(); sources.append(s); lock.unlock() }
    func fire() {
        lock.lock()
        let c = continuation
        continuation = nil
        lock.unlock()
        c?.resume()
    }
}
