import Gen

/// The kinds of record the store keeps, numbered as the `UsageRecord.record` oneof.
public enum RecordKind: Int, Sendable, Hashable, CaseIterable {
    /// An individual job.
    case job = 1
    /// A monthly job summary.
    case summary = 2
    /// A monthly job summary with normalised durations.
    case normalisedSummary = 3
    /// A sync record (stored, not summarised).
    case sync = 4
    /// A cloud instance.
    case cloud = 5
    /// A monthly cloud summary.
    case cloudSummary = 6
    /// A StAR storage record.
    case storage = 7
    /// Accelerator usage.
    case accelerator = 8

    /// The kind of `record`, or nil when no record is set.
    public init?(_ record: Weft_Accounting_V1_UsageRecord) {
        switch record.record {
        case .job?: self = .job
        case .summary?: self = .summary
        case .normalisedSummary?: self = .normalisedSummary
        case .sync?: self = .sync
        case .cloud?: self = .cloud
        case .cloudSummary?: self = .cloudSummary
        case .storage?: self = .storage
        case .accelerator?: self = .accelerator
        case nil: return nil
        }
    }

    /// The summary kind the record feeds, nil for sync records.
    public var summaryKind: Weft_Accounting_V1_SummaryKind? {
        switch self {
        case .job, .summary, .normalisedSummary: .job
        case .cloud, .cloudSummary: .cloud
        case .storage: .storage
        case .accelerator: .accelerator
        case .sync: nil
        }
    }
}
