import Foundation
import Gen
import Logging
import WeftAccountingPublisher
import WeftKubelet
import WeftPodKit

/// Publishes the usage of every pod that finishes: its records go into the durable outbox at once
/// (so a crash loses nothing) and a background task drains the outbox to the accounting service,
/// retrying while it is unreachable. The accounting service is idempotent on APEL's keys, so a
/// pod reported twice (after a restart) is stored once.
final class PodUsageReporter: Sendable {
    private let converter: PodUsageRecords
    private let outbox: AccountingOutbox
    private let publisher: AccountingPublisher
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>
    private let logger: Logger

    init(converter: PodUsageRecords, outbox: AccountingOutbox, publisher: AccountingPublisher, logger: Logger = Logger(label: "weft.usage")) {
        self.converter = converter
        self.outbox = outbox
        self.publisher = publisher
        self.logger = logger
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues the records of a finished pod (the kubelet API's `onPodFinished`).
    func podFinished(_ pod: PodRecord) {
        let records = converter.records(for: pod)
        guard !records.isEmpty else { return }
        do {
            try outbox.append(records)
            wake.yield()
        } catch {
            logger.error("cannot queue usage records", metadata: ["pod": "\(pod.namespace)/\(pod.name)", "error": "\(error)"])
        }
    }

    /// Publishes whatever is queued, now and after every new pod, until cancelled.
    func run() async {
        wake.yield()  // records left from before a restart
        for await _ in wakes {
            while !Task.isCancelled {
                do {
                    let summary = try await publisher.publishPending()
                    if summary.acceptedRecords > 0 {
                        logger.debug("usage published", metadata: ["records": "\(summary.acceptedRecords)", "rejected": "\(summary.rejections.count)"])
                    }
                    for r in summary.rejections { logger.warning("usage record rejected", metadata: ["rejection": "\(r)"]) }
                    break
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("cannot publish usage yet; retrying in 10 s", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(10))
                }
            }
        }
    }
}
