import Gen
import GRDB
import WeftRPC

extension AccountingService {
    /// WatchSummaries: every current row (CURRENT), SYNCED, then after each commit the rows of
    /// the groups it changed (ADDED for a group not seen before, else MODIFIED). Only the changed
    /// groups of the watch's grouping are recomputed. With `min_update_interval`, changes are
    /// gathered and sent at most once per interval (so at most once per row per interval).
    public func watchSummaries(
        request: Weft_Accounting_V1_WatchSummariesRequest,
        responses: RPCWriter<Weft_Accounting_V1_WatchSummariesResponse>,
        context: ServerContext
    ) async throws {
        let query = try SummaryQuery(kind: request.kind, filter: request.filter, groupBy: request.groupBy)
        let interval: Duration? = request.hasMinUpdateInterval
            ? .seconds(request.minUpdateInterval.seconds) + .nanoseconds(Int64(request.minUpdateInterval.nanos)) : nil
        if let interval, interval < .zero { throw RPCError(code: .invalidArgument, message: "min_update_interval must not be negative") }

        // Subscribe before reading the snapshot, so no commit falls between the two.
        let subscription = changes.subscribe()
        defer { changes.unsubscribe(subscription) }
        let current = try await store.summaryRows(query)
        var known = Set(current.map(\.values))
        for r in current { try await responses.write(Self.watchResponse(.current, r.row)) }
        var synced = Weft_Accounting_V1_WatchSummariesResponse()
        synced.changeType = .synced
        try await responses.write(synced)

        // Commits and timer ticks (nil) in one stream.
        let (events, sink) = AsyncStream<SummaryChanges?>.makeStream()
        let forward = Task {
            for await c in subscription.events { sink.yield(c) }
            sink.finish()
        }
        var timer: Task<Void, Never>?
        defer {
            forward.cancel()
            timer?.cancel()
        }
        var pending = Set<[DatabaseValue]>()
        var lastFlush: ContinuousClock.Instant?
        for await event in events {
            if let event {
                for c in event.groups[query.kind] ?? [] where query.matches(c) { pending.insert(query.values(of: c)) }
            } else {
                timer = nil
            }
            guard !pending.isEmpty else { continue }
            if let interval, let lastFlush, ContinuousClock.now < lastFlush + interval {
                if timer == nil {
                    timer = Task {
                        try? await Task.sleep(until: lastFlush + interval, clock: .continuous)
                        sink.yield(nil)
                    }
                }
                continue
            }
            let rows = try await store.summaryRows(query, only: Array(pending))
            pending.removeAll()
            lastFlush = .now
            for r in rows {
                let type: Weft_Common_V1_ChangeType = known.insert(r.values).inserted ? .added : .modified
                try await responses.write(Self.watchResponse(type, r.row))
            }
        }
        if subscription.overflowed {
            throw RPCError(code: .resourceExhausted, message: "The watch fell too far behind the commits; watch again")
        }
    }

    static func watchResponse(_ type: Weft_Common_V1_ChangeType, _ row: Weft_Accounting_V1_SummaryRow) -> Weft_Accounting_V1_WatchSummariesResponse {
        var r = Weft_Accounting_V1_WatchSummariesResponse()
        r.changeType = type
        r.row = row
        return r
    }
}
