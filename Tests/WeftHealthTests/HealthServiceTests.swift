import Gen
import Testing
import WeftHealth
import WeftRPC

struct HealthServiceTests {
    @Test func checkKnownAndUnknown() async throws {
        let health = HealthService()
        let client = Grpc_Health_V1_Health.Client(transport: InProcessTransport(server: RPCServer(services: [health])))
        #expect(try await client.check(.init()).status == .serving)
        var req = Grpc_Health_V1_HealthCheckRequest()
        req.service = "weft.kubelet.v1.Kubelet"
        do {
            _ = try await client.check(req)
            Issue.record("unknown service answered")
        } catch let e as RPCError {
            #expect(e.code == .notFound)
        }
        health.setStatus(.notServing, for: req.service)
        #expect(try await client.check(req).status == .notServing)
    }

    @Test func watchStreamsChanges() async throws {
        let health = HealthService()
        let client = Grpc_Health_V1_Health.Client(transport: InProcessTransport(server: RPCServer(services: [health])))
        var req = Grpc_Health_V1_HealthCheckRequest()
        req.service = "svc"
        let seen = try await client.watch(req) { stream in
            var seen: [Grpc_Health_V1_HealthCheckResponse.ServingStatus] = []
            for try await r in stream {
                seen.append(r.status)
                switch seen.count {
                case 1: health.setStatus(.serving, for: "svc")
                case 2: health.setStatus(.notServing, for: "svc")
                default: return seen
                }
            }
            return seen
        }
        #expect(seen == [.serviceUnknown, .serving, .notServing])
    }
}
