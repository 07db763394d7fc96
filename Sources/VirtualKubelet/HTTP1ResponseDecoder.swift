import Foundation

/// The head of an HTTP/1.1 response.
public struct HTTP1ResponseHead: Sendable, Equatable {
    /// Status code.
    public var status: Int
    /// Header fields with lower-cased names (repeated fields joined with ", ").
    public var headers: [String: String]

    /// Creates a head.
    public init(status: Int, headers: [String: String]) {
        self.status = status
        self.headers = headers
    }
}

/// A response that is not valid HTTP/1.1.
public struct HTTP1ProtocolError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    public var description: String { "bad HTTP/1.1 response: \(message)" }
}

/// Decodes an HTTP/1.1 response incrementally: the head, then the body framed by
/// `Transfer-Encoding: chunked`, `Content-Length` or the end of the connection.
public struct HTTP1ResponseDecoder: Sendable {
    private enum State: Sendable {
        case head
        case fixed(remaining: Int)
        case untilClose
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case done
    }

    private var state = State.head
    private var buffer = Data()
    private let maxHeadBytes = 64 * 1024
    /// The head, once decoded.
    public private(set) var head: HTTP1ResponseHead?

    /// Creates a decoder for one response.
    public init() {}

    /// True once the whole response has been decoded.
    public var isComplete: Bool { if case .done = state { return true } else { return false } }

    /// Takes bytes from the connection and returns the body bytes they complete.
    public mutating func feed(_ data: Data) throws(HTTP1ProtocolError) -> [Data] {
        buffer.append(data)
        var body: [Data] = []
        while true {
            switch state {
            case .head:
                guard let end = buffer.range(of: Data("\r\n\r\n".utf8)) else {
                    if buffer.count > maxHeadBytes { throw HTTP1ProtocolError(message: "the response head exceeds \(maxHeadBytes) bytes") }
                    return body
                }
                let h = try Self.parseHead(buffer[buffer.startIndex..<end.lowerBound])
                buffer = Data(buffer[end.upperBound...])
                if (100..<200).contains(h.status) { continue }  // 100 Continue and the like
                head = h
                if h.status == 204 || h.status == 304 {
                    state = .done
                } else if h.headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
                    state = .chunkSize
                } else if let length = h.headers["content-length"] {
                    guard let n = Int(length.trimmingCharacters(in: .whitespaces)), n >= 0 else { throw HTTP1ProtocolError(message: "Content-Length \"\(length)\"") }
                    state = n == 0 ? .done : .fixed(remaining: n)
                } else {
                    state = .untilClose
                }
            case .fixed(let remaining):
                guard !buffer.isEmpty else { return body }
                let take = min(remaining, buffer.count)
                body.append(Data(buffer.prefix(take)))
                buffer = Data(buffer.dropFirst(take))
                state = remaining - take == 0 ? .done : .fixed(remaining: remaining - take)
            case .untilClose:
                if !buffer.isEmpty { body.append(buffer) }
                buffer = Data()
                return body
            case .chunkSize:
                guard let line = takeLine() else { return body }
                let sizeText = line.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                guard let size = Int(sizeText, radix: 16), size >= 0 else { throw HTTP1ProtocolError(message: "chunk size \"\(line)\"") }
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard !buffer.isEmpty else { return body }
                let take = min(remaining, buffer.count)
                body.append(Data(buffer.prefix(take)))
                buffer = Data(buffer.dropFirst(take))
                state = remaining - take == 0 ? .chunkDataEnd : .chunkData(remaining: remaining - take)
            case .chunkDataEnd:
                guard let line = takeLine() else { return body }
                guard line.isEmpty else { throw HTTP1ProtocolError(message: "a chunk is longer than its size") }
                state = .chunkSize
            case .trailers:
                guard let line = takeLine() else { return body }
                if line.isEmpty { state = .done }
            case .done:
                return body
            }
        }
    }

    /// Takes the end of the connection; throws if the response is incomplete.
    public mutating func finish() throws(HTTP1ProtocolError) {
        switch state {
        case .done: return
        case .untilClose: state = .done
        case .head: throw HTTP1ProtocolError(message: "the connection closed before the response head")
        default: throw HTTP1ProtocolError(message: "the connection closed in the middle of the body")
        }
    }

    private mutating func takeLine() -> String? {
        guard let nl = buffer.range(of: Data("\r\n".utf8)) else { return nil }
        let line = String(decoding: buffer[buffer.startIndex..<nl.lowerBound], as: UTF8.self)
        buffer = Data(buffer[nl.upperBound...])
        return line
    }

    private static func parseHead(_ bytes: Data) throws(HTTP1ProtocolError) -> HTTP1ResponseHead {
        let lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
        guard let statusLine = lines.first else { throw HTTP1ProtocolError(message: "no status line") }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100..<600).contains(status) else {
            throw HTTP1ProtocolError(message: "status line \"\(statusLine.prefix(100))\"")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw HTTP1ProtocolError(message: "header line \"\(line.prefix(100))\"") }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = headers[name].map { "\($0), \(value)" } ?? value
        }
        return HTTP1ResponseHead(status: status, headers: headers)
    }
}
