import Foundation
import Gen
import WeftProtobuf
import WeftRPC

/// `grpc.reflection.v1.ServerReflection` (and `v1alpha`): lists the services a server hosts and
/// hands out the `FileDescriptorProto`s that generated code embeds, with their transitive imports,
/// so tools like grpcurl and grpcio-reflection can call any Weft service without `proto/`.
public struct ReflectionService: Grpc_Reflection_V1_ServerReflection.ServiceProtocol {
    let files: [String: ProtoFileInfo]
    let fileBySymbol: [String: String]
    let serviceNames: [String]

    /// Creates the service over generated files; `services` are the names the server hosts
    /// (reflection's own names are added).
    public init(files: [ProtoFileInfo], services: [String]) {
        var byName: [String: ProtoFileInfo] = [:]
        var bySymbol: [String: String] = [:]
        for f in files {
            byName[f.name] = f
            for s in f.symbols { bySymbol[s] = f.name }
        }
        self.files = byName
        self.fileBySymbol = bySymbol
        self.serviceNames = Array(Set(services + [Grpc_Reflection_V1_ServerReflection.serviceName, Grpc_Reflection_V1Alpha_ServerReflection.serviceName])).sorted()
    }

    /// The alpha version of this service, sharing the same data.
    public var v1alpha: ReflectionServiceV1Alpha { ReflectionServiceV1Alpha(base: self) }

    /// The file and everything it imports, the file first.
    func withDependencies(_ name: String) -> [[UInt8]] {
        var seen = Set<String>()
        var out: [[UInt8]] = []
        var stack = [name]
        while let n = stack.popLast() {
            guard seen.insert(n).inserted, let f = files[n] else { continue }
            out.append(f.serializedDescriptor)
            stack.append(contentsOf: f.dependencies.reversed())
        }
        return out
    }

    func answer(_ request: Grpc_Reflection_V1_ServerReflectionRequest) -> Grpc_Reflection_V1_ServerReflectionResponse {
        var response = Grpc_Reflection_V1_ServerReflectionResponse()
        response.validHost = request.host
        response.originalRequest = request
        func notFound(_ message: String) {
            var e = Grpc_Reflection_V1_ErrorResponse()
            e.errorCode = Int32(StatusCode.notFound.rawValue)
            e.errorMessage = message
            response.errorResponse = e
        }
        func files(_ name: String) {
            var r = Grpc_Reflection_V1_FileDescriptorResponse()
            r.fileDescriptorProto = withDependencies(name).map { Data($0) }
            response.fileDescriptorResponse = r
        }
        switch request.messageRequest {
        case .fileByFilename(let name)?:
            if self.files[name] != nil { files(name) } else { notFound("File not found: \(name)") }
        case .fileContainingSymbol(let symbol)?:
            let s = symbol.hasPrefix(".") ? String(symbol.dropFirst()) : symbol
            if let f = fileBySymbol[s] { files(f) } else { notFound("Symbol not found: \(symbol)") }
        case .fileContainingExtension(let ext)?:
            notFound("Extension not found: \(ext.containingType) #\(ext.extensionNumber) (Weft defines no extensions)")
        case .allExtensionNumbersOfType(let type)?:
            if fileBySymbol[type] != nil {
                var r = Grpc_Reflection_V1_ExtensionNumberResponse()
                r.baseTypeName = type
                response.allExtensionNumbersResponse = r
            } else {
                notFound("Type not found: \(type)")
            }
        case .listServices?:
            var r = Grpc_Reflection_V1_ListServiceResponse()
            r.service = serviceNames.map { var s = Grpc_Reflection_V1_ServiceResponse(); s.name = $0; return s }
            response.listServicesResponse = r
        case nil:
            var e = Grpc_Reflection_V1_ErrorResponse()
            e.errorCode = Int32(StatusCode.invalidArgument.rawValue)
            e.errorMessage = "The request names no reflection query"
            response.errorResponse = e
        }
        return response
    }

    public func serverReflectionInfo(
        requests: RPCAsyncSequence<Grpc_Reflection_V1_ServerReflectionRequest>,
        responses: RPCWriter<Grpc_Reflection_V1_ServerReflectionResponse>,
        context: ServerContext
    ) async throws {
        for try await request in requests { try await responses.write(answer(request)) }
    }
}

/// `grpc.reflection.v1alpha.ServerReflection`: the same answers; its messages are wire-identical
/// to v1's, so requests and responses are converted through their bytes.
public struct ReflectionServiceV1Alpha: Grpc_Reflection_V1Alpha_ServerReflection.ServiceProtocol {
    let base: ReflectionService

    public func serverReflectionInfo(
        requests: RPCAsyncSequence<Grpc_Reflection_V1Alpha_ServerReflectionRequest>,
        responses: RPCWriter<Grpc_Reflection_V1Alpha_ServerReflectionResponse>,
        context: ServerContext
    ) async throws {
        for try await request in requests {
            let v1 = try Grpc_Reflection_V1_ServerReflectionRequest(serializedBytes: request.serializedBytes())
            try await responses.write(try Grpc_Reflection_V1Alpha_ServerReflectionResponse(serializedBytes: base.answer(v1).serializedBytes()))
        }
    }
}
