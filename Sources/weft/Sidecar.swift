import ArgumentParser
import Foundation
import Logging
import WeftAuth
import WeftHealth
import WeftHTTP2
import WeftRPC
import WeftSandboxSidecar
import WeftSlurmSidecar
import WeftTLS

/// `weft sidecar`: one sidecar on its own port, for a kubelet API elsewhere (`weft up --sidecar`).
struct Sidecar: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a sidecar (weft.sidecar.v1.SidecarService) that runs pods on a backend.")

    enum Backend: String, ExpressibleByArgument, CaseIterable { case sandbox, slurm }

    @Option(help: "Backend: sandbox (bubblewrap on this host) or slurm (one sbatch job per pod).") var backend: Backend = .sandbox
    @Option(help: "Address to listen on: HOST:PORT, or unix:PATH.") var listen = "127.0.0.1:7701"
    @Option(name: .customLong("state-dir"), help: "Directory for pod records, volumes and logs.") var stateDir = "./.weft-sidecar"
    @Option(name: .customLong("image-root"), help: "Where image root file systems are (default STATE-DIR/images).") var imageRoot: String?
    @Flag(name: .customLong("allow-host-path"), help: "Allow hostPath volumes.") var allowHostPath = false
    @Option(help: "Slurm: container runtime (auto, apptainer, singularity, podman, none).") var runtime: String = "auto"
    @Option(help: "Slurm: partition to submit to (the cluster's default when omitted).") var partition: String?
    @Option(name: .customLong("poll-interval"), help: "Slurm: seconds between squeue polls.") var pollInterval: Double = 1
    @Option(name: .customLong("tls-cert"), help: "Serve TLS with this certificate chain (PEM).") var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "Private key of --tls-cert (PEM).") var tlsKey: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"
    @Option(help: "Configuration file (YAML): auth issuers and grants (callers need the sidecar permission). Without: development mode.") var config: String?
    @Option(name: .customLong("client-ca"), help: "Require client certificates signed by this CA (mutual TLS).") var clientCA: String?

    func run() async throws {
        bootstrapLogging(level: logLevel)
        ProcessTuning.forServer()
        let target = try Up.parseTarget(listen)
        var tls: TLSConfiguration?
        if tlsCert != nil || tlsKey != nil {
            guard let tlsCert, let tlsKey else { throw ValidationError("--tls-cert and --tls-key go together") }
            tls = TLSConfiguration(certificateChainFile: tlsCert, privateKeyFile: tlsKey, trustRootsFile: clientCA, requireClientCertificate: clientCA != nil)
        }
        let auth = try AuthSetup(try config.map(ConfigurationFile.load), path: config, logger: Logger(label: "weft.auth"))
        let service: any RegistrableRPCService
        switch backend {
        case .sandbox:
            do {
                service = try await SandboxSidecar(configuration: SandboxConfiguration(stateDirectory: stateDir, imageRoot: imageRoot, allowHostPath: allowHostPath))
            } catch {
                throw OperationFailure("cannot open the sandbox state in \(stateDir): \(error)")
            }
        case .slurm:
            guard let runtime = SlurmContainerRuntime(rawValue: runtime) else {
                throw ValidationError("--runtime must be one of \(SlurmContainerRuntime.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let absolute = URL(fileURLWithPath: stateDir).standardizedFileURL.path
            do {
                service = try await SlurmSidecar(configuration: SlurmConfiguration(
                    stateDirectory: absolute, runtime: runtime, pollInterval: .milliseconds(Int64(pollInterval * 1000)), partition: partition,
                    allowHostPath: allowHostPath))
            } catch {
                throw OperationFailure("cannot start the Slurm sidecar in \(absolute): \(error)")
            }
        }
        let health = HealthService()
        let rpc = RPCServer(services: [health, service], interceptors: [auth.interceptor(apiKeys: nil)])
        if auth.isDevelopmentMode { FileHandle.standardError.write(Data(AuthSetup.developmentWarning.utf8)) }
        let server: HTTP2Server
        do {
            server = try await HTTP2Server.start(serving: rpc, configuration: .init(target: target, tls: tls))
        } catch {
            throw OperationFailure("cannot listen on \(listen): \(error)")
        }
        FileHandle.standardError.write(Data("weft sidecar (\(backend.rawValue)): listening on \(server.localAddress.map { "\($0)" } ?? listen); Ctrl-C stops\n".utf8))
        await Up.waitForTermination()
        health.shutDown()
        await server.shutDownGracefully(timeout: .seconds(10))
    }
}

/// Logs to stderr at `level` (swift-log's stream handler).
func bootstrapLogging(level: String) {
    LoggingSystem.bootstrap { label in
        var h = StreamLogHandler.standardError(label: label)
        h.logLevel = Logger.Level(rawValue: level) ?? .info
        return h
    }
}
