#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the outbox could not do what was asked; `description` is meant for people.
public struct OutboxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, naming the file or the state at fault.
    public var message: String

    /// An error with a message.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }

    static func posix(_ what: String, _ path: String, _ code: Int32 = errno) -> OutboxError {
        OutboxError("\(what) \(path): \(String(cString: strerror(code)))")
    }
}

/// Thin POSIX wrappers: the outbox needs pwrite/pread at known offsets, fdatasync, and renames
/// made durable by syncing the directory, none of which FileManager offers.
enum OutboxFiles {
    static func open(_ path: String, create: Bool) throws(OutboxError) -> Int32 {
        let fd = create ? Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) : Glibc.open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 { throw .posix("cannot open", path) }
        return fd
    }

    /// Writes all of `bytes` at `offset`.
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws(OutboxError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .posix("cannot write", path)
            }
            done += n
        }
    }

    /// Writes all of an array at `offset` (typed throws do not pass through `withUnsafeBytes`).
    static func write(_ fd: Int32, _ bytes: [UInt8], at offset: Int, path: String) throws(OutboxError) {
        let failure: OutboxError? = bytes.withUnsafeBytes { raw in
            do throws(OutboxError) {
                try write(fd, raw, at: offset, path: path)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// Reads exactly `count` bytes at `offset` into `buffer`.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int, path: String) throws(OutboxError) {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .posix("cannot read", path)
            }
            if n == 0 { throw OutboxError("\(path) is shorter than the outbox expects (truncated by someone else?)") }
            done += n
        }
    }

    /// The whole file.
    static func readAll(_ fd: Int32, path: String) throws(OutboxError) -> [UInt8] {
        var st = stat()
        if fstat(fd, &st) != 0 { throw .posix("cannot stat", path) }
        let size = Int(st.st_size)
        var failure: OutboxError?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            do throws(OutboxError) {
                if size > 0 { try read(fd, into: UnsafeMutableRawPointer(buffer.baseAddress!), count: size, at: 0, path: path) }
                initialized = size
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    static func sync(_ fd: Int32, path: String) throws(OutboxError) {
        if fdatasync(fd) != 0 { throw .posix("cannot sync", path) }
    }

    static func truncate(_ fd: Int32, to size: Int, path: String) throws(OutboxError) {
        if ftruncate(fd, off_t(size)) != 0 { throw .posix("cannot truncate", path) }
    }

    /// Makes creations, renames and removals in `directory` durable.
    static func syncDirectory(_ directory: String) throws(OutboxError) {
        let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw .posix("cannot open directory", directory) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw .posix("cannot sync directory", directory) }
    }

    /// Replaces `path` with `bytes` atomically: a crash leaves either the old or the new file.
    static func replace(_ path: String, with bytes: [UInt8], directory: String) throws(OutboxError) {
        let temporary = path + ".tmp"
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw .posix("cannot create", temporary) }
        do throws(OutboxError) {
            try write(fd, bytes, at: 0, path: temporary)
            if fsync(fd) != 0 { throw .posix("cannot sync", temporary) }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        if rename(temporary, path) != 0 { throw .posix("cannot rename into", path) }
        try syncDirectory(directory)
    }

    static func makeDirectory(_ path: String) throws(OutboxError) {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o755) != 0 && errno != EEXIST { throw .posix("cannot create directory", partial) }
        }
    }

    /// Names of the entries of a directory.
    static func list(_ directory: String) throws(OutboxError) -> [String] {
        guard let dir = opendir(directory) else { throw .posix("cannot list", directory) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Takes an exclusive lock on `path` (created if missing), or fails if another process holds it.
    static func lock(_ path: String) throws(OutboxError) -> Int32 {
        let fd = try open(path, create: true)
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK { throw OutboxError("the outbox \(path.dropLast(5)) is in use by another process") }
            throw .posix("cannot lock", path, code)
        }
        return fd
    }
}
