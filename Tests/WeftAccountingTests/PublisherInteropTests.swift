import Foundation
import Gen
import Testing
import WeftAccounting
import WeftAccountingPublisher
import WeftRPC

/// The accounting publisher (outbox + resumable sessions) against this service.
@Suite struct PublisherInteropTests {
    @Test func publisherDeliversEveryRecordExactlyOnce() async throws {
        let stack = try Stack()
        let outbox = try AccountingOutbox(directory: stack.dir + "/outbox", publisherID: "sidecar-1", site: "SITE-A")
        var records = (0..<2500).map { Records.job("p\($0)") }
        records[7].job.localJobId = ""  // refused by the server, reported back
        try outbox.append(records)
        let publisher = AccountingPublisher(outbox: outbox, client: stack.client)
        let summary = try await publisher.publishPending()
        #expect(summary.acceptedRecords == 2499)
        #expect(summary.rejections.count == 1 && summary.rejections.first?.rejection.field == "LocalJobId")
        #expect(try await stack.store.recordCount() == 2499)
        #expect(try await stack.query(groupBy: []).rows.first?.job.numberOfJobs == 2499)
        // Publishing again sends nothing new.
        let again = try await publisher.publishPending()
        #expect(again.acceptedRecords == 0)
        #expect(try await stack.store.recordCount() == 2499)
    }
}
