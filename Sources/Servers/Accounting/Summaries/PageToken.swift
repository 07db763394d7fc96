import Foundation
import Gen
import GRDB
import WeftRPC

/// Opaque page tokens: the grouping values of the last row returned, bound to the query's kind
/// and grouping. Paging is keyset paging on the ordered grouping values, so rows added between
/// pages never shift or repeat a row.
enum PageToken {
    static func encode(query: SummaryQuery, after values: [DatabaseValue]) -> String {
        var parts = ["v1", "\(query.kind.rawValue)", query.groupBy.map { "\($0.rawValue)" }.joined(separator: ",")]
        for v in values {
            switch v.storage {
            case .int64(let i): parts.append("i\(i)")
            case .string(let s): parts.append("s" + Data(s.utf8).base64EncodedString())
            default: parts.append("n")
            }
        }
        return Data(parts.joined(separator: "\u{1F}").utf8).base64EncodedString()
    }

    static func decode(_ token: String, query: SummaryQuery) throws -> [DatabaseValue] {
        let invalid = RPCError(code: .invalidArgument, message: "page_token is not a token of this query (kind and group_by must not change between pages)")
        guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8) else { throw invalid }
        let parts = text.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 + query.columns.count, parts[0] == "v1", parts[1] == "\(query.kind.rawValue)",
              parts[2] == query.groupBy.map({ "\($0.rawValue)" }).joined(separator: ",")
        else { throw invalid }
        return try parts.dropFirst(3).map { p -> DatabaseValue in
            if p.hasPrefix("i"), let i = Int64(p.dropFirst()) { return i.databaseValue }
            if p.hasPrefix("s"), let d = Data(base64Encoded: String(p.dropFirst())), let s = String(data: d, encoding: .utf8) { return s.databaseValue }
            throw invalid
        }
    }
}

extension AccountingStore {
    /// Rows returned per page when the request asks for none.
    public static let defaultPageSize = 1000
    /// The most rows one page returns.
    public static let maxPageSize = 10_000

    /// Answers QuerySummaries: the groups matching the filter, ordered by the group-by keys in
    /// request order, one page at a time. Throws `RPCError` (INVALID_ARGUMENT) for bad requests.
    public func querySummaries(_ request: Weft_Accounting_V1_QuerySummariesRequest) async throws -> Weft_Accounting_V1_QuerySummariesResponse {
        let query = try SummaryQuery(kind: request.kind, filter: request.filter, groupBy: request.groupBy)
        guard request.pageSize >= 0 else { throw RPCError(code: .invalidArgument, message: "page_size must not be negative") }
        let size = request.pageSize == 0 ? Self.defaultPageSize : min(Int(request.pageSize), Self.maxPageSize)
        let after = request.pageToken.isEmpty ? nil : try PageToken.decode(request.pageToken, query: query)
        let rows = try await pool.read { db in try query.run(db, after: after, limit: query.columns.isEmpty ? nil : size + 1) }
        var response = Weft_Accounting_V1_QuerySummariesResponse()
        response.rows = rows.prefix(size).map(\.row)
        if rows.count > size, let last = rows.prefix(size).last {
            response.nextPageToken = PageToken.encode(query: query, after: last.values)
        }
        return response
    }
}
