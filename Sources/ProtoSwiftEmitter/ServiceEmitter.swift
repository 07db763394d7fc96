import ProtoCompiler

/// Emits a service: a namespace with method descriptors, a server protocol to implement, its
/// registration with a router, and a typed client.
struct ServiceEmitter {
    let service: ServiceDescriptor
    let index: Int
    let file: FileDescriptor
    let table: TypeTable
    let access: String
    let comments: [[Int32]: String]

    var fullName: String { (file.package.map { $0 + "." } ?? "") + service.name }
    var swiftName: String { Naming.packagePrefix(file.package) + service.name }

    struct Method {
        let descriptor: MethodDescriptorProto
        let swiftName: String
        let input: String
        let output: String
        let kind: String
        let path: [Int32]
    }

    var methods: [Method] {
        service.methods.enumerated().map { i, m in
            let kind: String
            switch (m.clientStreaming == true, m.serverStreaming == true) {
            case (false, false): kind = "unary"
            case (false, true): kind = "serverStreaming"
            case (true, false): kind = "clientStreaming"
            case (true, true): kind = "bidirectionalStreaming"
            }
            return Method(descriptor: m, swiftName: Naming.lowerCamel(m.name), input: table.swiftName(m.inputType),
                          output: table.swiftName(m.outputType), kind: kind, path: [6, Int32(index), 2, Int32(i)])
        }
    }

    func comment(_ p: [Int32]) -> String? { comments[p] }

    func emit(_ w: inout CodeWriter) {
        let ms = methods
        w.line()
        w.docComment(comment([6, Int32(index)]))
        w.block("\(access) enum \(swiftName)") { w in
            w.line("/// The fully qualified service name.")
            w.line("\(access) static let serviceName = \(Naming.stringLiteral(fullName))")
            w.line()
            w.line("/// Descriptors of the service's methods.")
            w.block("\(access) enum Method") { w in
                for m in ms {
                    w.docComment(comment(m.path))
                    w.line("\(access) static let \(Naming.escaped(m.swiftName)) = MethodDescriptor(service: serviceName, method: \(Naming.stringLiteral(m.descriptor.name)), kind: .\(m.kind))")
                }
                w.line("/// Every method.")
                w.line("\(access) static let all: [MethodDescriptor] = [\(ms.map { Naming.escaped($0.swiftName) }.joined(separator: ", "))]")
            }
            w.line()
            emitServerProtocol(ms, &w)
            w.line()
            emitClient(ms, &w)
        }
        w.line()
        w.block("extension \(swiftName).ServiceProtocol") { w in
            w.line("/// Adds every method of `\(fullName)` to `router`.")
            w.block("\(access) func registerMethods(with router: inout RPCRouter)") { w in
                for m in ms {
                    let d = "\(swiftName).Method.\(Naming.escaped(m.swiftName))"
                    let types = "\(m.input).self, \(m.output).self"
                    switch m.kind {
                    case "unary":
                        w.line("router.registerUnary(\(d), \(types)) { try await self.\(Naming.escaped(m.swiftName))(request: $0, context: $1) }")
                    case "serverStreaming":
                        w.line("router.registerServerStreaming(\(d), \(types)) { try await self.\(Naming.escaped(m.swiftName))(request: $0, responses: $1, context: $2) }")
                    case "clientStreaming":
                        w.line("router.registerClientStreaming(\(d), \(types)) { try await self.\(Naming.escaped(m.swiftName))(requests: $0, context: $1) }")
                    default:
                        w.line("router.registerBidirectionalStreaming(\(d), \(types)) { try await self.\(Naming.escaped(m.swiftName))(requests: $0, responses: $1, context: $2) }")
                    }
                }
            }
        }
    }

    func emitServerProtocol(_ ms: [Method], _ w: inout CodeWriter) {
        w.line("/// Implement this to serve `\(fullName)`; register the implementation with an `RPCServer`.")
        w.line("/// Throw `RPCError` to fail a call with a status; other errors become `UNKNOWN`.")
        w.block("\(access) protocol ServiceProtocol: RegistrableRPCService") { w in
            for m in ms {
                w.docComment(comment(m.path))
                let name = Naming.escaped(m.swiftName)
                switch m.kind {
                case "unary":
                    w.line("func \(name)(request: \(m.input), context: ServerContext) async throws -> \(m.output)")
                case "serverStreaming":
                    w.line("func \(name)(request: \(m.input), responses: RPCWriter<\(m.output)>, context: ServerContext) async throws")
                case "clientStreaming":
                    w.line("func \(name)(requests: RPCAsyncSequence<\(m.input)>, context: ServerContext) async throws -> \(m.output)")
                default:
                    w.line("func \(name)(requests: RPCAsyncSequence<\(m.input)>, responses: RPCWriter<\(m.output)>, context: ServerContext) async throws")
                }
            }
        }
    }

    func emitClient(_ ms: [Method], _ w: inout CodeWriter) {
        w.line("/// A typed client of `\(fullName)` over any transport.")
        w.block("\(access) struct Client: Sendable") { w in
            w.line("/// The underlying client (transport, interceptors, default options).")
            w.line("\(access) let rpc: RPCClient")
            w.line()
            w.line("/// Creates a client that calls through `rpc`.")
            w.line("\(access) init(_ rpc: RPCClient) { self.rpc = rpc }")
            w.line()
            w.line("/// Creates a client over `transport`.")
            w.line("\(access) init(transport: any ClientTransport) { self.rpc = RPCClient(transport: transport) }")
            for m in ms {
                w.line()
                w.docComment(comment(m.path))
                let name = Naming.escaped(m.swiftName)
                let d = "Method.\(name)"
                switch m.kind {
                case "unary":
                    w.block("\(access) func \(name)(_ request: \(m.input), options: CallOptions = .defaults) async throws -> \(m.output)") { w in
                        w.line("try await rpc.unary(\(d), request: request, options: options).message")
                    }
                case "serverStreaming":
                    w.block("\(access) func \(name)<R: Sendable>(_ request: \(m.input), options: CallOptions = .defaults, _ body: (ClientResponseStream<\(m.output)>) async throws -> R) async throws -> R") { w in
                        w.line("try await rpc.serverStreaming(\(d), request: request, options: options, body)")
                    }
                case "clientStreaming":
                    w.block("\(access) func \(name)(options: CallOptions = .defaults, requests: @escaping @Sendable (RPCWriter<\(m.input)>) async throws -> Void) async throws -> \(m.output)") { w in
                        w.line("try await rpc.clientStreaming(\(d), options: options, requests: requests).message")
                    }
                default:
                    w.block("\(access) func \(name)<R: Sendable>(options: CallOptions = .defaults, requests: @escaping @Sendable (RPCWriter<\(m.input)>) async throws -> Void, responses: (ClientResponseStream<\(m.output)>) async throws -> R) async throws -> R") { w in
                        w.line("try await rpc.bidirectionalStreaming(\(d), options: options, requests: requests, responses: responses)")
                    }
                }
            }
        }
    }
}
