import Foundation
import WeftKubernetes

/// One event of a Kubernetes watch stream.
public struct WatchEvent: Sendable, Equatable {
    /// The kind of event.
    public enum EventType: String, Sendable {
        /// The object was created (or is part of the watch's initial state).
        case added = "ADDED"
        /// The object changed.
        case modified = "MODIFIED"
        /// The object was deleted; the event carries its last state.
        case deleted = "DELETED"
        /// Only the resourceVersion moved on (`allowWatchBookmarks`).
        case bookmark = "BOOKMARK"
        /// The watch failed; the event carries a Status.
        case error = "ERROR"
    }

    /// The kind of event.
    public var type: EventType
    /// The object (for ERROR, a Status).
    public var object: JSONValue

    /// Creates an event.
    public init(type: EventType, object: JSONValue) {
        self.type = type
        self.object = object
    }

    /// Parses one line of a watch stream: `{"type":"ADDED","object":{…}}`.
    public init(line: Data) throws(JSONValueError) {
        let v = try JSONValue(parsing: line)
        guard let t = v["type"]?.stringValue, let type = EventType(rawValue: t) else {
            throw JSONValueError(message: "a watch event has no known type: \(String(decoding: line.prefix(200), as: UTF8.self))")
        }
        guard let object = v["object"] else { throw JSONValueError(message: "a \(t) watch event has no object") }
        self.init(type: type, object: object)
    }
}

/// Splits a byte stream into newline-terminated lines (newline-delimited JSON).
public struct LineSplitter: Sendable {
    private var buffer = Data()

    /// Creates an empty splitter.
    public init() {}

    /// Adds bytes and returns the complete, non-empty lines they finish (without the newline).
    public mutating func append(_ data: Data) -> [Data] {
        buffer.append(data)
        var lines: [Data] = []
        while let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
            let line = buffer[buffer.startIndex..<nl]
            buffer = Data(buffer[buffer.index(after: nl)...])
            let trimmed = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
            if !trimmed.isEmpty { lines.append(Data(trimmed)) }
        }
        return lines
    }

    /// Bytes received after the last newline.
    public var remainder: Data { buffer }
}
