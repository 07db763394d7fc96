import Foundation
import Gen
import Testing
import WeftAPEL

/// Throughput of the per-record hot paths. Runs only with WEFT_APEL_BENCH=1 (CI does not time it);
/// run it in release:
///   swift build -c release --build-tests --scratch-path .build-release
///   WEFT_APEL_BENCH=1 swift test -c release --skip-build --scratch-path .build-release --filter APELSpeedTests
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["WEFT_APEL_BENCH"] == "1"))
struct APELSpeedTests {
    static let count = 200_000

    /// A v0.3 individual job message of `count` records, shaped like what CEs send.
    static func jobMessage(count: Int) -> [UInt8] {
        var text = "APEL-individual-job-message: v0.3\n"
        text.reserveCapacity(count * 520)
        let types = ["HEPSPEC", "si2k", "HEPscore23", "hepspec"]
        for i in 0..<count {
            text += """
                Site: RAL-LCG2
                SubmitHost: ce01.ncg.ingrid.pt:2119/jobmanager-lcgsge-atlasgrid
                MachineName: wn\(i % 977).example.ac.uk
                Queue: grid
                LocalJobId: \(31_564_872 + i)
                LocalUserId: atlasprd\(i % 100)
                GlobalUserName: /C=UK/O=eScience/OU=CLRC/L=RAL/CN=user \(i % 1000)
                FQAN: /atlas/uk/Role=production/Capability=NULL
                WallDuration: \(234_256 + i % 1000)
                CpuDuration: \(2345 + i % 777)
                Processors: \(1 + i % 8)
                NodeCount: 1
                StartTime: \(1_700_000_000 + i)
                EndTime: \(1_700_100_000 + i)
                InfrastructureDescription: APEL-CREAM-HTCONDOR
                InfrastructureType: grid
                MemoryReal: \(1_000_000 + i)
                MemoryVirtual: \(2_000_000 + i)
                ServiceLevelType: \(types[i % types.count])
                ServiceLevel: \(10 + i % 7).5
                %%

                """
        }
        return Array(text.utf8)
    }

    /// `count` job records as the publisher's code builds them: FQAN set, VO fields to derive.
    static func jobRecords(count: Int) -> [Weft_Accounting_V1_UsageRecord] {
        let types = ["HEPSPEC", "si2k", "HEPscore23", " hepspec "]
        var out: [Weft_Accounting_V1_UsageRecord] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            var j = Weft_Accounting_V1_JobRecord()
            j.site = "RAL-LCG2"
            j.submitHost = "ce01.ncg.ingrid.pt:2119/jobmanager-lcgsge-atlasgrid"
            j.localJobId = "\(31_564_872 + i).ce01.example.ac.uk"
            j.fqan = "/atlas/uk/Role=production/Capability=NULL"
            var wall = Google_Protobuf_Duration()
            wall.seconds = 234_256
            j.wallDuration = wall
            var cpu = Google_Protobuf_Duration()
            cpu.seconds = 2345
            j.cpuDuration = cpu
            j.processors = 4
            j.nodeCount = 1
            var start = Google_Protobuf_Timestamp()
            start.seconds = 1_700_000_000 + Int64(i)
            j.startTime = start
            var end = Google_Protobuf_Timestamp()
            end.seconds = 1_700_100_000 + Int64(i)
            j.endTime = end
            j.serviceLevels = [types[i % types.count]: 10.5]
            var u = Weft_Accounting_V1_UsageRecord()
            u.record = .job(j)
            out.append(u)
        }
        return out
    }

    static let now = Date(timeIntervalSince1970: 1_780_000_000)

    @Test func parseJobMessage() throws {
        let data = Self.jobMessage(count: Self.count)
        var best = Double.infinity
        for _ in 0..<3 {
            let start = ContinuousClock.now
            let m = try APELParser.parse(data, source: "bench", now: Self.now)
            let seconds = (ContinuousClock.now - start) / .seconds(1)
            #expect(m.records.count == Self.count)
            best = min(best, seconds)
        }
        print(
            "APEL bench: parse \(Self.count) job records (\(data.count / 1_000_000) MB): \(String(format: "%.3f", best)) s, "
                + "\(Int(Double(Self.count) / best)) records/s")
    }

    @Test func validateAndKey() {
        let records = Self.jobRecords(count: Self.count)
        var best = Double.infinity
        var checksum = 0
        for _ in 0..<5 {
            var batch = records
            let start = ContinuousClock.now
            for i in batch.indices {
                let problems = RecordRules.validate(&batch[i], now: Self.now)
                let key = RecordRules.key(of: batch[i])
                checksum &+= problems.count &+ key.utf8.count
            }
            best = min(best, (ContinuousClock.now - start) / .seconds(1))
        }
        #expect(checksum > 0)
        print(
            "APEL bench: validate+key \(Self.count) job records: \(String(format: "%.3f", best)) s, "
                + "\(Int(Double(Self.count) / best)) records/s, \(String(format: "%.0f", best / Double(Self.count) * 1e9)) ns/record")
    }
}
