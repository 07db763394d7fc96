// The compiler entry point: finds files on the import path, parses and links them with their
// imports, and returns descriptors in `--include_imports` order.

import Foundation

/// The outcome of one compilation.
public struct CompilationResult: Sendable {
    /// The names (relative to their import path) of the files asked for, in the order given.
    public var requested: [String]
    /// Every loaded file, each after its imports, as `protoc --include_imports` orders them.
    public var files: [FileDescriptor]

    /// The files to write for `--descriptor_set_out`: all of them with `includeImports`,
    /// otherwise only the requested ones — still each after its requested imports, as protoc
    /// orders them.
    public func descriptorSet(includeImports: Bool) -> FileDescriptorSet {
        if includeImports { return FileDescriptorSet(files: files) }
        let wanted = Set(requested)
        let byName = filesByName
        var out: [FileDescriptor] = []
        var seen: Set<String> = []
        func visit(_ name: String) {
            guard wanted.contains(name), seen.insert(name).inserted, let file = byName[name] else { return }
            for dep in file.dependencies { visit(dep) }
            out.append(file)
        }
        for name in requested { visit(name) }
        return FileDescriptorSet(files: out)
    }

    /// Every file by name, for emitters that look up imported types.
    public var filesByName: [String: FileDescriptor] {
        Dictionary(files.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }
}

/// Compiles `.proto` files like protoc, with a list of import directories (`-I`).
public struct ProtoCompilerSession: Sendable {
    /// Directories searched, in order, for files and their imports.
    public var importPaths: [String]

    /// Creates a session searching `importPaths` in order.
    public init(importPaths: [String]) { self.importPaths = importPaths }

    /// Compiles `files` (paths on disk under an import path, or names relative to one) and
    /// returns them plus all transitive imports, each file after its imports.
    public func compile(_ files: [String]) throws(ProtoCompileError) -> [FileDescriptor] {
        try compileWithResult(files).files
    }

    /// Like `compile(_:)`, but also reports which files were requested.
    public func compileWithResult(_ files: [String]) throws(ProtoCompileError) -> CompilationResult {
        var state = CompilationState(importPaths: importPaths)
        var requested: [String] = []
        for path in files {
            let name = try virtualName(for: path)
            guard state.diskPath(for: name) != nil else {
                throw ProtoCompileError(file: name, line: 0, column: 0, message: "File not found.")
            }
            requested.append(name)
        }
        for name in requested { _ = try state.load(name, importChain: []) }
        var ordered: [FileDescriptor] = []
        var seen: Set<String> = []
        for name in requested { state.appendInImportOrder(name, to: &ordered, seen: &seen) }
        return CompilationResult(requested: requested, files: ordered)
    }

    /// Maps a command-line path to its name relative to the import path containing it (protoc's
    /// rule: the import path must be a textual prefix of the file path).
    public func virtualName(for path: String) throws(ProtoCompileError) -> String {
        let canonical = Self.canonicalize(path)
        if FileManager.default.fileExists(atPath: path) {
            for dir in importPaths {
                let d = Self.canonicalize(dir)
                if d == "." || d.isEmpty {
                    if !canonical.hasPrefix("/") { return canonical }
                } else if canonical.hasPrefix(d + "/") {
                    return String(canonical.dropFirst(d.count + 1))
                } else if d == "/" && canonical.hasPrefix("/") {
                    return String(canonical.dropFirst())
                }
            }
            // An existing file outside every import path can still be a name relative to one.
            if !canonical.hasPrefix("/"), importPaths.contains(where: {
                FileManager.default.fileExists(atPath: Self.canonicalize($0) + "/" + canonical)
            }) {
                return canonical
            }
            throw ProtoCompileError(file: path, line: 0, column: 0, message: "File does not reside within any path specified using --proto_path (or -I).  You must specify a --proto_path which encompasses this file.  Note that the proto_path must be an exact prefix of the .proto file names -- protoc is too dumb to figure out when two paths (e.g. absolute and relative) are equivalent (it's harder than you think).")
        }
        return canonical
    }

    /// Removes `./` components, duplicate and trailing slashes.
    static func canonicalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        let joined = parts.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty && !path.isEmpty ? "." : joined
    }
}

/// Files loaded so far in one compilation.
private struct CompilationState {
    let importPaths: [String]
    var linked: [String: FileDescriptor] = [:]
    var table = SymbolTable()

    init(importPaths: [String]) { self.importPaths = importPaths }

    /// The first import path's copy of `name`.
    func diskPath(for name: String) -> String? {
        for dir in importPaths {
            let base = ProtoCompilerSession.canonicalize(dir)
            let candidate = base == "." ? name : (base.hasSuffix("/") ? base + name : base + "/" + name)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDir), !isDir.boolValue { return candidate }
        }
        return nil
    }

    /// Parses and links `name` after its imports; returns the linked descriptor.
    mutating func load(_ name: String, importChain: [String]) throws(ProtoCompileError) -> FileDescriptor {
        if let done = linked[name] { return done }
        guard let path = diskPath(for: name) else {
            throw ProtoCompileError(file: name, line: 0, column: 0, message: "File not found.")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProtoCompileError(file: name, line: 0, column: 0, message: "Read error.")
        }
        let parsed: ParsedFile
        do {
            parsed = try ProtoParser.parse(name: name, source: [UInt8](data))
        } catch {
            throw error.located(in: name)
        }
        let chain = importChain + [name]
        var visible: Set<String> = []
        var seenImports: Set<String> = []
        for (i, dep) in parsed.descriptor.dependencies.enumerated() {
            let importPath: [Int32] = [3, Int32(i)]
            func importError(_ message: String) -> ProtoCompileError {
                let start = parsed.locations.start(of: importPath)
                return SourceError(line: start?.line ?? -1, column: start?.column ?? -1, message: message).located(in: name)
            }
            if !seenImports.insert(dep).inserted { throw importError("Import \"\(dep)\" was listed twice.") }
            if let at = chain.firstIndex(of: dep) {
                let cycle = (chain[at...] + [dep]).joined(separator: " -> ")
                throw importError("File recursively imports itself: \(cycle)")
            }
            if diskPath(for: dep) == nil {
                throw importError("Import \"\(dep)\" was not found or had errors.")
            }
            _ = try load(dep, importChain: chain)
            visible.insert(dep)
            addPublicImports(of: dep, to: &visible)
        }
        do {
            let (file, table) = try Linker.link(parsed, visibleFiles: visible, table: table)
            self.table = table
            linked[name] = file
            return file
        } catch {
            throw error.located(in: name)
        }
    }

    /// Adds the transitive `import public` files of `name`.
    private func addPublicImports(of name: String, to visible: inout Set<String>) {
        guard let file = linked[name] else { return }
        for index in file.publicDependencies where Int(index) < file.dependencies.count {
            let dep = file.dependencies[Int(index)]
            if visible.insert(dep).inserted { addPublicImports(of: dep, to: &visible) }
        }
    }

    /// Post-order walk over imports, as protoc orders `--include_imports` output.
    func appendInImportOrder(_ name: String, to out: inout [FileDescriptor], seen: inout Set<String>) {
        guard seen.insert(name).inserted, let file = linked[name] else { return }
        for dep in file.dependencies { appendInImportOrder(dep, to: &out, seen: &seen) }
        out.append(file)
    }
}
