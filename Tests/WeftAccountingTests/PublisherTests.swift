import Foundation
import Gen
import Synchronization
import Testing
import WeftAccounting
import WeftAccountingPublisher
import WeftRPC

/// The durable outbox and the publisher, against the real AccountingService over the in-process transport.
@Suite struct PublisherTests {
    static func jobs(_ prefix: String, _ n: Int, site: String = "SITE-A") -> [Weft_Accounting_V1_UsageRecord] {
        (0..<n).map { Records.job("\(prefix)-\($0)", site: site) }
    }

    static func tempDir() -> String { NSTemporaryDirectory() + "weft-outbox-\(UUID().uuidString)" }

    static let fastRetry = RetryPolicy(initialBackoff: .milliseconds(5), maxBackoff: .milliseconds(40))

    static func files(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    @Test func outboxKeepsRecordsAndSequencesAcrossReopen() throws {
        let dir = Self.tempDir()
        let records = Self.jobs("a", 1200) + Self.jobs("b", 1300)
        do {
            let outbox = try AccountingOutbox(directory: dir, publisherID: "pub-1", site: "SITE-A")
            try outbox.append(Array(records[0..<1200]))
            try outbox.append(Array(records[1200...]))
            #expect(outbox.pendingBatches.map(\.sequence) == [1, 2])
            #expect(outbox.pendingBatches.map(\.recordCount) == [1000, 1000])
            #expect(outbox.openRecordCount == 500 && outbox.pendingRecordCount == 2500)
        }
        do {
            // Reopened without publishing: the same batches, the open tail, the same records in order.
            let outbox = try AccountingOutbox(directory: dir, publisherID: "pub-1", site: "SITE-A")
            #expect(outbox.pendingBatches.map(\.sequence) == [1, 2])
            #expect(outbox.openRecordCount == 500 && outbox.pendingRecordCount == 2500)
            #expect(try outbox.pendingRecords() == records)
            try outbox.seal()
            #expect(outbox.pendingBatches.map(\.sequence) == [1, 2, 3])
        }
        // A torn write at the end (a crash inside append) is cut off on open.
        let segment = try #require(Self.files(dir).first { $0.hasPrefix("segment-") })
        let handle = try #require(FileHandle(forWritingAtPath: dir + "/" + segment))
        handle.seekToEndOfFile()
        handle.write(Data([0x12, 0xFF, 0x03, 0x0A, 0x01]))
        try handle.close()
        do {
            let outbox = try AccountingOutbox(directory: dir, publisherID: "pub-1", site: "SITE-A")
            #expect(outbox.pendingBatches.map(\.sequence) == [1, 2, 3])
            #expect(outbox.pendingBatches.map(\.recordCount) == [1000, 1000, 500])
            #expect(try outbox.pendingRecords() == records)
            try outbox.append(Self.jobs("c", 10))
            #expect(outbox.openRecordCount == 10)
            // Another identity is refused while records are pending; a second process is kept out.
            #expect(throws: OutboxError.self) { try AccountingOutbox(directory: dir, publisherID: "pub-2", site: "SITE-A") }
        }
        let reopened = try AccountingOutbox(directory: dir)
        #expect(reopened.publisherID == "pub-1" && reopened.site == "SITE-A" && reopened.pendingRecordCount == 2510)
    }

    @Test func publishesEverythingExactlyOnceAndEmptiesTheOutbox() async throws {
        let stack = try Stack()
        let dir = Self.tempDir()
        let outbox = try AccountingOutbox(directory: dir, publisherID: "pub-1", site: "SITE-A", segmentSizeLimit: 200_000)
        for chunk in 0..<11 { try outbox.append(Self.jobs("j\(chunk)", 500)) }
        let seen = Mutex<[PublishProgress]>([])
        let publisher = AccountingPublisher(outbox: outbox, client: stack.client, maxInFlightBatches: 4)
        let summary = try await publisher.publishPending { p in seen.withLock { $0.append(p) } }
        #expect(summary.batches == 6 && summary.acceptedRecords == 5500 && summary.rejections.isEmpty && summary.duplicateBatches == 0)
        let last = try #require(seen.withLock { $0.last })
        #expect(last.acknowledgedRecords == 5500 && last.totalRecords == 5500 && last.acknowledgedBatches == 6 && last.totalBatches == 6)
        #expect(outbox.pendingRecordCount == 0 && outbox.pendingBatchCount == 0 && outbox.acknowledgedSequence == 6)
        #expect(Self.files(dir) == ["lock", "state.json"])
        #expect(try await stack.store.recordCount() == 5500)
        #expect(try await stack.query(groupBy: []).rows.first?.job.numberOfJobs == 5500)
        #expect(try await stack.client.getPublisher(.with { $0.publisherId = "pub-1" }).lastCommittedSequence == 6)
        // Nothing pending: nothing to do, no session.
        #expect(try await publisher.publishPending().batches == 0)
    }

    @Test func serverGoingAwayMidPublishResumesExactlyOnce() async throws {
        let first = try Stack()
        let transport = SwitchableTransport(first.service)
        transport.cutAfterAcks.withLock { $0 = 3 }
        let outbox = try AccountingOutbox(directory: Self.tempDir(), publisherID: "pub-1", site: "SITE-A")
        try outbox.append(Self.jobs("j", 20_000))
        let publisher = AccountingPublisher(
            outbox: outbox, client: .init(transport: transport), maxInFlightBatches: 8, retry: Self.fastRetry)
        let publishing = Task { try await publisher.publishPending() }
        // The connection breaks after three acks and the server is down; restart it on the same store file.
        while transport.cuts.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(5)) }
        try await Task.sleep(for: .milliseconds(150))
        let restarted = try Stack(dir: first.dir)
        transport.target.withLock { $0 = InProcessTransport(server: RPCServer(services: [restarted.service])) }
        let summary = try await publishing.value
        #expect(summary.reconnects >= 1)
        #expect(summary.batches == 20)
        #expect(summary.acceptedRecords + summary.duplicateRecords == 20_000)
        #expect(outbox.pendingRecordCount == 0)
        #expect(try await restarted.store.recordCount() == 20_000)
        #expect(try await restarted.query(groupBy: []).rows.first?.job.numberOfJobs == 20_000)
        let state = try await restarted.client.getPublisher(.with { $0.publisherId = "pub-1" })
        #expect(state.lastCommittedSequence == 20 && state.acceptedRecords == 20_000)
    }

    @Test func clientCrashMidPublishResumesFromTheOutboxExactlyOnce() async throws {
        let stack = try Stack()
        let dir = Self.tempDir()
        let transport = SwitchableTransport(stack.service)
        transport.cutAfterAcks.withLock { $0 = 2 }
        do {
            let outbox = try AccountingOutbox(directory: dir, publisherID: "pub-1", site: "SITE-A")
            try outbox.append(Self.jobs("j", 9_500))
            let publisher = AccountingPublisher(
                outbox: outbox, client: .init(transport: transport), retry: RetryPolicy(maxConsecutiveFailures: 0))
            let error = await #expect(throws: PublishError.self) { try await publisher.publishPending() }
            #expect(error?.kind == .unreachable)
        }
        // Let commits of the broken session that were in flight land, then a new process takes over.
        try await Task.sleep(for: .milliseconds(150))
        let outbox = try AccountingOutbox(directory: dir)
        #expect(outbox.pendingRecordCount > 0)
        let summary = try await AccountingPublisher(outbox: outbox, client: stack.client).publishPending()
        #expect(outbox.pendingRecordCount == 0)
        #expect(try await stack.store.recordCount() == 9_500)
        #expect(try await stack.query(groupBy: []).rows.first?.job.numberOfJobs == 9_500)
        #expect(summary.acceptedRecords + summary.duplicateRecords + 2000 >= 9_500)
        #expect(try await stack.client.getPublisher(.with { $0.publisherId = "pub-1" }).lastCommittedSequence == 10)
    }

    @Test func freshOutboxOfAKnownPublisherNumbersAfterTheServer() async throws {
        let stack = try Stack()
        do {
            let outbox = try AccountingOutbox(directory: Self.tempDir(), publisherID: "pub-1", site: "SITE-A")
            try outbox.append(Self.jobs("a", 1500))
            _ = try await AccountingPublisher(outbox: outbox, client: stack.client).publishPending()
        }
        // The outbox is lost; a new one publishes as the same id: its batches must not be taken for duplicates.
        let outbox = try AccountingOutbox(directory: Self.tempDir(), publisherID: "pub-1", site: "SITE-A")
        try outbox.append(Self.jobs("b", 700))
        let summary = try await AccountingPublisher(outbox: outbox, client: stack.client).publishPending()
        #expect(summary.acceptedRecords == 700 && summary.duplicateBatches == 0)
        #expect(try await stack.store.recordCount() == 2200)
        #expect(try await stack.client.getPublisher(.with { $0.publisherId = "pub-1" }).lastCommittedSequence == 3)
    }

    @Test func rejectionsAreReturnedNotRetried() async throws {
        let stack = try Stack()
        let outbox = try AccountingOutbox(directory: Self.tempDir(), publisherID: "pub-1", site: "SITE-A")
        var backwards = Records.job("y")
        backwards.job.startTime = Records.time(Records.sep15 + 10)
        try outbox.append(Self.jobs("ok", 1000) + [Records.job("other", site: "SITE-B"), backwards, Records.job("ok-last")])
        let summary = try await AccountingPublisher(outbox: outbox, client: stack.client).publishPending()
        #expect(summary.acceptedRecords == 1001 && summary.batches == 2)
        #expect(summary.rejections.map(\.sequence) == [2, 2])
        #expect(summary.rejections.map(\.rejection.index) == [0, 1])
        #expect(summary.rejections.map(\.rejection.field) == ["Site", "EndTime"])
        #expect(summary.rejections[0].description.hasPrefix("batch 2 record 1: Site: "))
        #expect(outbox.pendingRecordCount == 0)
    }

    @Test func refusalFailsFastAndKeepsTheRecords() async throws {
        let stack = try Stack(mayPublish: { site, _ in site == "SITE-A" })
        let outbox = try AccountingOutbox(directory: Self.tempDir(), publisherID: "pub-b", site: "SITE-B")
        try outbox.append(Self.jobs("b", 10, site: "SITE-B"))
        let started = ContinuousClock.now
        let error = await #expect(throws: PublishError.self) {
            try await AccountingPublisher(outbox: outbox, client: stack.client).publishPending()
        }
        #expect(error?.kind == .refused && error?.status?.code == .permissionDenied)
        // Not retried: the policy's retries would take far longer than this, even on a loaded machine.
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(outbox.pendingRecordCount == 10)
    }

    @Test func unreachableServerGivesUpAfterThePolicysRetries() async throws {
        let transport = SwitchableTransport(nil)
        let outbox = try AccountingOutbox(directory: Self.tempDir(), publisherID: "pub-1", site: "SITE-A")
        try outbox.append(Self.jobs("j", 3))
        let publisher = AccountingPublisher(
            outbox: outbox, client: .init(transport: transport),
            retry: RetryPolicy(initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(2), maxConsecutiveFailures: 3))
        let error = await #expect(throws: PublishError.self) { try await publisher.publishPending() }
        #expect(error?.kind == .unreachable && error?.status?.code == .unavailable)
        #expect(outbox.pendingRecordCount == 3)
    }

    /// Throughput of the client side: a server that acknowledges without storing.
    @Test func throughputAgainstAFastServer() async throws {
        let outbox = try AccountingOutbox(directory: Self.tempDir(), publisherID: "pub-1", site: "SITE-A")
        let records = Self.jobs("j", 1000)
        let n = 100
        let appendStart = ContinuousClock.now
        for _ in 0..<n { try outbox.append(records) }
        let appendTime = ContinuousClock.now - appendStart
        let client = Weft_Accounting_V1_AccountingService.Client(transport: InProcessTransport(server: RPCServer(services: [AckingService()])))
        let summary = try await AccountingPublisher(outbox: outbox, client: client, maxInFlightBatches: 8).publishPending()
        #expect(summary.acceptedRecords == n * 1000)
        let seconds = { (d: Duration) in Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        print("outbox append: \(Int(Double(n * 1000) / seconds(appendTime))) records/s; publish to an acking server: \(Int(Double(n * 1000) / seconds(summary.elapsed))) records/s")
    }
}

/// A transport to a server that can be taken down and replaced, and that breaks the next call
/// (UNAVAILABLE, server down) after a number of acknowledgements.
final class SwitchableTransport: ClientTransport, Sendable {
    let target: Mutex<InProcessTransport?>
    let cutAfterAcks = Mutex<Int?>(nil)
    let cuts = Mutex(0)

    init(_ service: (any RegistrableRPCService)?) {
        target = Mutex(service.map { InProcessTransport(server: RPCServer(services: [$0])) })
    }

    func withStream<R>(descriptor: MethodDescriptor, options: CallOptions, _ body: (ClientStream) async throws -> R) async throws -> R {
        guard let server = target.withLock({ $0 }) else { throw RPCError(code: .unavailable, message: "connection refused") }
        guard let cut = cutAfterAcks.withLock({ c in defer { c = nil }; return c }) else {
            return try await server.withStream(descriptor: descriptor, options: options, body)
        }
        return try await server.withStream(descriptor: descriptor, options: options) { stream in
            let (parts, sink) = AsyncThrowingStream<ResponsePart, any Error>.makeStream()
            let forward = Task {
                var messages = 0
                do {
                    for try await part in stream.responses {
                        sink.yield(part)
                        if case .message = part { messages += 1 }
                        if messages == cut + 1 {  // accepted plus `cut` acks
                            self.target.withLock { $0 = nil }
                            self.cuts.withLock { $0 += 1 }
                            sink.yield(.end(RPCStatus(code: .unavailable, message: "connection reset"), [:]))
                            break
                        }
                    }
                    sink.finish()
                } catch {
                    sink.finish(throwing: error)
                }
            }
            defer { forward.cancel() }
            return try await body(ClientStream(requests: stream.requests, finishRequests: stream.finishRequests, responses: RPCAsyncSequence(parts)))
        }
    }
}

/// Acknowledges every batch at once without storing anything: the publisher's ceiling.
final class AckingService: Weft_Accounting_V1_AccountingService.ServiceProtocol {
    func publishRecords(
        requests: RPCAsyncSequence<Weft_Accounting_V1_PublishRecordsRequest>, responses: RPCWriter<Weft_Accounting_V1_PublishRecordsResponse>,
        context: ServerContext
    ) async throws {
        for try await request in requests {
            var response = Weft_Accounting_V1_PublishRecordsResponse()
            switch request.message {
            case .start(let s)?: response.accepted = .with { $0.publisherId = s.publisherId }
            case .batch(let b)?: response.ack = .with { $0.sequence = b.sequence; $0.acceptedCount = Int32(b.records.count) }
            case nil: continue
            }
            try await responses.write(response)
        }
    }

    func querySummaries(request: Weft_Accounting_V1_QuerySummariesRequest, context: ServerContext) async throws -> Weft_Accounting_V1_QuerySummariesResponse {
        throw RPCError(code: .unimplemented, message: "")
    }

    func watchSummaries(
        request: Weft_Accounting_V1_WatchSummariesRequest, responses: RPCWriter<Weft_Accounting_V1_WatchSummariesResponse>, context: ServerContext
    ) async throws {
        throw RPCError(code: .unimplemented, message: "")
    }

    func getPublisher(request: Weft_Accounting_V1_GetPublisherRequest, context: ServerContext) async throws -> Weft_Accounting_V1_GetPublisherResponse {
        throw RPCError(code: .unimplemented, message: "")
    }

    func exportSummaries(
        request: Weft_Accounting_V1_ExportSummariesRequest, responses: RPCWriter<Weft_Accounting_V1_ExportSummariesResponse>, context: ServerContext
    ) async throws {
        throw RPCError(code: .unimplemented, message: "")
    }
}
