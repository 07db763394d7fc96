import Foundation

/// A request on a stream that is not a gRPC call: what a browser sends (`GET /`).
public struct PlainHTTPRequest: Sendable {
    /// `:method`.
    public var method: String
    /// `:path`, with the query.
    public var path: String
    /// The other headers, names in lower case.
    public var headers: [HTTP2Header]

    /// The path without the query.
    public var pathWithoutQuery: Substring { path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }

    /// Query parameters in order (`+` and percent escapes decoded); a name may repeat.
    public var query: [(name: String, value: String)] {
        guard let q = path.split(separator: "?", maxSplits: 1).dropFirst().first else { return [] }
        return q.split(separator: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
            return (decode(kv[0]), kv.count > 1 ? decode(kv[1]) : "")
        }
    }
}

/// The answer to a ``PlainHTTPRequest``.
public struct PlainHTTPResponse: Sendable {
    /// Status code.
    public var status: Int
    /// Headers besides `:status` and `content-length`.
    public var headers: [HTTP2Header]
    /// Body.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: [HTTP2Header] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Answers plain HTTP requests (GET and HEAD) beside the gRPC services of an ``HTTP2Server``,
/// such as a dashboard page. Without one, such requests get HTTP 415 as gRPC specifies.
public typealias PlainHTTPHandler = @Sendable (PlainHTTPRequest) async -> PlainHTTPResponse
