import ArgumentParser
import Foundation
import WeftHTTP2

/// `weft`: one executable, a subcommand per area (DESIGN §9).
///
/// Exit status: 0 on success, 1 when an operation fails (the reason on stderr), 2 on bad usage.
@main
struct Weft: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weft",
        abstract: "Weft: federated infrastructure for scientific digital twins.",
        subcommands: [Up.self, Pods.self, AccountingCommand.self, IdentityCommand.self, Sidecar.self, VirtualKubeletCommand.self, Demo.self, Proto.self, InteropServer.self, InteropClient.self]
    )

    /// Parses and runs, mapping ArgumentParser's usage errors to exit status 2.
    static func main() async {
        CopyTuning.reexecIfNeeded()
        do {
            // `--flag=` with nothing after `=` means "not set" (interop harnesses pass such flags).
            let arguments = CommandLine.arguments.dropFirst().filter { !($0.hasPrefix("--") && $0.hasSuffix("=")) }
            var command = try parseAsRoot(Array(arguments))
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let failure as OperationFailure {
            FileHandle.standardError.write(Data("weft: \(failure.message)\n".utf8))
            Foundation.exit(1)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(code == .validationFailure ? 2 : 1)
        }
    }
}

/// An operation that failed for a reason the user should read (exit status 1).
struct OperationFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
