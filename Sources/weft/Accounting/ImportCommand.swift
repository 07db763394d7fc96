import ArgumentParser
import Foundation
import Gen
import WeftAPEL
import WeftAccountingPublisher

extension AccountingCommand {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue the records of APEL messages in the outbox and publish them.",
            discussion: """
                Reads every format WeftAPEL reads: individual job, summary, normalised summary, sync, cloud, cloud summary \
                (text messages), StAR storage records (XML) and accelerator records (JSON). A file with a bad record is \
                refused as a whole (file:line: record N: Field: reason) and nothing of it is queued; the other files are. \
                All records of one import must be of one site (one outbox publishes one site).
                """)
        @Argument(help: "APEL message files.") var files: [String]
        @Option(name: .customLong("publisher-id"), help: "Publisher id (default: HOST/SITE); batch sequences are per publisher.")
        var publisherID: String?
        @Option(help: "Site of the records (default: the site the records name).") var site: String?
        @Flag(name: .customLong("no-publish"), help: "Only queue the records; publish later with `weft accounting publish`.")
        var noPublish = false
        @OptionGroup var outbox: OutboxOptions
        @OptionGroup var client: ClientOptions

        func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one APEL message file") }
        }

        func run() async throws {
            var parsed: [(file: String, records: [Weft_Accounting_V1_UsageRecord])] = []
            var refused: [String] = []
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else {
                    refused.append("\(file): cannot read")
                    continue
                }
                do {
                    parsed.append((file, try APELParser.parse(Array(data), source: file).records))
                } catch {
                    refused.append(error.description)
                }
            }
            let site = try chooseSite(parsed)
            if let site {
                let queue: AccountingOutbox
                do {
                    queue = try AccountingOutbox(directory: outbox.outbox, publisherID: publisherID ?? Self.defaultPublisherID(site: site), site: site)
                } catch { throw OperationFailure("outbox: \(error)") }
                var count = 0
                for (file, records) in parsed where !records.isEmpty {
                    do { try queue.append(records) } catch { throw OperationFailure("\(file): cannot queue: \(error)") }
                    count += records.count
                }
                note("queued \(grouped(count)) records of site \(site) from \(parsed.count) of \(files.count) files in \(outbox.outbox)")
                if !noPublish { try await Publishing.publish(queue, options: outbox, client: client) }
            } else if refused.isEmpty {
                note("the files hold no records")
            }
            guard !refused.isEmpty else { return }
            if refused.count == 1 { throw OperationFailure(refused[0]) }
            for r in refused { note("weft: \(r)") }
            throw OperationFailure("\(refused.count) of \(files.count) files were refused (above); nothing of them was queued")
        }

        /// The one site of the records; refuses a mix, and records of another site than `--site`.
        func chooseSite(_ parsed: [(file: String, records: [Weft_Accounting_V1_UsageRecord])]) throws -> String? {
            var counts: [(site: String, records: Int, file: String)] = []
            for (file, records) in parsed {
                for r in records {
                    let s = RecordRules.site(of: r)
                    if let i = counts.firstIndex(where: { $0.site == s }) { counts[i].records += 1 } else { counts.append((s, 1, file)) }
                }
            }
            if let site {
                if let other = counts.first(where: { $0.site != site }) {
                    throw OperationFailure(
                        "\(other.file): \(other.records) records are of site \"\(other.site)\", not --site \(site); nothing was queued")
                }
                return counts.isEmpty ? nil : site
            }
            guard counts.count <= 1 else {
                let list = counts.map { "\($0.site) (\(grouped($0.records)) records, e.g. in \($0.file))" }.joined(separator: ", ")
                throw OperationFailure("the files hold records of several sites: \(list); import each site's files separately; nothing was queued")
            }
            return counts.first?.site
        }

        /// HOST/SITE: stable for a machine and site, and distinct per site (the server binds a
        /// publisher id to one site).
        static func defaultPublisherID(site: String) -> String {
            // gethostname, not ProcessInfo.hostName, which may wait for DNS.
            var buffer = [CChar](repeating: 0, count: 256)
            let name = gethostname(&buffer, buffer.count - 1) == 0 ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
            let host = name.split(separator: ".").first.map(String.init) ?? ""
            return "\(host.isEmpty ? "localhost" : host)/\(site)"
        }
    }

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish what is waiting in the outbox.",
            discussion: "Shows progress on a terminal; prints one line with the counts, and the rejected records on stderr (exit 1 if any).")
        @OptionGroup var outbox: OutboxOptions
        @OptionGroup var client: ClientOptions

        func run() async throws {
            guard FileManager.default.fileExists(atPath: outbox.outbox + "/state.json") else {
                throw OperationFailure("\(outbox.outbox) is not an outbox; queue records with `weft accounting import` first")
            }
            let queue: AccountingOutbox
            do { queue = try AccountingOutbox(directory: outbox.outbox) } catch { throw OperationFailure("outbox: \(error)") }
            guard queue.pendingRecordCount > 0 else {
                emit("nothing to publish in \(outbox.outbox)\n")
                return
            }
            try await Publishing.publish(queue, options: outbox, client: client)
        }
    }
}
