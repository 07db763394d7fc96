// Helpers shared by the tests: running /usr/bin/protoc, decoding descriptor sets for diffs, and
// listing the .proto corpora.

import Foundation
import ProtoCompiler

/// Access to the reference compiler.
enum Protoc {
    /// The protoc binary the tests compare against.
    static let path = "/usr/bin/protoc"

    /// Whether protoc is installed (CI installs it; without it the comparison tests are skipped).
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// The result of one protoc run.
    struct Output {
        var status: Int32
        var stdout: Data
        var stderr: String
    }

    /// Runs protoc with `arguments`, optionally feeding `input` on stdin.
    static func run(_ arguments: [String], input: Data? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let inPipe = Pipe()
        if input != nil { process.standardInput = inPipe }
        try process.run()
        if let input {
            inPipe.fileHandleForWriting.write(input)
            try inPipe.fileHandleForWriting.close()
        }
        // Drain stdout (large) before stderr (a few lines), then wait.
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: stdoutData,
                      stderr: String(decoding: stderrData, as: UTF8.self))
    }

    /// Compiles `file` with protoc into a descriptor set; nil status != 0 returns the stderr.
    static func descriptorSet(importPaths: [String], file: String, flags: [String]) throws -> Result<Data, ProtocFailure> {
        let outPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("weft-protoc-test-\(UUID().uuidString).pb").path
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        let output = try run(importPaths.map { "-I\($0)" } + flags + ["--descriptor_set_out=\(outPath)", file])
        guard output.status == 0 else { return .failure(ProtocFailure(stderr: output.stderr)) }
        return .success(try Data(contentsOf: URL(fileURLWithPath: outPath)))
    }

    /// protoc's text form of a serialized `FileDescriptorSet`.
    static func decode(_ bytes: Data) -> String {
        let output = try? run(["--decode=google.protobuf.FileDescriptorSet", "-I/usr/include",
                               "/usr/include/google/protobuf/descriptor.proto"], input: bytes)
        return output.map { String(decoding: $0.stdout, as: UTF8.self) } ?? "<protoc --decode failed>"
    }

    /// A line diff of both descriptor sets decoded to text, for failure messages.
    static func diff(expected: Data, actual: Data) -> String {
        let a = decode(expected).split(separator: "\n", omittingEmptySubsequences: false)
        let b = decode(actual).split(separator: "\n", omittingEmptySubsequences: false)
        var out: [String] = []
        var i = 0, j = 0
        // A simple aligned diff: enough to point at the first differences.
        while (i < a.count || j < b.count) && out.count < 60 {
            if i < a.count, j < b.count, a[i] == b[j] { i += 1; j += 1; continue }
            if let k = b[j...].prefix(50).firstIndex(where: { i < a.count && $0 == a[i] }), k > j {
                for line in b[j..<k] { out.append("+ \(line)") }
                j = k
            } else if let k = a[i...].prefix(50).firstIndex(where: { j < b.count && $0 == b[j] }), k > i {
                for line in a[i..<k] { out.append("- \(line)") }
                i = k
            } else {
                if i < a.count { out.append("- \(a[i])"); i += 1 }
                if j < b.count { out.append("+ \(b[j])"); j += 1 }
            }
        }
        return "--- protoc\n+++ weft-protoc\n" + out.joined(separator: "\n")
    }
}

/// protoc exited with an error.
struct ProtocFailure: Error {
    /// What protoc printed.
    var stderr: String
}

/// One file of a corpus, with the import paths to compile it with.
struct CorpusFile: Sendable, CustomTestStringConvertible {
    /// `-I` directories.
    var importPaths: [String]
    /// The name relative to the first import path.
    var name: String

    var testDescription: String { name }

    /// Every .proto below `root`, named relative to it.
    static func all(under root: String, importPaths: [String]) -> [CorpusFile] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var names: [String] = []
        while let next = walker.nextObject() as? String {
            if next.hasSuffix(".proto") { names.append(next) }
        }
        return names.sorted().map { CorpusFile(importPaths: [root] + importPaths, name: $0) }
    }

    /// The grpc-proto and libprotobuf-dev files installed on the machine.
    static let system: [CorpusFile] =
        all(under: "/usr/share/grpc-proto", importPaths: ["/usr/include"])
        + all(under: "/usr/include/google/protobuf", importPaths: []).map {
            CorpusFile(importPaths: ["/usr/include"], name: "google/protobuf/" + $0.name)
        }
}

import Testing

/// Compiles `file` with both compilers under each flag set and expects equal bytes, or — when
/// protoc rejects the file — expects an error that protoc printed too.
func expectSameAsProtoc(_ file: CorpusFile, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let session = ProtoCompilerSession(importPaths: file.importPaths)
    for sourceInfo in [false, true] {
        for imports in [false, true] {
            var flags: [String] = []
            if sourceInfo { flags.append("--include_source_info") }
            if imports { flags.append("--include_imports") }
            let reference = try Protoc.descriptorSet(importPaths: file.importPaths, file: file.name, flags: flags)
            let ours: Result<[UInt8], ProtoCompileError>
            do {
                let result = try session.compileWithResult([file.name])
                ours = .success(result.descriptorSet(includeImports: imports).serializedBytes(includeSourceInfo: sourceInfo))
            } catch {
                ours = .failure(error)
            }
            switch (reference, ours) {
            case (.success(let expected), .success(let actual)):
                if Data(actual) != expected {
                    Issue.record("\(file.name) \(flags) differs from protoc:\n\(Protoc.diff(expected: expected, actual: Data(actual)))",
                                 sourceLocation: sourceLocation)
                }
            case (.failure(let failure), .failure(let error)):
                #expect(failure.stderr.contains(error.description),
                        "protoc printed:\n\(failure.stderr)\nweft-protoc: \(error)", sourceLocation: sourceLocation)
            case (.failure(let failure), .success):
                Issue.record("protoc failed but weft-protoc accepted \(file.name):\n\(failure.stderr)", sourceLocation: sourceLocation)
            case (.success, .failure(let error)):
                Issue.record("weft-protoc failed on \(file.name): \(error)", sourceLocation: sourceLocation)
            }
        }
    }
}
