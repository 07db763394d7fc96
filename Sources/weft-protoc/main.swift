// weft-protoc: a protoc-compatible command line for Weft's compiler and Swift emitter.

import ArgumentParser
import Foundation
import ProtoCompiler
import ProtoSwiftEmitter

/// The `weft-protoc` command: `-I DIR`, `--descriptor_set_out=FILE`, `--swift_out=DIR`, … FILES.
@main
struct WeftProtoc: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weft-protoc",
        abstract: "Compiles .proto files to descriptor sets and Swift, with protoc's conventions.")

    @Option(name: [.customShort("I", allowingJoined: true), .customLong("proto_path")],
            help: ArgumentHelp("A directory to search for imports (repeatable).", valueName: "DIR"))
    var protoPath: [String] = []

    @Option(name: .customLong("descriptor_set_out"),
            help: ArgumentHelp("Write a FileDescriptorSet of the input files to FILE.", valueName: "FILE"))
    var descriptorSetOut: String?

    @Flag(name: .customLong("include_imports"), help: "Also write all transitive imports to the descriptor set.")
    var includeImports = false

    @Flag(name: .customLong("include_source_info"), help: "Keep source locations and comments in the descriptor set.")
    var includeSourceInfo = false

    @Option(name: .customLong("swift_out"), help: ArgumentHelp("Write generated Swift to DIR.", valueName: "DIR"))
    var swiftOut: String?

    @Option(name: .customLong("swift_opt"),
            help: ArgumentHelp("A Swift generator option: Visibility=Public|Internal|Package, ImportModule=NAME (import a module), FileIndex=NAME (also write NAME.swift indexing the generated files).", valueName: "KEY=VALUE"))
    var swiftOpt: [String] = []

    @Argument(help: "The .proto files to compile.")
    var files: [String] = []

    mutating func run() throws {
        guard !files.isEmpty else { fail("Missing input file.") }
        var emitterOptions = SwiftEmitterOptions()
        var fileIndex: String?
        for opt in swiftOpt {
            let parts = opt.split(separator: "=", maxSplits: 1).map(String.init)
            switch (parts.first, parts.count) {
            case ("Visibility", 2):
                guard let v = SwiftEmitterOptions.Visibility(rawValue: parts[1]) else {
                    fail("--swift_opt: Invalid visibility \"\(parts[1])\" (expected Public, Internal or Package).")
                }
                emitterOptions.visibility = v
            case ("ImportModule", 2):
                emitterOptions.importModules.append(parts[1])
            case ("FileIndex", 2):
                fileIndex = parts[1]
            default:
                fail("--swift_opt: Unknown option \"\(opt)\" (expected Visibility=Public|Internal|Package, ImportModule=NAME or FileIndex=NAME).")
            }
        }
        let session = ProtoCompilerSession(importPaths: protoPath.isEmpty ? ["."] : protoPath)
        let result: CompilationResult
        do {
            result = try session.compileWithResult(files)
        } catch {
            fail(error.description)
        }
        if let descriptorSetOut {
            let set = result.descriptorSet(includeImports: includeImports)
            let bytes = set.serializedBytes(includeSourceInfo: includeSourceInfo)
            guard FileManager.default.createFile(atPath: descriptorSetOut, contents: Data(bytes)) else {
                fail("\(descriptorSetOut): Could not write file.")
            }
        }
        if let swiftOut {
            let all = result.filesByName
            for name in result.requested {
                guard let file = all[name] else { continue }
                let source: String
                do {
                    source = try SwiftEmitter.generate(
                        file, allFiles: all, serializedDescriptor: file.serializedBytes(includeSourceInfo: false), options: emitterOptions)
                } catch {
                    fail("\(name): \(error)")
                }
                let path = (swiftOut as NSString).appendingPathComponent(SwiftEmitter.outputName(for: name))
                do {
                    try source.write(toFile: path, atomically: true, encoding: .utf8)
                } catch {
                    fail("\(path): \(error.localizedDescription)")
                }
            }
            if let fileIndex {
                let path = (swiftOut as NSString).appendingPathComponent(fileIndex + ".swift")
                let source = SwiftEmitter.generateIndex(name: fileIndex, files: result.requested, options: emitterOptions)
                do {
                    try source.write(toFile: path, atomically: true, encoding: .utf8)
                } catch {
                    fail("\(path): \(error.localizedDescription)")
                }
            }
        }
    }

    /// Prints `message` to stderr and exits with status 1.
    private func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Foundation.exit(1)
    }
}
