import Foundation
import Gen
import Testing
import WeftAccounting
import WeftRPC

@Suite struct WatchTests {
    @Test func watchSendsCurrentSyncedThenAddedAndModified() async throws {
        let stack = try Stack()
        _ = try await stack.acks([Records.batch(1, [Records.job("a1", fqan: "/atlas")])])
        var request = Weft_Accounting_V1_WatchSummariesRequest()
        request.groupBy = [.vo]
        let seen = try await stack.client.watchSummaries(request) { stream in
            var out: [Weft_Accounting_V1_WatchSummariesResponse] = []
            for try await m in stream {
                out.append(m)
                switch out.count {
                case 2:  // after SYNCED: a new VO, then more of it and of the first one.
                    _ = try await stack.acks([Records.batch(2, [Records.job("c1", fqan: "/cms")])])
                case 3:
                    _ = try await stack.acks([Records.batch(3, [Records.job("c2", fqan: "/cms"), Records.job("c3", fqan: "/cms"), Records.job("a2", fqan: "/atlas")])])
                default: break
                }
                if out.count == 5 { break }
            }
            return out
        }
        #expect(seen.map(\.changeType) == [.current, .synced, .added, .modified, .modified])
        #expect(seen[0].row.key.vo == "atlas" && seen[0].row.job.numberOfJobs == 1)
        #expect(!seen[1].hasRow)
        #expect(seen[2].row.key.vo == "cms" && seen[2].row.job.numberOfJobs == 1)
        let last = Dictionary(uniqueKeysWithValues: seen[3...].map { ($0.row.key.vo, $0.row.job.numberOfJobs) })
        #expect(last == ["atlas": 2, "cms": 3])
    }

    @Test func watchHonoursFilterAndMinUpdateInterval() async throws {
        let stack = try Stack()
        var request = Weft_Accounting_V1_WatchSummariesRequest()
        request.groupBy = [.vo]
        request.filter.vos = ["cms"]
        request.minUpdateInterval = Records.duration(1)
        let started = ContinuousClock.now
        let seen = try await stack.client.watchSummaries(request) { stream in
            var out: [(Weft_Accounting_V1_WatchSummariesResponse, Duration)] = []
            for try await m in stream {
                out.append((m, ContinuousClock.now - started))
                if out.count == 1 {
                    // Not watched: another VO. Then three quick commits for cms, published beside
                    // the loop so that each update is timed when the watch sends it.
                    Task {
                        _ = try await stack.acks([Records.batch(1, [Records.job("a1", fqan: "/atlas")])])
                        for i in 2...4 { _ = try await stack.acks([Records.batch(UInt64(i), [Records.job("c\(i)", fqan: "/cms")])]) }
                    }
                }
                if out.count == 1 + 2 { break }
            }
            return out
        }
        #expect(seen.map(\.0.changeType) == [.synced, .added, .modified])
        #expect(seen.dropFirst().allSatisfy { $0.0.row.key.vo == "cms" })
        // The first change goes out at once; the rest are gathered into one update a second later.
        #expect((2...3).contains(seen[2].0.row.job.numberOfJobs))
        #expect(seen[2].1 - seen[1].1 >= .milliseconds(900))
    }
}
