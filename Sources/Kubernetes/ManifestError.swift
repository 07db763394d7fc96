/// A manifest that cannot be read, with the file and line of the problem.
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    /// File name as given by the user (or `<stdin>`).
    public var file: String
    /// 1-based line, 0 when unknown.
    public var line: Int
    /// 1-based column, 0 when unknown.
    public var column: Int
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(file: String, line: Int, column: Int = 0, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// `file:line:column: message`, as compilers print it.
    public var description: String {
        line > 0 ? "\(file):\(line):\(column > 0 ? "\(column):" : "") \(message)" : "\(file): \(message)"
    }
}
