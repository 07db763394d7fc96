import Foundation
import Gen
import Testing
import WeftAPEL

/// Every rule of `RecordRules.validate`, each with a failing example and its exact field and reason.
@Suite struct RecordRulesTests {
    func job(_ change: (inout Weft_Accounting_V1_JobRecord) -> Void) -> Weft_Accounting_V1_UsageRecord {
        var u = validJob()
        guard case .job(var j) = u.record else { return u }
        change(&j)
        u.record = .job(j)
        return u
    }

    @Test func validJobHasNoProblems() {
        #expect(problems(validJob()).isEmpty)
    }

    @Test func emptyRecord() {
        #expect(problems(Weft_Accounting_V1_UsageRecord()) == [RecordProblem(field: "", reason: "record is empty")])
    }

    @Test(arguments: ["Site", "LocalJobId", "WallDuration", "CpuDuration", "StartTime", "EndTime"])
    func jobMandatory(field: String) {
        let record = job { j in
            switch field {
            case "Site": j.site = ""
            case "LocalJobId": j.localJobId = "None"
            case "WallDuration": j.clearWallDuration()
            case "CpuDuration": j.clearCpuDuration()
            case "StartTime": j.clearStartTime()
            default: j.clearEndTime()
            }
        }
        #expect(problems(record) == [RecordProblem(field: field, reason: "missing mandatory field")])
    }

    @Test func endBeforeStart() {
        let record = job { $0.endTime = ts(1_234_567_889) }
        #expect(problems(record) == [RecordProblem(field: "EndTime", reason: "EndTime is before StartTime")])
        #expect(problems(record)[0].description == "EndTime: EndTime is before StartTime")
    }

    @Test func endTimeAtMostTwoDaysAhead() {
        let limit = Int64(testNow.timeIntervalSince1970) + 2 * 86400
        #expect(problems(job { $0.endTime = ts(limit) }).isEmpty)
        #expect(
            problems(job { $0.endTime = ts(limit + 1) })
                == [RecordProblem(field: "EndTime", reason: "EndTime is more than 2 days in the future")])
    }

    @Test func negativeDurationsAndCounts() {
        #expect(problems(job { $0.wallDuration = dur(-5) }) == [RecordProblem(field: "WallDuration", reason: "negative value: -5")])
        #expect(problems(job { $0.processors = -1 }) == [RecordProblem(field: "Processors", reason: "negative value: -1")])
    }

    @Test func benchmarkNames() {
        var r = job { $0.serviceLevels = ["hepSPEC": 10, "HEPSCORE23": 12] }
        #expect(RecordRules.validate(&r, now: testNow).isEmpty)
        guard case .job(let j) = r.record else { Issue.record("not a job"); return }
        #expect(j.serviceLevels == ["HEPSPEC": 10, "HEPscore23": 12])

        #expect(problems(job { $0.serviceLevels = ["custom": 1] }) == [RecordProblem(field: "ServiceLevelType", reason: "unknown benchmark type: custom")])
        #expect(
            problems(job { $0.serviceLevels = ["hepspec": 1, "HEPSPEC": 2] })
                == [RecordProblem(field: "ServiceLevelType", reason: "duplicate benchmark type: HEPSPEC")])
        #expect(
            problems(job { $0.serviceLevels = ["si2k": -1] })
                == [RecordProblem(field: "ServiceLevelType", reason: "invalid benchmark value for si2k")])
        // Unknown types beside a known one are dropped, as APEL keeps only known ones.
        var mixed = job { $0.serviceLevels = ["HEPSPEC": 10, "custom": 1] }
        #expect(RecordRules.validate(&mixed, now: testNow).isEmpty)
        if case .job(let m) = mixed.record { #expect(m.serviceLevels == ["HEPSPEC": 10]) }
    }

    @Test func fqanDerivationFillsOnlyWhatIsAbsent() {
        var r = job { $0.fqan = "/atlas/Role=production/Capability=NULL" }
        #expect(RecordRules.validate(&r, now: testNow).isEmpty)
        if case .job(let j) = r.record { #expect(j.vo == "atlas" && j.voGroup == "/atlas" && j.voRole == "Role=production") }
        var kept = job { j in
            j.fqan = "/atlas/Role=production/Capability=NULL"
            j.vo = "atlas-given"
        }
        #expect(RecordRules.validate(&kept, now: testNow).isEmpty)
        if case .job(let j) = kept.record { #expect(j.vo == "atlas-given" && j.voGroup == "/atlas") }
    }

    func summary(_ change: (inout Weft_Accounting_V1_SummaryRecord) -> Void) -> Weft_Accounting_V1_UsageRecord {
        var s = Weft_Accounting_V1_SummaryRecord()
        s.site = "RAL-LCG2"
        s.month = 7
        s.year = 2018
        s.wallDuration = dur(47248)
        s.cpuDuration = dur(46871)
        s.numberOfJobs = 3
        s.earliestEndTime = ts(1_531_869_580)
        s.latestEndTime = ts(1_531_879_580)
        change(&s)
        var u = Weft_Accounting_V1_UsageRecord()
        u.record = .summary(s)
        return u
    }

    @Test func summaryRules() {
        #expect(problems(summary { _ in }).isEmpty)
        #expect(problems(summary { $0.month = 13 }) == [RecordProblem(field: "Month", reason: "Month value is out of range")])
        #expect(problems(summary { $0.year = 0 }) == [RecordProblem(field: "Year", reason: "Year value is out of range")])
        #expect(problems(summary { $0.site = "" }) == [RecordProblem(field: "Site", reason: "missing mandatory field")])
        #expect(problems(summary { $0.clearCpuDuration() }) == [RecordProblem(field: "CpuDuration", reason: "missing mandatory field")])
        #expect(problems(summary { $0.numberOfJobs = -1 }) == [RecordProblem(field: "NumberOfJobs", reason: "negative value: -1")])
        #expect(
            problems(summary { $0.earliestEndTime = ts(1_530_403_199) })
                == [RecordProblem(field: "EarliestEndTime", reason: "EarliestEndTime is not within stated month")])
        #expect(
            problems(summary { $0.latestEndTime = ts(1_533_081_601) })
                == [RecordProblem(field: "LatestEndTime", reason: "LatestEndTime is not within stated month")])
        #expect(
            problems(summary { $0.latestEndTime = ts(1_531_869_000) })
                == [RecordProblem(field: "LatestEndTime", reason: "LatestEndTime is earlier than EarliestEndTime")])
        // The first second of the next month is still "within" (APEL compares with <=).
        #expect(problems(summary { $0.latestEndTime = ts(1_533_081_600) }).isEmpty)
    }

    @Test func monthNotInTheFuture() {
        // testNow is in May 2026: May is allowed, June is not.
        let may = summary { s in
            s.month = 5; s.year = 2026; s.clearEarliestEndTime(); s.clearLatestEndTime()
        }
        #expect(problems(may).isEmpty)
        let june = summary { s in
            s.month = 6; s.year = 2026; s.clearEarliestEndTime(); s.clearLatestEndTime()
        }
        #expect(problems(june) == [RecordProblem(field: "Month", reason: "Month specified in record is in the future")])
    }

    @Test func normalisedSummaryRules() {
        var n = Weft_Accounting_V1_NormalisedSummaryRecord()
        n.site = "S"
        n.month = 3
        n.year = 2010
        n.wallDuration = dur(1)
        n.cpuDuration = dur(1)
        n.normalisedWallDurations = ["hepspec": 10]
        var u = Weft_Accounting_V1_UsageRecord()
        u.record = .normalisedSummary(n)
        #expect(problems(u) == [RecordProblem(field: "NormalisedCpuDuration", reason: "missing mandatory field")])
        n.normalisedCpuDurations = ["HEPscore23": -4]
        u.record = .normalisedSummary(n)
        #expect(problems(u) == [RecordProblem(field: "NormalisedCpuDuration", reason: "invalid benchmark value for HEPscore23")])
        n.normalisedCpuDurations = ["HEPscore23": 4]
        u.record = .normalisedSummary(n)
        #expect(RecordRules.validate(&u, now: testNow).isEmpty)
        if case .normalisedSummary(let v) = u.record { #expect(v.normalisedWallDurations == ["HEPSPEC": 10]) }
    }

    @Test func syncCloudStorageAcceleratorRules() {
        var u = Weft_Accounting_V1_UsageRecord()
        var sync = Weft_Accounting_V1_SyncRecord()
        sync.site = "RAL-LCG2"
        sync.month = 0
        sync.year = 2010
        u.record = .sync(sync)
        #expect(problems(u) == [RecordProblem(field: "Month", reason: "Month value is out of range")])

        var cloud = Weft_Accounting_V1_CloudRecord()
        cloud.siteName = "CESNET"
        u.record = .cloud(cloud)
        #expect(problems(u) == [RecordProblem(field: "VMUUID", reason: "missing mandatory field")])
        cloud.vmUuid = "vm-0"
        cloud.cpuCount = -1
        u.record = .cloud(cloud)
        #expect(problems(u) == [RecordProblem(field: "CpuCount", reason: "not a non-negative number: -1.0")])

        var cs = Weft_Accounting_V1_CloudSummaryRecord()
        cs.month = 10
        cs.year = 2011
        u.record = .cloudSummary(cs)
        #expect(problems(u) == [RecordProblem(field: "SiteName", reason: "missing mandatory field")])

        var st = Weft_Accounting_V1_StorageRecord()
        st.recordId = "r"
        st.storageSystem = "s"
        st.createTime = ts(10)
        st.startTime = ts(10)
        st.endTime = ts(9)
        u.record = .storage(st)
        #expect(problems(u) == [RecordProblem(field: "EndTime", reason: "EndTime is before StartTime")])
        st.clearCreateTime()
        st.endTime = ts(11)
        u.record = .storage(st)
        #expect(problems(u) == [RecordProblem(field: "CreateTime", reason: "missing mandatory field")])

        var a = Weft_Accounting_V1_AcceleratorRecord()
        a.measurementMonth = 13
        a.measurementYear = 2026
        a.associatedRecordType = "cloud"
        a.siteName = "S"
        a.acceleratorType = "GPU"
        u.record = .accelerator(a)
        #expect(problems(u) == [RecordProblem(field: "MeasurementMonth", reason: "Month value is out of range")])
        a.measurementMonth = 1
        a.acceleratorType = ""
        u.record = .accelerator(a)
        #expect(problems(u) == [RecordProblem(field: "Type", reason: "missing mandatory field")])
    }

    @Test func sites() {
        #expect(RecordRules.site(of: validJob()) == "RAL-LCG2")
        #expect(RecordRules.site(of: Weft_Accounting_V1_UsageRecord()) == "")
        var u = Weft_Accounting_V1_UsageRecord()
        var s = Weft_Accounting_V1_StorageRecord()
        s.site = "ACME"
        u.record = .storage(s)
        #expect(RecordRules.site(of: u) == "ACME")
    }

    @Test func keys() {
        let a = validJob()
        let b = job { $0.endTime = ts(1_234_567_898) }
        #expect(RecordRules.key(of: a) != RecordRules.key(of: b))
        // Fields that differ only outside the key do not change it.
        #expect(RecordRules.key(of: a) == RecordRules.key(of: job { $0.queue = "long" }))
        // Separators inside values cannot make two keys collide.
        let x = job { $0.site = "a\u{1F}b"; $0.localJobId = "c" }
        let y = job { $0.site = "a"; $0.localJobId = "b\u{1F}c" }
        #expect(RecordRules.key(of: x) != RecordRules.key(of: y))
        // Kinds are prefixed.
        var sync = Weft_Accounting_V1_UsageRecord()
        var s = Weft_Accounting_V1_SyncRecord()
        s.site = "RAL-LCG2"
        sync.record = .sync(s)
        #expect(RecordRules.key(of: sync).hasPrefix("sync\u{1F}"))
        #expect(RecordRules.key(of: a).hasPrefix("job\u{1F}"))
    }

    @Test func cloudKeyUsesMonthOfEndOrCreateTime() {
        var c = Weft_Accounting_V1_CloudRecord()
        c.vmUuid = "vm-1"
        c.recordCreateTime = ts(1_320_105_600)  // 2011-11-01
        var u = Weft_Accounting_V1_UsageRecord()
        u.record = .cloud(c)
        #expect(RecordRules.key(of: u) == "cloud\u{1F}vm-1\u{1F}11\u{1F}2011")
        c.endTime = ts(1_318_848_076)  // 2011-10-17
        u.record = .cloud(c)
        #expect(RecordRules.key(of: u) == "cloud\u{1F}vm-1\u{1F}10\u{1F}2011")
    }

    @Test func summaryKeyIsTheGroupKey() throws {
        let m = try parse(summaryV02Message)
        #expect(RecordRules.key(of: m.records[0]) != RecordRules.key(of: m.records[1]))
        let n = try parse(normalisedV04Message)
        #expect(RecordRules.key(of: n.records[0]).hasPrefix("normalised_summary\u{1F}SOME-SITE\u{1F}7\u{1F}2018"))
    }
}
