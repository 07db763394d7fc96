import ArgumentParser
import Foundation
import Gen
import WeftAccountingPublisher
import WeftRPC

/// `weft accounting`: APEL records in (import, publish), summaries out (export, query, watch).
struct AccountingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounting",
        abstract: "Import and publish APEL usage records; export, query and watch accounting summaries.",
        subcommands: [Import.self, Publish.self, Export.self, Query.self, Watch.self])
}

/// Where records wait until the server has acknowledged them, and how they are sent.
struct OutboxOptions: ParsableArguments {
    @Option(help: "Outbox directory: records are written here first and removed once the server has them.")
    var outbox = "./.weft-outbox"
    @Option(name: .customLong("max-in-flight"), help: "Batches of up to 1000 records sent ahead of their acknowledgements.")
    var maxInFlight = 8
    @Option(name: .customLong("max-retries"), help: "Reconnects in a row without progress before giving up (records stay queued).")
    var maxRetries = 8

    func validate() throws {
        if maxInFlight < 1 { throw ValidationError("--max-in-flight must be at least 1") }
        if maxRetries < 0 { throw ValidationError("--max-retries must not be negative") }
    }
}

/// Runs one accounting call and maps failures to the CLI's exit status.
func withAccounting<R>(
    _ client: ClientOptions, _ what: String, _ body: (Weft_Accounting_V1_AccountingService.Client, CallOptions) async throws -> R
) async throws -> R {
    let (rpc, transport) = try client.client()
    defer { Task { await transport.close() } }
    do { return try await body(Weft_Accounting_V1_AccountingService.Client(rpc), client.callOptions) } catch { throw failure(error, what) }
}

/// Writes a line to stderr (notes and warnings; stdout carries results).
func note(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

/// "1,234,567".
func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}
