import Foundation
import Gen
import Synchronization
import WeftRPC

/// A container log on disk, one entry per line as the CRI writes them:
/// `<RFC 3339 nano time> <stream> <F|P> <content>\n`, where `P` marks a piece of a line that the
/// process had not ended yet. Keeping the time of every line is what lets `since`, `timestamps`
/// and `tail` be answered later without guessing.
public struct LogEntry: Sendable, Equatable {
    /// When the bytes were read from the process, nanoseconds since the epoch.
    public var time: Int64
    /// `stdout` or `stderr`.
    public var stream: String
    /// True when the content does not end a line.
    public var partial: Bool
    /// The bytes, without the line's newline.
    public var content: [UInt8]

    /// Creates an entry.
    public init(time: Int64, stream: String, partial: Bool, content: [UInt8]) {
        self.time = time
        self.stream = stream
        self.partial = partial
        self.content = content
    }
}

/// Appends a process's output to a log file, a line at a time; safe to call from several readers.
public final class ContainerLogWriter: Sendable {
    private struct State {
        var handle: FileHandle?
        var pending: [String: [UInt8]] = [:]
    }
    private let state: Mutex<State>

    /// Opens (creating or appending to) the log at `path`.
    public init(path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640]) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        state = Mutex(State(handle: handle))
    }

    /// Appends `bytes` read from `stream` now; complete lines are written at once, the rest waits for
    /// its newline (or for ``finish()``).
    public func append(_ bytes: some Collection<UInt8>, stream: String, time: Int64 = Google_Protobuf_Timestamp.now.unixNanos) {
        state.withLock { s in
            guard let handle = s.handle else { return }
            var buffer = s.pending[stream, default: []]
            buffer.append(contentsOf: bytes)
            var out: [UInt8] = []
            var start = 0
            let prefix = Array("\(RFC3339.format(unixNanos: time)) \(stream) ".utf8)
            while let nl = buffer[start...].firstIndex(of: 10) {
                out += prefix
                out += [UInt8(ascii: "F"), 32]
                out += buffer[start..<nl]
                out.append(10)
                start = nl + 1
            }
            // A line longer than 16 KiB is cut into partial entries, as the CRI does.
            while buffer.count - start > 16384 {
                out += prefix
                out += [UInt8(ascii: "P"), 32]
                out += buffer[start..<(start + 16384)]
                out.append(10)
                start += 16384
            }
            s.pending[stream] = Array(buffer[start...])
            if !out.isEmpty { try? handle.write(contentsOf: out) }
        }
    }

    /// Writes what is left of unfinished lines as partial entries and closes the file.
    public func finish() {
        state.withLock { s in
            guard let handle = s.handle else { return }
            let time = RFC3339.format(unixNanos: Google_Protobuf_Timestamp.now.unixNanos)
            for (stream, rest) in s.pending.sorted(by: { $0.key < $1.key }) where !rest.isEmpty {
                try? handle.write(contentsOf: Array("\(time) \(stream) P ".utf8) + rest + [10])
            }
            s.pending = [:]
            try? handle.close()
            s.handle = nil
        }
    }
}

/// Reading container logs with Kubernetes' options.
public enum ContainerLogReader {
    /// Parses the complete entries of `bytes`; returns them and how many bytes they took (a last
    /// line still being written is left for the next read).
    public static func parse(_ bytes: [UInt8]) -> (entries: [LogEntry], consumed: Int) {
        var entries: [LogEntry] = []
        var i = bytes.startIndex
        while let nl = bytes[i...].firstIndex(of: 10) {
            let line = bytes[i..<nl]
            i = nl + 1
            guard let s1 = line.firstIndex(of: 32), let s2 = line[(s1 + 1)...].firstIndex(of: 32),
                  s2 + 1 < line.endIndex, let time = RFC3339.parse(String(decoding: line[line.startIndex..<s1], as: UTF8.self))
            else { continue }
            let tag = line[s2 + 1]
            let contentStart = min(s2 + 3, line.endIndex)
            entries.append(LogEntry(
                time: time, stream: String(decoding: line[(s1 + 1)..<s2], as: UTF8.self),
                partial: tag == UInt8(ascii: "P"), content: Array(line[contentStart...])))
        }
        return (entries, i - bytes.startIndex)
    }

    /// Renders entries as the user sees them: the content with its newline, prefixed with the time
    /// when `timestamps` is set.
    public static func render(_ entries: some Sequence<LogEntry>, timestamps: Bool) -> [UInt8] {
        var out: [UInt8] = []
        for e in entries {
            if timestamps { out += Array(RFC3339.format(unixNanos: e.time).utf8); out.append(32) }
            out += e.content
            if !e.partial { out.append(10) }
        }
        return out
    }

    /// Selects the entries that `options` asks for at the start of a read: newer than `since`, and
    /// the last `tail_lines` lines (a line being partial entries up to a full one).
    public static func select(_ entries: [LogEntry], options: Weft_Kubelet_V1_LogOptions, now: Int64) -> [LogEntry] {
        var selected = entries[...]
        if let since = sinceNanos(options, now: now) {
            selected = selected.drop { $0.time < since }
        }
        if options.hasTailLines {
            let tail = max(0, options.tailLines)
            var lines: Int64 = 0
            var start = selected.endIndex
            var i = selected.endIndex
            while i > selected.startIndex {
                i -= 1
                // A partial entry at the very end is a line of its own, still growing.
                if !selected[i].partial || i == selected.endIndex - 1 {
                    if lines == tail { break }
                    lines += 1
                }
                start = i
            }
            selected = tail == 0 ? selected[selected.endIndex...] : selected[start...]
        }
        return Array(selected)
    }

    /// The `since` bound of `options` in nanoseconds, if any.
    public static func sinceNanos(_ options: Weft_Kubelet_V1_LogOptions, now: Int64) -> Int64? {
        switch options.since {
        case .sinceSeconds(let s)?: return now - max(0, s) * 1_000_000_000
        case .sinceTime(let t)?: return t.unixNanos
        case nil: return nil
        }
    }
}

/// Streams a log file with Kubernetes' options: the selected part first, then, when following,
/// new entries as they are written until `isFinished` says the writer is done and all is read.
public struct ContainerLogStreamer: Sendable {
    /// The log file.
    public let path: String
    /// What to read.
    public let options: Weft_Kubelet_V1_LogOptions
    /// How often to look for new output when following.
    public var pollInterval: Duration = .milliseconds(50)

    /// Creates a streamer for the log at `path`.
    public init(path: String, options: Weft_Kubelet_V1_LogOptions) {
        self.path = path
        self.options = options
    }

    /// Calls `send` with each chunk and its offset in the returned stream. `isFinished` is asked
    /// after each read that found nothing new; follow ends when it answers true.
    public func run(isFinished: @Sendable () async -> Bool, send: (_ chunk: [UInt8], _ offset: Int64) async throws -> Void) async throws {
        var fileOffset: UInt64 = 0
        var sent: Int64 = 0
        let limit = options.hasLimitBytes ? max(0, options.limitBytes) : Int64.max
        var first = true
        while true {
            try Task.checkCancellation()
            let (entries, newOffset) = try readNew(from: fileOffset)
            fileOffset = newOffset
            var chosen = entries
            if first {
                chosen = ContainerLogReader.select(entries, options: options, now: Google_Protobuf_Timestamp.now.unixNanos)
                first = false
            }
            var bytes = ContainerLogReader.render(chosen, timestamps: options.timestamps)
            if Int64(bytes.count) > limit - sent { bytes = Array(bytes.prefix(Int(limit - sent))) }
            var i = 0
            while i < bytes.count {
                let n = min(32 * 1024, bytes.count - i)
                try await send(Array(bytes[i..<(i + n)]), sent)
                sent += Int64(n)
                i += n
            }
            if sent >= limit || !options.follow { return }
            if entries.isEmpty {
                if await isFinished() {
                    // One last read: the writer may have finished between the read and the question.
                    let (tail, _) = try readNew(from: fileOffset)
                    if tail.isEmpty { return }
                    continue
                }
                try await Task.sleep(for: pollInterval)
            }
        }
    }

    private func readNew(from offset: UInt64) throws -> ([LogEntry], UInt64) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return ([], offset) }
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        guard let data = try handle.readToEnd(), !data.isEmpty else { return ([], offset) }
        let bytes = [UInt8](data)
        let (entries, consumed) = ContainerLogReader.parse(bytes)
        return (entries, offset + UInt64(consumed))
    }
}

extension ContainerLogStreamer {
    /// Streams the log as `SidecarService.GetContainerLogs` responses.
    public func run(isFinished: @Sendable () async -> Bool, into responses: RPCWriter<Weft_Sidecar_V1_GetContainerLogsResponse>) async throws {
        try await run(isFinished: isFinished) { chunk, offset in
            var m = Weft_Sidecar_V1_GetContainerLogsResponse()
            m.chunk.data = Data(chunk)
            m.chunk.offset = offset
            try await responses.write(m)
        }
    }
}
