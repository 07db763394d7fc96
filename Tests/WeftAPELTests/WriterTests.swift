import Foundation
import Gen
import Testing
import WeftAPEL

/// The shape of written messages.
@Suite struct WriterTests {
    @Test func headerRecordsAndEndMarkers() throws {
        let m = try parse(jobV04Message)
        let text = try #require(APELWriter.write(m.records, format: .jobV04).first)
        #expect(text.hasPrefix("APEL-individual-job-message: v0.4\nSite: SOME-SITE\n"))
        #expect(text.hasSuffix("%%\n"))
        #expect(text.components(separatedBy: "%%\n").count == 3)
        #expect(text.contains("ServiceLevel: {HEPscore23: 15.3, HEPSPEC: 11.4}\n"))
        #expect(text.contains("StartTime: 1531869580\nEndTime: 1623693622\n"))
        #expect(!text.contains("None"))
    }

    @Test func atMostRecordsPerMessage() throws {
        let records = (0..<2500).map { i -> Weft_Accounting_V1_UsageRecord in
            var r = validJob()
            if case .job(var j) = r.record {
                j.localJobId = "job-\(i)"
                r.record = .job(j)
            }
            return r
        }
        let messages = APELWriter.write(records, format: .jobV03)
        #expect(messages.count == 3)
        #expect(messages.allSatisfy { $0.hasPrefix("APEL-individual-job-message: v0.3\n") })
        #expect(messages.map { $0.components(separatedBy: "%%\n").count - 1 } == [1000, 1000, 500])
        #expect(try reparse(messages).count == 2500)
        #expect(APELWriter.write(records, format: .jobV03, recordsPerMessage: 0).count == 2500)
        #expect(APELWriter.write([], format: .jobV03).isEmpty)
    }

    @Test func otherKindsAreLeftOut() throws {
        let jobs = try parse(jobV03Message).records
        let syncs = try parse(syncMessage).records
        #expect(APELWriter.write(jobs + syncs, format: .syncV01).count == 1)
        let mixed = APELWriter.write(jobs + syncs, format: .unspecified)
        #expect(mixed.count == 2)
        #expect(mixed[0].hasPrefix("APEL-individual-job-message: v0.3") && mixed[1].hasPrefix("APEL-sync-message: v0.1"))
        var bare = validJob()
        bare.format = .unspecified
        #expect(APELWriter.write([bare], format: .unspecified).first?.hasPrefix("APEL-individual-job-message: v0.4") == true)
    }

    @Test func starAndAcceleratorDocuments() throws {
        let star = try #require(APELWriter.write(try parse(starMessage).records, format: .star).first)
        #expect(star.contains("<sr:StorageUsageRecords xmlns:sr=\"http://eu-emi.eu/namespaces/2011/02/storagerecord\">"))
        #expect(star.contains("<sr:RecordIdentity sr:createTime=\"2010-11-09T09:06:52Z\" sr:recordId=\"host.example.org/sr/87912469269276\"/>"))
        #expect(star.contains("<sr:GroupAttribute sr:attributeType=\"subgroup\">ukusers</sr:GroupAttribute>"))
        let acc = try #require(APELWriter.write(try parse(acceleratorMessage).records, format: .acceleratorV01).first)
        #expect(acc.hasPrefix("{\"Type\": \"APEL-accelerator-message\", \"Version\": \"0.1\", \"UsageRecords\": [{\"MeasurementMonth\": 4"))
    }

    @Test func escapingSurvivesRoundTrip() throws {
        var s = Weft_Accounting_V1_StorageRecord()
        s.recordId = "id <&> \"quoted\" 'x'"
        s.storageSystem = "se.example.org"
        s.createTime = ts(1_465_440_135)
        s.startTime = ts(1_465_440_000)
        s.endTime = ts(1_465_440_135)
        s.resourceCapacityUsed = 5
        var u = Weft_Accounting_V1_UsageRecord()
        u.record = .storage(s)
        u.format = .star
        #expect(try reparse(APELWriter.write([u], format: .star)) == [u])

        var a = Weft_Accounting_V1_AcceleratorRecord()
        a.measurementMonth = 4
        a.measurementYear = 2026
        a.associatedRecordType = "cloud"
        a.siteName = "S\"ite\\\n"
        a.count = 1
        a.availableDuration = dur(5)
        a.acceleratorType = "GPU"
        var v = Weft_Accounting_V1_UsageRecord()
        v.record = .accelerator(a)
        v.format = .acceleratorV01
        #expect(try reparse(APELWriter.write([v], format: .acceleratorV01)) == [v])
    }
}
