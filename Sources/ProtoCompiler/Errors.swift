// Error types of the compiler.

/// A compile error: where it happened and protoc's wording.
///
/// `description` prints `file:line:column: message` (1-based line and column) like protoc, or
/// `file: message` when there is no position (e.g. a file that cannot be found).
public struct ProtoCompileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The proto file name (relative to its import path) or the path as given.
    public var file: String
    /// 1-based line, or 0 when the error has no position.
    public var line: Int
    /// 1-based column, or 0 when the error has no position.
    public var column: Int
    /// What went wrong.
    public var message: String

    /// Creates an error.
    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file; self.line = line; self.column = column; self.message = message
    }

    /// `file:line:column: message`, or `file: message` without a position.
    public var description: String {
        line > 0 ? "\(file):\(line):\(column): \(message)" : "\(file): \(message)"
    }
}

/// An error inside one file with a zero-based position (line -1: no position).
struct SourceError: Error, Sendable {
    var line: Int
    var column: Int
    var message: String

    /// Converts to the public error for `file`.
    func located(in file: String) -> ProtoCompileError {
        line < 0 ? ProtoCompileError(file: file, line: 0, column: 0, message: message)
                 : ProtoCompileError(file: file, line: line + 1, column: column + 1, message: message)
    }
}
