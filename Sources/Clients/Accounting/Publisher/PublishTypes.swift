import Gen
import WeftRPC

/// A record the server refused, with the batch it was in. Rejections are final: resending the
/// record gives the same answer, so the publisher reports them and does not retry.
public struct RejectedRecord: Sendable, Hashable, CustomStringConvertible {
    /// Wire sequence of the batch.
    public var sequence: UInt64
    /// The server's reason (index within the batch, APEL field, reason).
    public var rejection: Weft_Accounting_V1_RecordRejection

    /// A rejection of a record of batch `sequence`.
    public init(sequence: UInt64, rejection: Weft_Accounting_V1_RecordRejection) {
        self.sequence = sequence
        self.rejection = rejection
    }

    /// "batch 12 record 7: EndTime: EndTime is before StartTime" (record numbers from 1).
    public var description: String {
        "batch \(sequence) record \(rejection.index + 1): " + (rejection.field.isEmpty ? "" : "\(rejection.field): ") + rejection.reason
    }
}

/// Where a publish run stands; reported after every acknowledgement.
public struct PublishProgress: Sendable, Hashable {
    /// Records in acknowledged batches (stored, rejected, or committed before).
    public var acknowledgedRecords = 0
    /// Records to publish in this run.
    public var totalRecords = 0
    /// Batches acknowledged.
    public var acknowledgedBatches = 0
    /// Batches to publish in this run.
    public var totalBatches = 0
    /// Records rejected so far (the list is in ``PublishSummary``).
    public var rejectedRecords = 0
    /// Sessions opened again after a failure.
    public var reconnects = 0

    /// No progress yet.
    public init() {}
}

/// The outcome of ``AccountingPublisher/publishPending(progress:)``.
public struct PublishSummary: Sendable {
    /// Batches acknowledged in this run, duplicates and already-committed ones included.
    public var batches = 0
    /// Records the server stored.
    public var acceptedRecords = 0
    /// Batches the server had committed before (acknowledged as duplicates, or dropped because the
    /// session started after them); their records were stored by an earlier session.
    public var duplicateBatches = 0
    /// Records of those batches.
    public var duplicateRecords = 0
    /// Records the server refused.
    public var rejections: [RejectedRecord] = []
    /// Sessions opened again after a failure.
    public var reconnects = 0
    /// Wall time of the run.
    public var elapsed: Duration = .zero

    /// Nothing published.
    public init() {}
}

/// When and how often the publisher opens a new session after a failure it may retry.
public struct RetryPolicy: Sendable, Hashable {
    /// Wait before the first retry.
    public var initialBackoff: Duration
    /// Longest wait between retries.
    public var maxBackoff: Duration
    /// Retries in a row without an acknowledgement before giving up; nil retries forever.
    public var maxConsecutiveFailures: Int?

    /// A policy; the wait doubles after each failure (with ±20% jitter), up to `maxBackoff`.
    public init(initialBackoff: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(10), maxConsecutiveFailures: Int? = nil) {
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxConsecutiveFailures = maxConsecutiveFailures
    }

    /// 100 ms doubling to 10 s, forever.
    public static let `default` = RetryPolicy()

    func backoff(afterFailures n: Int) -> Duration {
        var d = initialBackoff
        for _ in 1..<max(1, n) where d < maxBackoff { d = d * 2 }
        return min(d, maxBackoff) * Double.random(in: 0.8...1.2)
    }
}

/// Why publishing stopped. The records stay in the outbox either way.
public struct PublishError: Error, Sendable, CustomStringConvertible {
    /// Kinds of failure.
    public enum Kind: Sendable, Hashable {
        /// The server refused the session for good (PERMISSION_DENIED, UNAUTHENTICATED,
        /// INVALID_ARGUMENT, FAILED_PRECONDITION, …); retrying would not help.
        case refused
        /// The server stayed unreachable through every retry the policy allows.
        case unreachable
        /// The server broke the protocol (an acknowledgement out of order, no `accepted`).
        case protocolViolation
    }

    /// What kind of failure.
    public var kind: Kind
    /// The gRPC status, when the failure was one.
    public var status: RPCStatus?
    /// What happened.
    public var message: String

    /// A failure.
    public init(kind: Kind, status: RPCStatus? = nil, message: String) {
        self.kind = kind
        self.status = status
        self.message = message
    }

    /// The message, with the status code when there is one.
    public var description: String { status.map { "\($0.code): \(message)" } ?? message }
}
