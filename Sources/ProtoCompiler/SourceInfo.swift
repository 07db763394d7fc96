// Recording `SourceCodeInfo` locations the way protoc does.
//
// protoc adds a location when it *starts* parsing an element (so parents come before children),
// gives it a span from the element's first token to its last, and attaches comments at the
// element's `{`/`;`. Option statements are first recorded as `uninterpreted_option` (999) entries
// and later renamed to the option's own field path, with their sub-locations dropped.

/// Builds the location list of one file in protoc's order.
struct SourceInfoRecorder {
    /// A location while it is being recorded.
    struct Entry {
        var path: [Int32]
        var startLine: Int
        var startColumn: Int
        var endLine = -1
        var endColumn = -1
        var leading: String?
        var trailing: String?
        var detached: [String] = []
    }

    /// Every location in creation order.
    private(set) var entries: [Entry] = []

    /// Starts a location at `token`; returns its handle.
    mutating func begin(_ path: [Int32], at token: Token) -> Int {
        entries.append(Entry(path: path, startLine: token.line, startColumn: token.column))
        return entries.count - 1
    }

    /// The path of a location.
    func path(_ handle: Int) -> [Int32] { entries[handle].path }

    /// Appends a component to a location's path.
    mutating func addPath(_ handle: Int, _ component: Int32) { entries[handle].path.append(component) }

    /// Moves a location's start to `token`.
    mutating func startAt(_ handle: Int, _ token: Token) {
        entries[handle].startLine = token.line; entries[handle].startColumn = token.column
    }

    /// Ends a location at the end of `token`.
    mutating func endAt(_ handle: Int, _ token: Token) {
        entries[handle].endLine = token.line; entries[handle].endColumn = token.endColumn
    }

    /// Ends a location at `token` unless it was already ended explicitly.
    mutating func finish(_ handle: Int, _ token: Token) {
        if entries[handle].endLine < 0 { endAt(handle, token) }
    }

    /// Attaches comments collected at a declaration boundary.
    mutating func attach(_ handle: Int, leading: String, trailing: String, detached: [String]) {
        if !leading.isEmpty { entries[handle].leading = leading }
        if !trailing.isEmpty { entries[handle].trailing = trailing }
        entries[handle].detached = detached
    }

    /// Appends a copy of an entry (used for extension range options shared by several ranges).
    mutating func append(_ entry: Entry) { entries.append(entry) }

    /// The zero-based start of the first location with exactly `path`.
    func start(of path: [Int32]) -> (line: Int, column: Int)? {
        entries.first(where: { $0.path == path }).map { ($0.startLine, $0.startColumn) }
    }

    /// Renames interpreted option locations (`…, 999, i` → `…, fieldNumber`) and drops their
    /// sub-locations, as protoc does after interpreting options.
    mutating func applyInterpretedOptions(_ renames: [[Int32]: [Int32]]) {
        guard !renames.isEmpty else { return }
        var out: [Entry] = []
        out.reserveCapacity(entries.count)
        var removingPrefix: [Int32]?
        for var e in entries {
            if let prefix = removingPrefix {
                if e.path.count >= prefix.count && Array(e.path[0..<prefix.count]) == prefix { continue }
                removingPrefix = nil
            }
            if let newPath = renames[e.path] {
                removingPrefix = e.path
                e.path = newPath
            }
            out.append(e)
        }
        entries = out
    }

    /// The finished `SourceCodeInfo`.
    var sourceCodeInfo: SourceCodeInfo {
        SourceCodeInfo(locations: entries.map { e in
            let span: [Int32] = e.endLine == e.startLine
                ? [Int32(e.startLine), Int32(e.startColumn), Int32(e.endColumn)]
                : [Int32(e.startLine), Int32(e.startColumn), Int32(e.endLine), Int32(e.endColumn)]
            var loc = SourceCodeInfo.Location(path: e.path, span: span)
            loc.leadingComments = e.leading
            loc.trailingComments = e.trailing
            loc.leadingDetachedComments = e.detached
            return loc
        })
    }
}
