import ArgumentParser
import Dispatch
import Foundation
import Gen
import Logging
import WeftHealth
import WeftAccounting
import WeftAccountingPublisher
import WeftAuth
import WeftDashboard
import WeftHTTP2
import WeftIdentity
import WeftKubelet
import WeftPodKit
import WeftSandboxSidecar
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
    @Option(help: "Run pods on this external sidecar (HOST:PORT or unix:PATH) instead of the embedded sandbox.") var sidecar: String?
    @Option(name: .customLong("sidecar-ca"), help: "Reach --sidecar over TLS, verified with this CA (PEM).") var sidecarCA: String?
    @Option(name: .customLong("image-root"), help: "Where the sandbox finds image root file systems (default DATA-DIR/images; the image \"host\" is the host's root).") var imageRoot: String?
    @Option(name: .customLong("sidecar-token-file"), help: "Send the bearer token in this file to --sidecar.") var sidecarTokenFile: String?
    @Option(help: "Configuration file (YAML): auth issuers and grants, identity sites, accounting. Without auth issuers: development mode.") var config: String?
    @Flag(help: "After start-up, offload a demo pod through the kubelet API, follow it and print its logs.") var demo = false

    func run() async throws {
        bootstrapLogging(level: logLevel)
        ProcessTuning.forServer()
        let target = try Self.parseTarget(listen)
        var tls: TLSConfiguration?
        if tlsCert != nil || tlsKey != nil {
            guard let tlsCert, let tlsKey else { throw ValidationError("--tls-cert and --tls-key go together") }
            tls = TLSConfiguration(certificateChainFile: tlsCert, privateKeyFile: tlsKey, trustRootsFile: clientCA,
                                   requireClientCertificate: clientCA != nil)
        }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let logger = Logger(label: "weft.up")
        let file = try config.map(ConfigurationFile.load)
        let auth = try AuthSetup(file, path: config, logger: Logger(label: "weft.auth"))
        if demo, !auth.isDevelopmentMode { throw ValidationError("--demo calls without a token: use it without auth issuers in --config") }
        let identity: IdentityService
        do {
            identity = try IdentityService(
                configuration: AuthSetup.identityConfiguration(file, databasePath: dataDir + "/identity.sqlite"), verifier: auth.verifier)
        } catch {
            throw OperationFailure("cannot open the identity store in \(dataDir)/identity.sqlite: \(error)")
        }
        let accounting: AccountingService
        do {
            accounting = AccountingService(
                store: try AccountingStore(path: dataDir + "/accounting.sqlite"),
                mayPublish: { site, context in context.scope(of: .accountingPublish)?.allows(site) ?? false })
        } catch {
            throw OperationFailure("cannot open the accounting store in \(dataDir)/accounting.sqlite: \(error)")
        }
        var services: [any RegistrableRPCService] = [identity, accounting]
        let sidecarTransport: any ClientTransport
        var sidecarInterceptors: [any ClientInterceptor] = []
        if let sidecarTokenFile { sidecarInterceptors.append(BearerTokenInterceptor(.file(sidecarTokenFile))) }
        if let sidecar {
            sidecarTransport = try HTTP2ClientTransport(target: try Self.parseTarget(sidecar), tls: sidecarCA.map { TLSConfiguration(trustRootsFile: $0) })
        } else {
            let sandbox: SandboxSidecar
            do {
                sandbox = try await SandboxSidecar(configuration: SandboxConfiguration(stateDirectory: dataDir + "/sandbox", imageRoot: imageRoot))
            } catch {
                throw OperationFailure("cannot open the sandbox state in \(dataDir)/sandbox: \(error)")
            }
            services.append(sandbox)
            // In-process calls never leave this process: nothing to authenticate.
            sidecarTransport = InProcessTransport(server: RPCServer(services: [sandbox]))
        }
        var accountingSection = file?.accounting
        if demo, accountingSection?.site == nil {
            // The demo shows its pod's usage reaching accounting, so it accounts to a demo site.
            accountingSection = accountingSection ?? ConfigurationFile.AccountingSection()
            accountingSection?.site = DemoPod.usageSite
        }
        let usage = try Self.usageReporter(accountingSection, dataDir: dataDir, local: accounting)
        var onPodFinished: (@Sendable (PodRecord) -> Void)?
        if let usage { onPodFinished = { @Sendable pod in usage.podFinished(pod) } }
        let kubelet: KubeletAPI
        do {
            kubelet = try await KubeletAPI(
                sidecar: sidecarTransport, sidecarInterceptors: sidecarInterceptors,
                configuration: KubeletAPIConfiguration(databasePath: dataDir + "/kubelet.sqlite"),
                onPodFinished: onPodFinished)
        } catch {
            throw OperationFailure("cannot open the pod records in \(dataDir)/kubelet.sqlite: \(error)")
        }
        let following = Task { await kubelet.run() }
        let reporting = Task { await usage?.run() }
        services.append(kubelet)
        let health = HealthService()
        let hosted = [Grpc_Health_V1_Health.serviceName] + RPCServer(services: services).router.serviceNames
        let reflection = ReflectionService(files: GenFiles.files, services: hosted)
        let rpc = RPCServer(services: [health, reflection, reflection.v1alpha] + services, interceptors: [auth.interceptor(apiKeys: identity)])
        let server: HTTP2Server
        do {
            // The dashboard reads summaries through the same interceptors as any remote client.
            let dashboard = Dashboard(accounting: Weft_Accounting_V1_AccountingService.Client(transport: InProcessTransport(server: rpc)))
            server = try await HTTP2Server.start(serving: rpc, configuration: .init(target: target, tls: tls, plainHTTP: dashboard.handle))
        } catch {
            following.cancel()
            throw OperationFailure("cannot listen on \(listen): \(error)")
        }
        for s in rpc.router.serviceNames { health.setStatus(.serving, for: s) }
        let bound = server.localAddress.map { "\($0)" } ?? listen
        let endpoints = rpc.router.serviceNames.map { "  \($0)" }.joined(separator: "\n")
        if auth.isDevelopmentMode { FileHandle.standardError.write(Data(AuthSetup.developmentWarning.utf8)) }
        FileHandle.standardError.write(Data("""
            weft up: listening on \(bound)\(tls == nil ? " (h2c)" : " (TLS)"), data in \(dataDir)
            pods run on: \(sidecar.map { "the sidecar at \($0)" } ?? "the embedded sandbox (bubblewrap)")
            dashboard: \(dashboardURL(port: server.port))\(tls == nil ? " (browsers need --tls-cert: they speak HTTP/2 only over TLS)" : "")
            authentication: \(auth.isDevelopmentMode ? "OFF (development mode)" : "bearer tokens of \(auth.verifier?.configuredIssuers.map(\.issuer).joined(separator: ", ") ?? "")\(auth.acceptCertificates ? ", client certificates" : "")")
            services:
            \(endpoints)
            Ctrl-C stops.

            """.utf8))
        logger.info("started", metadata: ["address": "\(bound)"])
        var demoTask: Task<Void, Never>?
        if demo {
            let address = listen.hasPrefix("unix:") ? listen : "127.0.0.1:\(server.port ?? 7700)"
            demoTask = Task { await DemoPod.run(address: address, tls: tls != nil) }
        }
        await Self.waitForTermination()
        demoTask?.cancel()
        FileHandle.standardError.write(Data("weft up: shutting down gracefully\n".utf8))
        health.shutDown()
        accounting.shutdown()
        await server.shutDownGracefully(timeout: .seconds(10))
        following.cancel()
        reporting.cancel()
    }

    /// The usage reporter of finished pods when `accounting.site` is configured: to the configured
    /// server, else straight to this process's accounting service (in-process, trusted).
    static func usageReporter(_ section: ConfigurationFile.AccountingSection?, dataDir: String, local: AccountingService) throws -> PodUsageReporter? {
        guard let section, let site = section.site, !site.isEmpty else { return nil }
        let host = ProcessInfo.processInfo.hostName
        let publisherID = "weft-kubelet-\(host)"
        let outbox: AccountingOutbox
        do {
            outbox = try AccountingOutbox(directory: dataDir + "/usage-outbox", publisherID: publisherID, site: site)
        } catch {
            throw OperationFailure("cannot open the usage outbox in \(dataDir)/usage-outbox: \(error)")
        }
        let rpc: RPCClient
        if let server = section.server {
            let transport = try HTTP2ClientTransport(target: try parseTarget(server), tls: section.caFile.map { TLSConfiguration(trustRootsFile: $0) })
            rpc = RPCClient(transport: transport, interceptors: section.tokenFile.map { [BearerTokenInterceptor(.file($0))] } ?? [])
        } else {
            // In-process calls come from this process itself: nothing to authenticate, every site allowed.
            let trusted = AuthInterceptor(mode: .development, policy: AccessPolicy(grants: []))
            rpc = RPCClient(transport: InProcessTransport(server: RPCServer(services: [local], interceptors: [trusted])))
        }
        let publisher = AccountingPublisher(outbox: outbox, client: Weft_Accounting_V1_AccountingService.Client(rpc))
        return PodUsageReporter(converter: PodUsageRecords(site: site, submitHost: "weft-kubelet.\(host)", machineName: host), outbox: outbox, publisher: publisher)
    }

    /// Where a browser finds the dashboard.
    private func dashboardURL(port: Int?) -> String {
        guard !listen.hasPrefix("unix:"), let port, let target = try? Self.parseTarget(listen), case .tcp(let host, _) = target else { return "(not on a TCP port)" }
        let shown = host.contains(":") ? "[\(host)]" : host
        return "\(tlsCert == nil ? "http" : "https")://\(shown):\(port)/dashboard"
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
