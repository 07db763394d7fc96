import Foundation
import Gen
import Testing
import WeftAccounting
import WeftRPC

@Suite struct PublishTests {
    @Test func acceptedThenAcksInOrderWithCommitTime() async throws {
        let stack = try Stack()
        let batches = (1...5).map { b in Records.batch(UInt64(b), (0..<100).map { Records.job("j\(b)-\($0)") }) }
        let (responses, error) = try await stack.publish(batches)
        #expect(error == nil)
        guard case .accepted(let accepted)? = responses.first?.message else { Issue.record("no accepted first"); return }
        #expect(accepted.publisherId == "pub-1" && accepted.lastCommittedSequence == 0)
        let acks = responses.dropFirst().compactMap { if case .ack(let a)? = $0.message { a } else { nil } }
        #expect(acks.map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(acks.allSatisfy { $0.acceptedCount == 100 && !$0.duplicate && $0.rejections.isEmpty && $0.hasCommitTime })
        #expect(try await stack.store.recordCount() == 500)
        let publisher = try await stack.client.getPublisher(.with { $0.publisherId = "pub-1" })
        #expect(publisher.site == "SITE-A" && publisher.lastCommittedSequence == 5 && publisher.acceptedRecords == 500 && publisher.rejectedRecords == 0)
        #expect(publisher.hasLastPublishTime)
    }

    /// A publisher that sends one batch and waits for its ack before the next (no pipelining) must
    /// get each ack without sending anything more.
    @Test func lockstepPublisherGetsEachAckWithoutSendingMore() async throws {
        let stack = try Stack()
        let (acked, ack) = AsyncStream<UInt64>.makeStream()
        let session = Task {
            try await stack.client.publishRecords(requests: { w in
                try await w.write(Records.start("pub-1", "SITE-A"))
                var acks = acked.makeAsyncIterator()
                for b in 1...3 {
                    try await w.write(.with { $0.batch = Records.batch(UInt64(b), (0..<10).map { Records.job("l\(b)-\($0)") }) })
                    #expect(await acks.next() == UInt64(b))
                }
            }, responses: { stream in
                for try await r in stream { if case .ack(let a)? = r.message { ack.yield(a.sequence) } }
                ack.finish()
            })
        }
        let watchdog = Task {
            try await Task.sleep(for: .seconds(20))
            session.cancel()
        }
        let outcome = await session.result
        watchdog.cancel()
        #expect((try? outcome.get()) != nil, "the session hung or failed: \(outcome)")
        #expect(try await stack.store.recordCount() == 30)
    }

    @Test func exactlyOnceAcrossReconnectAndResend() async throws {
        let stack = try Stack()
        let batches = (1...6).map { b in Records.batch(UInt64(b), (0..<50).map { Records.job("j\(b)-\($0)") }) }
        // First session: the client goes away after two acks; later batches may or may not commit.
        let firstAcks = try await stack.client.publishRecords(requests: { w in
            try await w.write(Records.start("pub-1", "SITE-A"))
            for b in batches { try await w.write(.with { $0.batch = b }) }
        }, responses: { stream in
            var acks = 0
            for try await r in stream {
                if case .ack? = r.message { acks += 1 }
                if acks == 2 { break }
            }
            return acks
        })
        #expect(firstAcks == 2)
        // Second session: resume from what the server says, resending everything not acknowledged;
        // and a third that resends everything from the start.
        for _ in 0..<2 {
            let (responses, error) = try await stack.publish(batches)
            #expect(error == nil)
            guard case .accepted(let accepted)? = responses.first?.message else { Issue.record("no accepted"); return }
            #expect(accepted.lastCommittedSequence >= 2)
            let acks = responses.dropFirst().compactMap { if case .ack(let a)? = $0.message { a } else { nil } }
            #expect(acks.count == 6)
            // At or below the resume point: duplicates. Above it, a commit of the first session
            // still in flight when this one opened may also come back as a duplicate.
            for a in acks where a.sequence <= accepted.lastCommittedSequence { #expect(a.duplicate) }
            #expect(acks.filter(\.duplicate).allSatisfy { $0.acceptedCount == 0 })
        }
        #expect(try await stack.store.recordCount() == 300)
        let total = try await stack.query(groupBy: [])
        #expect(total.rows.count == 1 && total.rows.first?.job.numberOfJobs == 300)
        #expect(try await stack.client.getPublisher(.with { $0.publisherId = "pub-1" }).acceptedRecords == 300)
    }

    @Test func recordResentInANewBatchIsNotCountedTwice() async throws {
        let stack = try Stack()
        _ = try await stack.acks([Records.batch(1, [Records.job("a"), Records.job("b")])])
        let acks = try await stack.acks([Records.batch(2, [Records.job("b"), Records.job("c")])])
        #expect(acks.first?.acceptedCount == 2)
        let total = try await stack.query(groupBy: [])
        #expect(total.rows.first?.job.numberOfJobs == 3)
        #expect(try await stack.store.recordCount() == 3)
    }

    @Test func mixedBatchStoresOnlyValidRecordsAndNamesFieldAndReason() async throws {
        let stack = try Stack()
        var noID = Records.job("x")
        noID.job.localJobId = ""
        var backwards = Records.job("y")
        backwards.job.startTime = Records.time(Records.sep15 + 10)
        var badBenchmark = Records.job("z")
        badBenchmark.job.serviceLevels = ["bogomips": 3]
        let records = [Records.job("ok1"), noID, Records.job("ok2"), backwards, badBenchmark, Weft_Accounting_V1_UsageRecord()]
        let acks = try await stack.acks([Records.batch(1, records)])
        let ack = try #require(acks.first)
        #expect(ack.acceptedCount == 2)
        #expect(ack.rejections.map(\.index) == [1, 3, 4, 5])
        #expect(ack.rejections[0].field == "LocalJobId" && ack.rejections[0].reason.contains("missing mandatory field"))
        #expect(ack.rejections[1].field == "EndTime" && ack.rejections[1].reason.contains("EndTime is before StartTime"))
        #expect(ack.rejections[2].field == "ServiceLevelType" && ack.rejections[2].reason.contains("bogomips"))
        #expect(ack.rejections[3].field == "" && !ack.rejections[3].reason.isEmpty)
        #expect(try await stack.store.recordCount() == 2)
        #expect(try await stack.query(groupBy: []).rows.first?.job.numberOfJobs == 2)
        let p = try await stack.client.getPublisher(.with { $0.publisherId = "pub-1" })
        #expect(p.acceptedRecords == 2 && p.rejectedRecords == 4)
    }

    @Test func recordsOfAnotherSiteAreRejected() async throws {
        let stack = try Stack()
        let acks = try await stack.acks(site: "SITE-A", [Records.batch(1, [Records.job("1"), Records.job("2", site: "SITE-B")])])
        let ack = try #require(acks.first)
        #expect(ack.acceptedCount == 1)
        #expect(ack.rejections.count == 1)
        #expect(ack.rejections.first?.index == 1 && ack.rejections.first?.field == "Site")
        #expect(ack.rejections.first?.reason.contains("SITE-A") == true && ack.rejections.first?.reason.contains("SITE-B") == true)
    }

    @Test func mayPublishFalseIsPermissionDenied() async throws {
        let stack = try Stack(mayPublish: { site, _ in site == "SITE-A" })
        let (responses, error) = try await stack.publish(site: "SITE-B", [Records.batch(1, [Records.job("1", site: "SITE-B")])])
        #expect(responses.isEmpty)
        expectRPCError(.permissionDenied, containing: ["may not publish records of site", "SITE-B"], error)
        #expect(try await stack.store.recordCount() == 0)
        #expect(try await stack.publish(site: "SITE-A", []).error == nil)
    }

    @Test func batchOf1001IsResourceExhaustedAfterAckingEarlierBatches() async throws {
        let stack = try Stack()
        let ok = Records.batch(1, (0..<1000).map { Records.job("a\($0)") })
        let big = Records.batch(2, (0..<1001).map { Records.job("b\($0)") })
        let (responses, error) = try await stack.publish([ok, big])
        expectRPCError(.resourceExhausted, containing: ["1001", "1000"], error)
        let acks = responses.compactMap { if case .ack(let a)? = $0.message { a } else { nil } }
        #expect(acks.map(\.sequence) == [1] && acks.first?.acceptedCount == 1000)
        #expect(try await stack.store.recordCount() == 1000)
    }

    @Test func protocolErrors() async throws {
        let stack = try Stack()
        // No start.
        let (r1, e1) = try await stack.publish([Records.batch(1, [Records.job("1")])], sendStart: false)
        #expect(r1.isEmpty)
        expectRPCError(.invalidArgument, containing: ["start"], e1)
        // Sequence not increasing within a session.
        let (_, e2) = try await stack.publish([Records.batch(5, [Records.job("1")]), Records.batch(5, [Records.job("2")])])
        expectRPCError(.invalidArgument, containing: ["not above"], e2)
        // Empty publisher id.
        let (_, e3) = try await stack.publish(publisher: "", [])
        expectRPCError(.invalidArgument, containing: ["publisher_id"], e3)
        // One publisher id, two sites.
        let (_, e4) = try await stack.publish(publisher: "pub-1", site: "SITE-C", [])
        expectRPCError(.failedPrecondition, containing: ["SITE-A", "SITE-C"], e4)
        // Unknown publisher.
        do {
            _ = try await stack.client.getPublisher(.with { $0.publisherId = "nobody" })
            Issue.record("unknown publisher found")
        } catch let e as RPCError {
            expectRPCError(.notFound, containing: ["nobody"], e)
        }
    }
}
