// The tokenizer: turns `.proto` source bytes into tokens, and collects comments the way protoc
// attaches them to declarations (leading, trailing and detached comments).
//
// Lines and columns are zero-based and count bytes; a tab advances the column to the next multiple
// of 8, as protoc does, so that spans in `SourceCodeInfo` match protoc's.

/// One token of `.proto` source.
struct Token: Sendable {
    /// The kind of a token.
    enum Kind: Sendable, Equatable {
        /// Before the first token has been read.
        case start
        /// After the last token.
        case end
        /// A name or keyword: `[A-Za-z_][A-Za-z0-9_]*`.
        case identifier
        /// An integer literal (decimal, hex or octal), unparsed.
        case integer
        /// A floating-point literal, unparsed.
        case float
        /// A quoted string literal, quotes and escapes included.
        case string
        /// Any other single character.
        case symbol
    }

    /// What the token is.
    var kind: Kind
    /// The exact source text.
    var text: String
    /// Zero-based line.
    var line: Int
    /// Zero-based column of the first character.
    var column: Int
    /// Zero-based column just past the last character.
    var endColumn: Int
}

/// Comments gathered around one declaration boundary (see `Lexer.nextWithComments`).
struct CollectedComments: Sendable {
    /// A comment on the same line as (or right after) the previous token, for the previous declaration.
    var trailing: String = ""
    /// Comments separated from both neighbours by blank lines.
    var detached: [String] = []
    /// The comment block directly before the next token.
    var leading: String = ""
}

/// A syntax error found while tokenizing.
struct LexError: Error, Sendable {
    /// Zero-based line.
    var line: Int
    /// Zero-based column.
    var column: Int
    /// protoc's wording.
    var message: String
}

/// A pull tokenizer over UTF-8 bytes with one token of look-behind (`previous`).
struct Lexer {
    private let bytes: [UInt8]
    private var pos = 0
    private var line = 0
    private var column = 0
    /// The token being looked at.
    private(set) var current = Token(kind: .start, text: "", line: 0, column: 0, endColumn: 0)
    /// The token consumed last.
    private(set) var previous = Token(kind: .start, text: "", line: 0, column: 0, endColumn: 0)
    /// The first error found; tokenizing stops being trustworthy after it.
    private(set) var error: LexError?

    /// Creates a lexer over `source`.
    init(_ source: [UInt8]) {
        bytes = source
        // Skip a UTF-8 byte order mark.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { pos = 3 }
    }

    // MARK: Characters

    private var char: UInt8 { pos < bytes.count ? bytes[pos] : 0 }
    private var atEOF: Bool { pos >= bytes.count }

    private mutating func advance() {
        guard pos < bytes.count else { return }
        let c = bytes[pos]
        if c == UInt8(ascii: "\n") {
            line += 1; column = 0
        } else if c == UInt8(ascii: "\t") {
            column += 8 - column % 8
        } else {
            column += 1
        }
        pos += 1
    }

    private mutating func tryConsume(_ c: Character) -> Bool {
        guard !atEOF, let a = c.asciiValue, char == a else { return false }
        advance(); return true
    }

    private static func isLetter(_ c: UInt8) -> Bool {
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95
    }
    private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    private static func isOctal(_ c: UInt8) -> Bool { c >= 48 && c <= 55 }
    private static func isHex(_ c: UInt8) -> Bool {
        isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)
    }
    private static func isWhitespace(_ c: UInt8) -> Bool {
        c == 32 || c == 10 || c == 9 || c == 13 || c == 11 || c == 12
    }
    private static func isWhitespaceNoNewline(_ c: UInt8) -> Bool {
        c == 32 || c == 9 || c == 13 || c == 11 || c == 12
    }

    private mutating func skipWhitespace(newlines: Bool) {
        while !atEOF, newlines ? Lexer.isWhitespace(char) : Lexer.isWhitespaceNoNewline(char) { advance() }
    }

    private mutating func fail(_ message: String, line: Int? = nil, column: Int? = nil) {
        if error == nil { error = LexError(line: line ?? self.line, column: column ?? self.column, message: message) }
    }

    // MARK: Comments

    private enum CommentStart { case line, block, slashNotComment, none }

    private mutating func tryConsumeCommentStart() -> CommentStart {
        guard char == UInt8(ascii: "/"), !atEOF else { return .none }
        let startLine = line, startColumn = column
        advance()
        if tryConsume("/") { return .line }
        if tryConsume("*") { return .block }
        // Just a slash: it becomes the current token.
        previous = current
        current = Token(kind: .symbol, text: "/", line: startLine, column: startColumn, endColumn: startColumn + 1)
        return .slashNotComment
    }

    /// Consumes the rest of a `//` comment including its newline; returns the text after `//`.
    private mutating func consumeLineComment() -> [UInt8] {
        let start = pos
        while !atEOF, char != UInt8(ascii: "\n") { advance() }
        _ = tryConsume("\n")
        return Array(bytes[start..<pos])
    }

    /// Consumes the rest of a `/* */` comment; returns its text with leading `*`s of continuation
    /// lines and the closing `*/` removed, as protoc records it.
    private mutating func consumeBlockComment() -> [UInt8] {
        var out: [UInt8] = []
        var recordStart = pos
        while true {
            while !atEOF, char != UInt8(ascii: "*"), char != UInt8(ascii: "/"), char != UInt8(ascii: "\n") { advance() }
            if tryConsume("\n") {
                out += bytes[recordStart..<pos]
                skipWhitespace(newlines: false)
                if tryConsume("*") {
                    if tryConsume("/") { return out }
                }
                recordStart = pos
            } else if tryConsume("*") {
                if tryConsume("/") {
                    out += bytes[recordStart..<(pos - 2)]
                    return out
                }
            } else if tryConsume("/") {
                if char == UInt8(ascii: "*") {
                    fail("\"/*\" inside block comment.  Block comments cannot be nested.")
                }
            } else {
                // End of input.
                fail("End-of-file inside block comment.")
                out += bytes[recordStart..<pos]
                return out
            }
        }
    }

    // MARK: Tokens

    /// Advances to the next token, discarding comments. Returns false at the end of input.
    @discardableResult
    mutating func next() -> Bool {
        previous = current
        while !atEOF {
            skipWhitespace(newlines: true)
            switch tryConsumeCommentStart() {
            case .line: _ = consumeLineComment(); continue
            case .block: _ = consumeBlockComment(); continue
            case .slashNotComment: return true
            case .none: break
            }
            if atEOF { break }
            let c = char
            if c < 32 || c == 127 {
                fail("Invalid control characters encountered in text.")
                advance()
                continue
            }
            readToken()
            return true
        }
        current = Token(kind: .end, text: "", line: line, column: column, endColumn: column)
        return false
    }

    private mutating func readToken() {
        let startPos = pos, startLine = line, startColumn = column
        var kind: Token.Kind = .symbol
        let c = char
        if Lexer.isLetter(c) {
            advance()
            while !atEOF, Lexer.isLetter(char) || Lexer.isDigit(char) { advance() }
            kind = .identifier
        } else if c == UInt8(ascii: "0") {
            advance(); kind = consumeNumber(startedWithZero: true, startedWithDot: false)
        } else if c == UInt8(ascii: ".") {
            advance()
            if !atEOF, Lexer.isDigit(char) {
                advance()
                if previous.kind == .identifier, previous.line == startLine, previous.endColumn == startColumn {
                    fail("Need space between identifier and decimal point.", column: startColumn)
                }
                kind = consumeNumber(startedWithZero: false, startedWithDot: true)
            }
        } else if Lexer.isDigit(c) {
            advance(); kind = consumeNumber(startedWithZero: false, startedWithDot: false)
        } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
            advance(); consumeString(delimiter: c); kind = .string
        } else {
            if c & 0x80 != 0 { fail("Interpreting non ascii codepoint \(c).") }
            advance()
        }
        let text = String(decoding: bytes[startPos..<pos], as: UTF8.self)
        current = Token(kind: kind, text: text, line: startLine, column: startColumn, endColumn: column)
    }

    private mutating func consumeNumber(startedWithZero: Bool, startedWithDot: Bool) -> Token.Kind {
        var isFloat = false
        if startedWithZero && (tryConsume("x") || tryConsume("X")) {
            if atEOF || !Lexer.isHex(char) { fail("\"0x\" must be followed by hex digits.") }
            while !atEOF, Lexer.isHex(char) { advance() }
        } else if startedWithZero && !atEOF && Lexer.isDigit(char) {
            while !atEOF, Lexer.isOctal(char) { advance() }
            if !atEOF, Lexer.isDigit(char) {
                fail("Numbers starting with leading zero must be in octal.")
                while !atEOF, Lexer.isDigit(char) { advance() }
            }
        } else {
            if startedWithDot {
                isFloat = true
                while !atEOF, Lexer.isDigit(char) { advance() }
            } else {
                while !atEOF, Lexer.isDigit(char) { advance() }
                if tryConsume(".") {
                    isFloat = true
                    while !atEOF, Lexer.isDigit(char) { advance() }
                }
            }
            if tryConsume("e") || tryConsume("E") {
                isFloat = true
                if !tryConsume("-") { _ = tryConsume("+") }
                if atEOF || !Lexer.isDigit(char) { fail("\"e\" must be followed by exponent.") }
                while !atEOF, Lexer.isDigit(char) { advance() }
            }
        }
        if !atEOF, Lexer.isLetter(char) {
            fail("Need space between number and identifier.")
        } else if !atEOF, char == UInt8(ascii: ".") {
            fail(isFloat ? "Already saw decimal point or exponent; can't have another one."
                         : "Hex and octal numbers must be integers.")
        }
        return isFloat ? .float : .integer
    }

    private mutating func consumeString(delimiter: UInt8) {
        while true {
            if atEOF { fail("Unexpected end of string."); return }
            let c = char
            if c == UInt8(ascii: "\n") { fail("String literals cannot cross line boundaries."); return }
            if c == delimiter { advance(); return }
            if c == UInt8(ascii: "\\") {
                advance()
                let e = char
                if "abfnrtv\\?'\"".utf8.contains(e) {
                    advance()
                } else if Lexer.isOctal(e) {
                    advance()
                } else if e == UInt8(ascii: "x") || e == UInt8(ascii: "X") {
                    advance()
                    if atEOF || !Lexer.isHex(char) { fail("Expected hex digits for escape sequence.") }
                } else if e == UInt8(ascii: "u") || e == UInt8(ascii: "U") {
                    advance()
                } else {
                    fail("Invalid escape sequence in string literal.")
                }
            } else {
                advance()
            }
        }
    }

    /// Advances to the next token and sorts the comments in between as protoc does: a comment on
    /// the previous token's line trails it, blocks separated by blank lines are detached, and the
    /// block directly above the next token leads it.
    mutating func nextWithComments() -> CollectedComments {
        var collector = CommentCollector()
        let prevLine = line
        var trailingEndLine = -1
        if current.kind == .start {
            collector.canAttachToPrevious = false
        } else {
            skipWhitespace(newlines: false)
            switch tryConsumeCommentStart() {
            case .line:
                trailingEndLine = line
                collector.addLineComment(consumeLineComment())
                collector.flush()
            case .block:
                collector.addBlockComment(consumeBlockComment())
                trailingEndLine = line
                skipWhitespace(newlines: false)
                if !tryConsume("\n") {
                    collector.clearBuffer()
                    next()
                    return collector.result
                }
                collector.flush()
            case .slashNotComment:
                return collector.result
            case .none:
                if !tryConsume("\n") {
                    next()
                    return collector.result
                }
            }
        }
        while true {
            skipWhitespace(newlines: false)
            switch tryConsumeCommentStart() {
            case .line:
                collector.addLineComment(consumeLineComment())
            case .block:
                collector.addBlockComment(consumeBlockComment())
                skipWhitespace(newlines: false)
                _ = tryConsume("\n")
            case .slashNotComment:
                return collector.result
            case .none:
                if tryConsume("\n") {
                    collector.flush()
                    collector.canAttachToPrevious = false
                } else {
                    let ok = next()
                    if !ok || current.text == "}" || current.text == "]" || current.text == ")" {
                        collector.flush()
                    }
                    // protoc 3.21 keeps a comment attached even when the next token shares a line
                    // with the previous one or with a trailing block comment (checked empirically).
                    _ = (prevLine, trailingEndLine)
                    return collector.result
                }
            }
        }
    }
}

/// Accumulates comments between two tokens (see `Lexer.nextWithComments`).
private struct CommentCollector {
    var trailing: [UInt8] = []
    var hasTrailing = false
    var detached: [String] = []
    var buffer: [UInt8] = []
    var hasComment = false
    var isLineComment = false
    var canAttachToPrevious = true

    mutating func addLineComment(_ text: [UInt8]) {
        if hasComment && !isLineComment { flush() }
        hasComment = true; isLineComment = true
        buffer += text
    }

    mutating func addBlockComment(_ text: [UInt8]) {
        if hasComment { flush() }
        hasComment = true; isLineComment = false
        buffer += text
    }

    mutating func clearBuffer() { buffer = []; hasComment = false }

    mutating func flush() {
        guard hasComment else { return }
        if canAttachToPrevious {
            trailing += buffer; hasTrailing = true
            canAttachToPrevious = false
        } else {
            detached.append(String(decoding: buffer, as: UTF8.self))
        }
        clearBuffer()
    }

    var result: CollectedComments {
        CollectedComments(trailing: String(decoding: trailing, as: UTF8.self), detached: detached,
                          leading: hasComment ? String(decoding: buffer, as: UTF8.self) : "")
    }
}
