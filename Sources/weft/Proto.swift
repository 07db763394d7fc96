import ArgumentParser
import Foundation
import Gen
import WeftProtobuf

/// `weft proto …`: inspect Weft's IDL and convert messages between JSON and binary.
struct Proto: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect Weft's IDL; convert messages between proto3 JSON and binary.",
        subcommands: [Types.self, Encode.self, Decode.self]
    )

    /// Looks a message type up by full name.
    static func type(named name: String) throws -> any ProtoMessage.Type {
        guard let t = GenFiles.registry.types[name] else {
            throw ValidationError("Unknown message type \"\(name)\"; `weft proto types` lists them.")
        }
        return t
    }

    static func read(_ path: String?) throws -> Data {
        guard let path, path != "-" else { return FileHandle.standardInput.readDataToEndOfFile() }
        guard let d = FileManager.default.contents(atPath: path) else { throw OperationFailure("\(path): cannot read file") }
        return d
    }

    static func write(_ data: Data, to path: String?) throws {
        guard let path, path != "-" else { FileHandle.standardOutput.write(data); return }
        guard FileManager.default.createFile(atPath: path, contents: data) else { throw OperationFailure("\(path): cannot write file") }
    }

    struct Types: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the files, services and message types of proto/.")

        @Option(help: "Only names containing this text.") var filter: String?

        func run() {
            for file in GenFiles.files {
                let messages = file.messageTypes.map { $0.protoMessageName }.filter { filter.map($0.contains) ?? true }
                let services = file.services.filter { filter.map($0.contains) ?? true }
                if messages.isEmpty && services.isEmpty { continue }
                print(file.name)
                for s in services { print("  service \(s)") }
                for m in messages { print("  message \(m)") }
            }
        }
    }

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read proto3 JSON, write the binary encoding.")
        @Option(help: "Fully qualified message type, e.g. weft.kubelet.v1.Pod.") var type: String
        @Option(name: .customLong("in"), help: "JSON input file (default: stdin).") var input: String?
        @Option(name: .customLong("out"), help: "Binary output file (default: stdout).") var output: String?

        func run() throws {
            let t = try Proto.type(named: type)
            let text = String(decoding: try Proto.read(input), as: UTF8.self)
            do {
                let m = try t.init(jsonString: text, registry: GenFiles.registry, ignoreUnknownFields: false)
                try Proto.write(m.serializedData(), to: output)
            } catch {
                throw OperationFailure("\(input ?? "stdin"): \(error)")
            }
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read the binary encoding, write proto3 JSON.")
        @Option(help: "Fully qualified message type, e.g. weft.kubelet.v1.Pod.") var type: String
        @Option(name: .customLong("in"), help: "Binary input file (default: stdin).") var input: String?
        @Option(name: .customLong("out"), help: "JSON output file (default: stdout).") var output: String?

        func run() throws {
            let t = try Proto.type(named: type)
            do {
                let m = try t.init(serializedBytes: try Proto.read(input))
                try Proto.write(Data((try m.jsonString(registry: GenFiles.registry) + "\n").utf8), to: output)
            } catch let e as OperationFailure {
                throw e
            } catch {
                throw OperationFailure("\(input ?? "stdin"): \(error)")
            }
        }
    }
}
