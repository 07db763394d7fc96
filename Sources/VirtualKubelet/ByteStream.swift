import Foundation

/// A connected byte stream (TCP, TLS) that ``HTTP1Transport`` speaks HTTP/1.1 over.
public protocol ByteStream: Sendable {
    /// Writes all of `data`.
    func write(_ data: Data) async throws
    /// Reads what is available, at most `maxLength` bytes; empty at the end of the stream.
    func read(maxLength: Int) async throws -> Data
    /// Closes the stream; a read or write in progress fails.
    func close()
}

/// Opens byte streams to a host, e.g. TLS connections verified with a cluster's CA.
public protocol ByteStreamConnector: Sendable {
    /// Connects to `host:port`; `timeout` bounds the connect and then every read and write.
    func connect(host: String, port: Int, timeout: TimeInterval) async throws -> any ByteStream
}
