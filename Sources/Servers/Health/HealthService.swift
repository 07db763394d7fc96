import Gen
import Synchronization
import WeftRPC

/// `grpc.health.v1.Health`: per-service serving status, checked once or watched as a stream.
///
/// The empty service name stands for the whole server. Status changes reach every watcher at once;
/// a watcher that reads slowly sees the latest status rather than every intermediate one.
public final class HealthService: Grpc_Health_V1_Health.ServiceProtocol {
    /// A serving status.
    public typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    private struct State {
        var statuses: [String: Status] = ["": .serving]
        var watchers: [String: [Int: AsyncStream<Status>.Continuation]] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Creates a health service where the server as a whole is `SERVING`.
    public init() {}

    /// Sets the status of `service` ("" for the server) and notifies its watchers.
    public func setStatus(_ status: Status, for service: String = "") {
        let watchers = state.withLock { s -> [AsyncStream<Status>.Continuation] in
            s.statuses[service] = status
            return Array(s.watchers[service, default: [:]].values)
        }
        for w in watchers { w.yield(status) }
    }

    /// Marks every service `NOT_SERVING` (for graceful shutdown) and ends every watch.
    public func shutDown() {
        let all = state.withLock { s -> [AsyncStream<Status>.Continuation] in
            for k in s.statuses.keys { s.statuses[k] = .notServing }
            defer { s.watchers = [:] }
            return s.watchers.values.flatMap(\.values)
        }
        for w in all {
            w.yield(.notServing)
            w.finish()
        }
    }

    /// The current status of `service`, or nil if it is unknown.
    public func status(of service: String) -> Status? { state.withLock { $0.statuses[service] } }

    public func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = status(of: request.service) else {
            throw RPCError(code: .notFound, message: "Unknown service \"\(request.service)\"")
        }
        var r = Grpc_Health_V1_HealthCheckResponse()
        r.status = status
        return r
    }

    public func watch(
        request: Grpc_Health_V1_HealthCheckRequest,
        responses: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        let (stream, continuation) = AsyncStream<Status>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { s -> Int in
            let id = s.nextID
            s.nextID += 1
            s.watchers[request.service, default: [:]][id] = continuation
            continuation.yield(s.statuses[request.service] ?? .serviceUnknown)
            return id
        }
        defer { _ = state.withLock { $0.watchers[request.service]?.removeValue(forKey: id) } }
        var last: Status?
        for await status in stream where status != last {
            last = status
            var r = Grpc_Health_V1_HealthCheckResponse()
            r.status = status
            try await responses.write(r)
        }
    }
}
