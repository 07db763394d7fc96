import Gen
import Logging
import Synchronization

/// Writes pod status changes to a ``PodRecordStore`` behind the callers' backs, in batches: each
/// batch keeps only the latest status of each pod and goes in one transaction. Watchers are told
/// of a change before it is stored (a status can always be observed again from the backend);
/// pod records themselves are written synchronously by their owners.
public final class StatusWriter: Sendable {
    private let store: PodRecordStore
    private let pending = Mutex<[String: PodRecordStore.StatusUpdate]>([:])
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>
    private let logger: Logger

    /// Creates a writer; nothing is written until ``run()`` runs.
    public init(store: PodRecordStore, logger: Logger) {
        self.store = store
        self.logger = logger
        (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a status; a newer one for the same pod replaces it if both are still waiting.
    public func enqueue(_ update: PodRecordStore.StatusUpdate) {
        pending.withLock { p in
            if let old = p[update.uid], old.revision > update.revision { return }
            p[update.uid] = update
        }
        wake.yield()
    }

    /// Writes batches until cancelled, then writes what is left.
    public func run() async {
        for await _ in wakes {
            await flush()
            if Task.isCancelled { break }
        }
        await flush()
    }

    /// Stops ``run()`` after its current batch.
    public func finish() { wake.finish() }

    /// Writes everything queued now.
    public func flush() async {
        let batch = pending.withLock { p -> [PodRecordStore.StatusUpdate] in
            defer { p.removeAll(keepingCapacity: true) }
            return Array(p.values)
        }
        guard !batch.isEmpty else { return }
        do {
            try await store.updateStatuses(batch)
        } catch {
            logger.error("cannot store pod statuses", metadata: ["pods": "\(batch.count)", "error": "\(error)"])
        }
    }
}
