import Gen
import WeftRPC

/// A change of one pod's status, as a sidecar pushes it to its watchers.
public struct PodStatusChange: Sendable {
    /// ADDED, MODIFIED or DELETED.
    public var type: Weft_Common_V1_ChangeType
    /// The pod's status after the change.
    public var report: Weft_Kubelet_V1_PodStatusReport

    /// Creates a change.
    public init(type: Weft_Common_V1_ChangeType, report: Weft_Kubelet_V1_PodStatusReport) {
        self.type = type
        self.report = report
    }
}

extension Broadcaster where Event == PodStatusChange {
    /// Serves `SidecarService.WatchPodStatuses` from this broadcaster: CURRENT for every selected pod
    /// of `snapshot`, SYNCED, then each change as it is published, until the client cancels.
    /// Subscribes before taking the snapshot, so no change can fall between the two.
    public func serveWatch(
        _ request: Weft_Sidecar_V1_WatchPodStatusesRequest,
        snapshot: () async -> [Weft_Kubelet_V1_PodStatusReport],
        responses: RPCWriter<Weft_Sidecar_V1_WatchPodStatusesResponse>
    ) async throws {
        let filter = Set(request.pods.map(\.uid))
        let subscription = subscribe()
        defer { unsubscribe(subscription) }
        func send(_ type: Weft_Common_V1_ChangeType, _ report: Weft_Kubelet_V1_PodStatusReport?) async throws {
            var m = Weft_Sidecar_V1_WatchPodStatusesResponse()
            m.changeType = type
            if let report { m.report = report }
            try await responses.write(m)
        }
        for r in await snapshot() where filter.isEmpty || filter.contains(r.pod.uid) { try await send(.current, r) }
        try await send(.synced, nil)
        for await change in subscription.events where filter.isEmpty || filter.contains(change.report.pod.uid) {
            try await send(change.type, change.report)
        }
        if subscription.overflowed { throw RPCError(code: .resourceExhausted, message: "the watcher fell too far behind; watch again to resynchronise") }
    }
}
