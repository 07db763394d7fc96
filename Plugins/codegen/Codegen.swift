import Foundation
import PackagePlugin

/// Runs `weft-protoc` over a target's `.proto` files and adds the generated Swift to the target.
///
/// - For the `Gen` target, the files are every `.proto` under the package's `proto/` directory.
/// - For any other target, they are the `.proto` files in the target's own directory, compiled with
///   that directory and the package's `proto/` on the import path (so they can import Weft's files).
///
/// One command generates all of a target's files: it parses each import once, and the outputs are
/// named from the proto paths (`grpc/health/v1/health.proto` → `grpc_health_v1_health.pb.swift`).
@main
struct Codegen: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let tool = try context.tool(named: "weft-protoc")
        let packageProto = context.package.directoryURL.appending(path: "proto")
        let root: URL
        var includes: [URL]
        let protoFiles: [URL]
        if target.name == "Gen" {
            root = packageProto
            includes = [packageProto]
            protoFiles = Self.protoFiles(under: packageProto)
        } else {
            root = target.directoryURL
            includes = [root, packageProto]
            protoFiles = target.sourceFiles(withSuffix: "proto").map(\.url)
        }
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

    /// Every `.proto` under `dir`, sorted for a stable command line.
    static func protoFiles(under dir: URL) -> [URL] {
        guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { return [] }
        var files: [URL] = []
        for case let url as URL in e where url.pathExtension == "proto" { files.append(url) }
        return files.sorted { $0.path < $1.path }
    }

    /// Must agree with `SwiftEmitter.outputName(for:)`.
    static func outputName(for protoPath: String) -> String {
        var base = protoPath
        if base.hasSuffix(".proto") { base.removeLast(6) }
        return base.replacingOccurrences(of: "/", with: "_") + ".pb.swift"
    }
}
