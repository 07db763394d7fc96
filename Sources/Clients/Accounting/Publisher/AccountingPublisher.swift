import Gen
import Logging
import WeftRPC

/// Publishes what an ``AccountingOutbox`` holds to the accounting service over PublishRecords
/// (accounting.proto): opens a session, drops the batches the server says it has committed,
/// keeps up to `maxInFlightBatches` batches in flight, and removes each batch from the outbox
/// when its acknowledgement arrives. On UNAVAILABLE or a transport failure it opens a new
/// session after a backoff and resends every batch not acknowledged, so each record is stored
/// exactly once; on a refusal (PERMISSION_DENIED, UNAUTHENTICATED, INVALID_ARGUMENT, …) it
/// stops at once with a ``PublishError``.
public final class AccountingPublisher: Sendable {
    /// Where the records come from.
    public let outbox: AccountingOutbox
    let client: Weft_Accounting_V1_AccountingService.Client
    let maxInFlightBatches: Int
    let retry: RetryPolicy
    let callOptions: CallOptions
    let logger: Logger

    /// A publisher of `outbox` through `client`. `callOptions` apply to each session (leave the
    /// timeout unset: a session lasts as long as there is something to send).
    public init(
        outbox: AccountingOutbox,
        client: Weft_Accounting_V1_AccountingService.Client,
        maxInFlightBatches: Int = 8,
        retry: RetryPolicy = .default,
        callOptions: CallOptions = .defaults,
        logger: Logger = Logger(label: "weft.accounting.publisher")
    ) {
        self.outbox = outbox
        self.client = client
        self.maxInFlightBatches = max(1, maxInFlightBatches)
        self.retry = retry
        self.callOptions = callOptions
        self.logger = logger
    }

    /// Publishes every record pending in the outbox (the open batch is sealed first) and returns
    /// when all of it is acknowledged. `progress` is called after each acknowledgement and
    /// reconnect. Records appended meanwhile are published too if they are sealed before a
    /// session starts. Throws ``PublishError``, ``OutboxError``, or `CancellationError` when the
    /// task is cancelled; whatever is not acknowledged stays in the outbox.
    public func publishPending(progress: @Sendable (PublishProgress) -> Void = { _ in }) async throws -> PublishSummary {
        let started = ContinuousClock.now
        try outbox.claimPublishing()
        defer { outbox.releasePublishing() }
        try outbox.seal()
        let run = PublishRun()
        run.progress.totalBatches = outbox.pendingBatchCount
        run.progress.totalRecords = outbox.pendingRecordCount
        var failures = 0
        while run.progress.totalBatches > 0 {
            let acknowledgedBefore = run.progress.acknowledgedBatches
            do {
                try await session(run, progress: progress)
                break
            } catch {
                let reason = try retryable(error)
                if run.progress.acknowledgedBatches > acknowledgedBefore { failures = 0 }
                failures += 1
                if let limit = retry.maxConsecutiveFailures, failures > limit {
                    try? outbox.flush()
                    throw PublishError(
                        kind: .unreachable, status: (error as? RPCError)?.status,
                        message: "gave up after \(failures) failed attempts in a row; \(outbox.pendingRecordCount) records stay in the outbox: \(reason)")
                }
                let wait = retry.backoff(afterFailures: failures)
                logger.warning("publishing session failed; reconnecting", metadata: [
                    "publisher": "\(outbox.publisherID)", "error": "\(reason)", "attempt": "\(failures)", "backoff": "\(wait)",
                ])
                try await Task.sleep(for: wait)
                run.progress.reconnects += 1
                run.summary.reconnects += 1
                progress(run.progress)
            }
        }
        try outbox.flush()
        run.summary.elapsed = ContinuousClock.now - started
        return run.summary
    }

    /// The reason to retry after `error`, or throws it (as a ``PublishError`` for a refusal) when
    /// retrying cannot help.
    func retryable(_ error: any Error) throws -> String {
        switch error {
        case let e as PublishError:
            throw e
        case let e as OutboxError:
            throw e
        case is CancellationError where Task.isCancelled:
            throw error
        case let e as RPCError:
            switch e.code {
            case .unavailable, .deadlineExceeded, .aborted, .unknown, .internal:
                return e.description
            case .cancelled:
                if Task.isCancelled { throw CancellationError() }
                return e.description
            default:
                throw PublishError(kind: .refused, status: e.status, message: e.message)
            }
        default:
            if Task.isCancelled { throw CancellationError() }
            return "\(error)"
        }
    }
}

/// Counters of one `publishPending` run, shared by its sessions (all on the caller's task).
final class PublishRun {
    var progress = PublishProgress()
    var summary = PublishSummary()
}
