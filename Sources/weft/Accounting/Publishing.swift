import Foundation
import Logging
import WeftAccountingPublisher

/// Publishing an outbox from the CLI: progress on a terminal, a final line, rejections listed.
enum Publishing {
    /// Publishes everything pending in `outbox`; throws `OperationFailure` when publishing stops
    /// or the server rejected records.
    static func publish(_ outbox: AccountingOutbox, options: OutboxOptions, client: ClientOptions) async throws {
        let (rpc, transport) = try client.client()
        defer { Task { await transport.close() } }
        var logger = Logger(label: "weft.accounting.publisher")
        logger.logLevel = .error  // reconnects and rejections are reported below, once
        let publisher = AccountingPublisher(
            outbox: outbox, client: .init(rpc), maxInFlightBatches: options.maxInFlight,
            retry: RetryPolicy(maxConsecutiveFailures: options.maxRetries), logger: logger)
        let bar = ProgressBar.onTerminal()
        let reconnects = ReconnectNotes(quiet: bar != nil)
        let summary: PublishSummary
        do {
            summary = try await publisher.publishPending { p in
                bar?.update(p)
                reconnects.update(p)
            }
            bar?.finish()
        } catch {
            bar?.finish()
            let retry = "the records stay in \(outbox.directory); run `weft accounting publish --outbox \(outbox.directory)` to try again"
            switch error {
            case let e as PublishError: throw OperationFailure("publish: \(e); \(retry)")
            case let e as OutboxError: throw OperationFailure("outbox: \(e)")
            default: throw failure(error, "publish")
            }
        }
        for r in summary.rejections { note("weft: rejected: \(r)") }
        let seconds = Double(summary.elapsed.components.seconds) + Double(summary.elapsed.components.attoseconds) / 1e18
        let records = summary.acceptedRecords + summary.rejections.count + summary.duplicateRecords
        var line = "published \(grouped(summary.acceptedRecords)) records in \(grouped(summary.batches)) batches"
        if summary.duplicateRecords > 0 { line += " (\(grouped(summary.duplicateRecords)) were already on the server)" }
        line += String(format: " in %.2f s", seconds)
        if seconds > 0 && records > 0 { line += " (\(grouped(Int(Double(records) / seconds))) records/s)" }
        if summary.reconnects > 0 { line += ", \(summary.reconnects) reconnects" }
        line += "; \(grouped(summary.rejections.count)) rejected"
        emit(line + "\n")
        if !summary.rejections.isEmpty {
            throw OperationFailure("the server rejected \(summary.rejections.count) records (listed above); they are not stored and not retried")
        }
    }
}

/// Tells about reconnects on stderr when there is no progress bar to show them.
final class ReconnectNotes: Sendable {
    let quiet: Bool
    let seen = LockedCounter()

    init(quiet: Bool) { self.quiet = quiet }

    func update(_ p: PublishProgress) {
        guard !quiet, seen.raise(to: p.reconnects) else { return }
        note("weft: the connection to the accounting service failed; reconnecting (attempt \(p.reconnects))")
    }
}
