import Foundation
import PackagePlugin

/// Runs `weft-protoc` over a target's `.proto` files and adds the generated Swift to the target.
///
/// - For the `Gen` target, the files are every `.proto` under the package's `proto/` directory
///   (reached through the `Sources/Gen/proto` link).
/// - For any other target, they are the `.proto` files in the target's own directory, compiled with
///   that directory and the package's `proto/` on the import path (so they can import Weft's files);
///   their generated code imports `Gen`.
///
/// One command generates all of a target's files: it parses each import once, and the outputs are
/// named from the proto paths (`grpc/health/v1/health.proto` → `grpc_health_v1_health.pb.swift`).
@main
struct Codegen: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let tool = try context.tool(named: "weft-protoc")
        let packageProto = context.package.directoryURL.appending(path: "proto")
        // Gen's directory holds a `proto` link to the package's proto/, so that SwiftPM sees the
        // .proto files as the target's sources and plans again when one is added or removed.
        let root = target.name == "Gen" ? target.directoryURL.appending(path: "proto") : target.directoryURL
        var includes = target.name == "Gen" ? [root] : [root, packageProto]
        let protoFiles = target.sourceFiles(withSuffix: "proto").map(\.url).sorted { $0.path < $1.path }
        includes = includes.filter { FileManager.default.fileExists(atPath: $0.path) }
        guard !protoFiles.isEmpty else { return [] }

        let outDir = context.pluginWorkDirectoryURL.appending(path: "swift")
        let rootPath = root.standardizedFileURL.path + "/"
        var outputs: [URL] = []
        for file in protoFiles {
            let path = file.standardizedFileURL.path
            let relative = path.hasPrefix(rootPath) ? String(path.dropFirst(rootPath.count)) : file.lastPathComponent
            outputs.append(outDir.appending(path: Self.outputName(for: relative)))
        }
        var arguments = includes.map { "--proto_path=\($0.path)" }
        arguments.append("--swift_out=\(outDir.path)")
        arguments.append("--swift_opt=Visibility=Public")
        // An index of the target's files: `GenFiles.files`, `GenFiles.registry`.
        let index = target.name + "Files"
        arguments.append("--swift_opt=FileIndex=\(index)")
        outputs.append(outDir.appending(path: index + ".swift"))
        // Types of proto/ live in Gen; other targets' files may import them.
        if target.name != "Gen" { arguments.append("--swift_opt=ImportModule=Gen") }
        arguments += protoFiles.map(\.path)
        return [
            .buildCommand(
                displayName: "Generating Swift for \(protoFiles.count) proto files of \(target.name)",
                executable: tool.url,
                arguments: arguments,
                inputFiles: protoFiles + [tool.url],
                outputFiles: outputs
            )
        ]
    }

    /// Must agree with `SwiftEmitter.outputName(for:)`.
    static func outputName(for protoPath: String) -> String {
        var base = protoPath
        if base.hasSuffix(".proto") { base.removeLast(6) }
        return base.replacingOccurrences(of: "/", with: "_") + ".pb.swift"
    }
}
