import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import WeftHTTP2
import WeftInterop
import WeftInteropClient
import Gen
import WeftHealth
import WeftReflection
import WeftRPC
import WeftTLS

/// `weft interop-server`: grpc.testing.TestService with grpc-go's interop server flags.
struct InteropServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interop-server", abstract: "Serve grpc.testing.TestService for gRPC interop tests.")

    @Option(name: .customLong("port"), help: "Port to listen on.") var port: Int = 10000
    @Option(name: .customLong("host"), help: "Address to listen on.") var host = "127.0.0.1"
    @Option(name: .customLong("use_tls"), help: "Serve TLS (true|false).") var useTLS = false
    @Option(name: .customLong("tls_cert_file"), help: "Server certificate chain (PEM).") var certFile: String?
    @Option(name: .customLong("tls_key_file"), help: "Server private key (PEM).") var keyFile: String?
    @Option(name: .customLong("threads"), help: "Event-loop threads (default: one per core).") var threads: Int?

    func run() async throws {
        ProcessTuning.forServer()
        var tls: TLSConfiguration?
        if useTLS {
            guard let certFile, let keyFile else { throw ValidationError("--use_tls=true needs --tls_cert_file and --tls_key_file") }
            tls = TLSConfiguration(certificateChainFile: certFile, privateKeyFile: keyFile)
        }
        let reflection = ReflectionService(files: GenFiles.files, services: [Grpc_Testing_TestService.serviceName, Grpc_Health_V1_Health.serviceName])
        let rpc = RPCServer(services: [InteropTestService(), HealthService(), reflection, reflection.v1alpha])
        let group: any EventLoopGroup = threads.map { MultiThreadedEventLoopGroup(numberOfThreads: max(1, $0)) } ?? MultiThreadedEventLoopGroup.singleton
        let server = try await HTTP2Server.start(serving: rpc, configuration: .init(target: .tcp(host: host, port: port), tls: tls), group: group)
        FileHandle.standardError.write(Data("interop-server: listening on \(host):\(server.port ?? port)\(useTLS ? " (TLS)" : "")\n".utf8))
        await Up.waitForTermination()
        await server.shutDownGracefully(timeout: .seconds(2))
    }
}

/// `weft interop-client`: runs one interop case against a server; exits 0 only if it passed.
struct InteropClient: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interop-client", abstract: "Run a gRPC interop test case against a server.")

    @Option(name: .customLong("server_host")) var serverHost = "localhost"
    @Option(name: .customLong("server_port")) var serverPort: Int = 10000
    @Option(name: .customLong("test_case"), help: "A case name, or all.") var testCase = "large_unary"
    @Option(name: .customLong("use_tls")) var useTLS = false
    @Option(name: .customLong("ca_file"), help: "CA certificates (PEM) that verify the server.") var caFile: String?
    @Option(name: .customLong("server_host_override"), help: "Name to verify in the server certificate.") var hostOverride: String?

    func run() async throws {
        let tls = useTLS ? TLSConfiguration(trustRootsFile: caFile, serverNameOverride: hostOverride.flatMap { $0.isEmpty ? nil : $0 }) : nil
        let transport = try HTTP2ClientTransport(target: .tcp(host: serverHost, port: serverPort), tls: tls)
        let cases = InteropCases(transport: transport)
        let names = testCase == "all" ? InteropCases.names : [testCase]
        var failed = 0
        for name in names {
            do {
                try await cases.run(name)
                print("\(name): PASS")
            } catch {
                failed += 1
                print("\(name): FAIL: \(error)")
            }
        }
        await transport.close()
        if failed > 0 { throw OperationFailure("\(failed) of \(names.count) interop case(s) failed") }
    }
}
