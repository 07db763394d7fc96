import ArgumentParser
import Foundation
import Gen
import WeftHealth
import WeftProtobuf
import WeftRPC

/// The main job on embedded defaults, for now: exercises the generated IDL end to end in one
/// process (JSON → protobuf → JSON, a generated client calling a generated server protocol).
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the toolchain demo: codecs and generated stubs over the in-process transport.")

    static let podJSON = """
        {
          "metadata": {"name": "sim-42", "namespace": "twins", "labels": {"app": "flood-model", "tier": "hpc"}},
          "spec": {
            "containers": [{
              "name": "solver",
              "image": "ghcr.io/intertwin/flood:1.4",
              "command": ["/opt/flood/run"],
              "args": ["--steps", "1000"],
              "env": [{"name": "OMP_NUM_THREADS", "value": "2"}],
              "resources": {"limits": {"cpuMillis": "2000", "memoryBytes": "4294967296"}}
            }],
            "nodeSelector": {"site": "juelich"}
          }
        }
        """

    func run() async throws {
        let files = GenFiles.files
        let services = files.flatMap(\.services)
        print("Weft toolchain demo (embedded defaults, in-process transport)")
        print("  generated from proto/: \(files.count) files, \(GenFiles.registry.types.count) message types, \(services.count) services")

        let pod: Weft_Kubelet_V1_Pod
        do {
            pod = try Weft_Kubelet_V1_Pod(jsonString: Self.podJSON)
        } catch {
            throw OperationFailure("pod JSON: \(error)")
        }
        let binary = pod.serializedBytes()
        let back = try Weft_Kubelet_V1_Pod(serializedBytes: binary)
        let json = try back.jsonString()
        guard back == pod, try Weft_Kubelet_V1_Pod(jsonString: json) == pod else {
            throw OperationFailure("pod did not survive the round trip")
        }
        print("  \(Weft_Kubelet_V1_Pod.protoMessageName): JSON \(Self.podJSON.utf8.count) bytes -> protobuf \(binary.count) bytes -> canonical JSON \(json.utf8.count) bytes, round trip exact")

        let health = HealthService()
        let client = Grpc_Health_V1_Health.Client(transport: InProcessTransport(server: RPCServer(services: [health])))
        let status = try await client.check(.init()).status
        print("  grpc.health.v1.Health/Check(\"\") -> \(status.protoName ?? "\(status.rawValue)")")

        var request = Grpc_Health_V1_HealthCheckRequest()
        request.service = Weft_Kubelet_V1_KubeletService.serviceName
        let seen = try await client.watch(request) { stream in
            var seen: [String] = []
            for try await update in stream {
                seen.append(update.status.protoName ?? "?")
                if seen.count == 1 { health.setStatus(.serving, for: request.service) }
                if seen.count == 2 { health.setStatus(.notServing, for: request.service) }
                if seen.count == 3 { break }
            }
            return seen
        }
        print("  grpc.health.v1.Health/Watch(\"\(request.service)\") -> \(seen.joined(separator: " -> "))")
    }
}
