/// The values of every groupable key of one summary row; the same columns exist in every summary
/// table, so filters, grouping and watches work the same way for every kind.
public struct GroupColumns: Sendable, Hashable {
    /// Site.
    public var site = ""
    /// Year.
    public var year = 0
    /// Month, 1–12.
    public var month = 0
    /// VO.
    public var vo = ""
    /// VO group.
    public var voGroup = ""
    /// VO role.
    public var voRole = ""
    /// Global user name.
    public var user = ""
    /// Submit host (jobs), cloud compute service (cloud), storage system (storage).
    public var submitHost = ""
    /// Infrastructure (jobs), cloud type (cloud), storage media (storage), accelerator type.
    public var infrastructure = ""
    /// Benchmark type.
    public var benchmarkType = ""

    /// Creates empty columns.
    public init() {}

    /// The column names, in table order.
    static let names = ["site", "year", "month", "vo", "vo_group", "vo_role", "user", "submit_host", "infrastructure", "benchmark_type"]
}
