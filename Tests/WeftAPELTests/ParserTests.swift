import Foundation
import Gen
import Testing
import WeftAPEL

/// The example messages of APEL's test suite read into the values APEL reads from them.
@Suite struct ParserTests {
    @Test func jobV03() throws {
        let m = try parse(jobV03Message)
        #expect(m.format == .jobV03)
        #expect(m.records.count == 2)
        guard case .job(let j) = m.records[0].record else { Issue.record("not a job"); return }
        #expect(m.records[0].format == .jobV03)
        #expect(j.site == "RAL-LCG2")
        #expect(j.submitHost == "ce01.ncg.ingrid.pt:2119/jobmanager-lcgsge-atlasgrid")
        #expect(j.localJobId == "31564872")
        #expect(j.localUserId == "atlasprd019")
        #expect(j.globalUserName == "/C=whatever/D=someDN")
        #expect(j.fqan == "/voname/Role=NULL/Capability=NULL")
        #expect(j.vo == "voname" && j.voGroup == "/voname" && j.voRole == "Role=NULL")
        #expect(j.wallDuration.seconds == 234256 && j.cpuDuration.seconds == 2345)
        #expect(j.processors == 2 && j.nodeCount == 2)
        #expect(j.startTime.seconds == 1_234_567_890 && j.endTime.seconds == 1_234_567_899)
        #expect(j.memoryRealKb == 1000 && j.memoryVirtualKb == 2000)
        // "Si2k" is canonicalised; the value stays as given.
        #expect(j.serviceLevels == ["si2k": 1000])
    }

    @Test func jobV04KeepsEveryBenchmark() throws {
        let m = try parse(jobV04Message)
        #expect(m.format == .jobV04)
        guard case .job(let j) = m.records[0].record else { Issue.record("not a job"); return }
        #expect(j.globalUserName == "/DC=ac/DC=uni/DC=/DC=vac")  // no space after the colon
        #expect(j.infrastructureDescription == "APEL-CREAM-HTCONDOR" && j.infrastructureType == "grid")
        #expect(j.serviceLevels == ["HEPSPEC": 11.4, "HEPscore23": 15.3])
        #expect(Normalisation.preferred(j.serviceLevels)! == ("HEPscore23", 15.3))
        #expect(j.vo == "host.org" && j.voGroup == "/host.org" && j.voRole == "Role=NULL")
    }

    @Test func olderJobVersionReadsAsV03() throws {
        let text = jobV03Message.replacingOccurrences(of: "v0.3", with: "v0.1")
        #expect(try parse(text).format == .jobV03)
    }

    @Test func summaries() throws {
        let m = try parse(summaryV02Message)
        #expect(m.format == .summaryV02 && m.records.count == 2)
        guard case .summary(let s) = m.records[0].record, case .summary(let s2) = m.records[1].record else {
            Issue.record("not summaries"); return
        }
        #expect(s.site == "RAL-LCG2" && s.month == 3 && s.year == 2010)
        #expect(s.vo == "atlas" && s.voGroup == "/atlas" && s.voRole == "Role=production")
        #expect(s.wallDuration.seconds == 234256 && s.cpuDuration.seconds == 2345 && s.numberOfJobs == 100)
        #expect(s.serviceLevels.isEmpty)
        #expect(s2.serviceLevels == ["HEPSPEC": 10.5])

        let v4 = try parse(summaryV04Message)
        #expect(v4.format == .summaryV04)
        guard case .summary(let s4) = v4.records[0].record else { Issue.record("not a summary"); return }
        #expect(s4.month == 7 && s4.year == 2018 && s4.numberOfJobs == 3 && s4.processors == 1)
        #expect(s4.earliestEndTime.seconds == 1_531_869_580 && s4.latestEndTime.seconds == 1_531_879_580)
        #expect(s4.serviceLevels == ["HEPSPEC": 11.4, "HEPscore23": 15.3])
    }

    @Test func normalisedSummaries() throws {
        let v3 = try parse(normalisedV03Message)
        #expect(v3.format == .normalisedSummaryV03)
        guard case .normalisedSummary(let n3) = v3.records[0].record else { Issue.record("not normalised"); return }
        #expect(n3.normalisedWallDurations == ["HEPSPEC": 234256] && n3.normalisedCpuDurations == ["HEPSPEC": 244435])
        #expect(n3.cpuDuration.seconds == 244435 && n3.numberOfJobs == 100)

        let v4 = try parse(normalisedV04Message)
        #expect(v4.format == .normalisedSummaryV04 && v4.records.count == 2)
        guard case .normalisedSummary(let a) = v4.records[0].record, case .normalisedSummary(let b) = v4.records[1].record else {
            Issue.record("not normalised"); return
        }
        #expect(a.normalisedWallDurations == ["HEPSPEC": 519728, "HEPscore23": 708720])
        #expect(a.normalisedCpuDurations == ["HEPSPEC": 515581, "HEPscore23": 703065])
        #expect(a.infrastructure == "grid")
        #expect(b.site == "LBL_HPCS" && b.month == 2 && b.year == 2023 && b.vo == "alice")
        #expect(b.wallDuration.seconds == 3_653_301_632 && b.numberOfJobs == 160475)
        #expect(b.normalisedWallDurations == ["HEPscore23": 61_192_802_343])
    }

    @Test func sync() throws {
        let m = try parse(syncMessage)
        #expect(m.format == .syncV01)
        guard case .sync(let s) = m.records[0].record else { Issue.record("not sync"); return }
        #expect(s.site == "RAL-LCG2" && s.submitHost == "sub.rl.ac.uk" && s.month == 3 && s.year == 2010 && s.numberOfJobs == 100)
    }

    @Test func cloud() throws {
        let m = try parse(cloudMessage)
        #expect(m.format == .cloudV04 && m.records.count == 2)
        guard case .cloud(let a) = m.records[0].record, case .cloud(let b) = m.records[1].record else { Issue.record("not cloud"); return }
        #expect(a.vmUuid == "2012-12-04 09:15:01+00:00 CESNET vm-0" && a.siteName == "CESNET")
        #expect(a.cloudComputeService == "OpenNebula Service A" && a.machineName == "'one-0'" && a.localUserId == "5")
        #expect(a.status == "completed" && a.cpuCount == 1.0 && a.publicIpCount == 5 && a.memoryMb == 512)
        #expect(a.benchmarkType == "HEPSPEC" && a.benchmark == 1006.3)
        #expect(a.imageId == "'scilin6'" && a.cloudType == "OpenNebula")
        #expect(a.globalUserName.isEmpty && a.fqan.isEmpty && !a.hasWallDuration && !a.hasSuspendDuration)
        #expect(a.startTime.seconds == 1_318_840_264 && a.endTime.seconds == 1_318_848_076)
        #expect(b.siteName == "FZJ" && !b.hasEndTime && b.wallDuration.seconds == 1_582_876 && b.cpuDuration.seconds == 437)
        #expect(b.cpuCount == 1.456 && b.benchmarkType == "si2k" && b.benchmark == 200 && b.imageId == "Debian Testing (Wheezy)")
        #expect(RecordRules.site(of: m.records[1]) == "FZJ")
    }

    @Test func cloudSummary() throws {
        let m = try parse(cloudSummaryMessage)
        #expect(m.format == .cloudSummaryV04 && m.records.count == 2)
        guard case .cloudSummary(let a) = m.records[0].record, case .cloudSummary(let b) = m.records[1].record else {
            Issue.record("not cloud summary"); return
        }
        #expect(a.siteName == "CESNET" && a.month == 10 && a.year == 2011 && a.numberOfVms == 1)
        #expect(b.cpuCount == 2.5 && b.benchmark == 10.1 && b.earliestStartTime.seconds == 1_320_105_600 && b.diskGb == 20)
    }

    @Test func star() throws {
        let m = try parse(starMessage)
        #expect(m.format == .star && m.records.count == 2)
        guard case .storage(let a) = m.records[0].record, case .storage(let b) = m.records[1].record else {
            Issue.record("not storage"); return
        }
        #expect(a.recordId == "host.example.org/sr/87912469269276")
        #expect(a.createTime.seconds == 1_289_293_612)  // 2010-11-09T09:06:52Z
        #expect(a.storageSystem == "host.example.org" && a.site == "ACME-University" && a.storageShare == "pool-003")
        #expect(a.voGroupName == "binarydataproject.example.org" && a.subGroup == "ukusers" && a.role.isEmpty)
        #expect(a.storageMedia == "disk" && a.fileCount == 42)
        #expect(a.startTime.seconds == 1_286_789_500 && a.endTime.seconds == 1_286_875_782)
        #expect(a.resourceCapacityUsed == 14728 && a.logicalCapacityUsed == 13617)
        // Site inside SubjectIdentity counts, as in APEL.
        #expect(b.site == "EXAMPLE" && b.role == "cmsphedex" && b.voGroupName == "cms")
        #expect(b.logicalCapacityUsed == 26_770_352_879_563 && b.resourceCapacityUsed == 0)
        #expect(RecordRules.site(of: m.records[1]) == "EXAMPLE")
    }

    @Test func singleStarRecordAsRoot() throws {
        let text = """
            <sr:StorageUsageRecord xmlns:sr="http://eu-emi.eu/namespaces/2011/02/storagerecord">
            <sr:RecordIdentity sr:createTime="2016-06-09T02:42:15+01:00" sr:recordId="c698"/>
            <sr:StorageSystem>test-sys.ac.uk</sr:StorageSystem>
            <sr:StartTime>2016-06-08T02:42:15.5Z</sr:StartTime>
            <sr:EndTime>2016-06-09T02:42:15Z</sr:EndTime>
            <sr:ResourceCapacityUsed>7</sr:ResourceCapacityUsed>
            </sr:StorageUsageRecord>
            """
        let m = try parse(text)
        guard case .storage(let s) = m.records[0].record else { Issue.record("not storage"); return }
        #expect(s.createTime.seconds == 1_465_440_135 - 3600)
        #expect(s.startTime.nanos == 500_000_000)
    }

    @Test func accelerator() throws {
        let m = try parse(acceleratorMessage)
        #expect(m.format == .acceleratorV01 && m.records.count == 2)
        guard case .accelerator(let a) = m.records[0].record, case .accelerator(let b) = m.records[1].record else {
            Issue.record("not accelerator"); return
        }
        #expect(a.siteName == "SAMPLE-SITE" && a.associatedRecord == "12345678-1234-5678-9012-123456789012")
        #expect(a.fqan == "vo.sample.org" && a.count == 4 && a.availableDuration.seconds == 2_592_000)
        #expect(a.measurementMonth == 4 && a.measurementYear == 2026 && a.associatedRecordType == "cloud")
        #expect(a.acceleratorType == "GPU" && a.model == "NVIDIA Tesla V100" && a.activeDuration.seconds == 2_592_000)
        #expect(b.count == 0.5 && b.cores == 5120 && b.benchmarkType == "HEPscore23" && b.benchmark == 12.5)
        #expect(b.globalUserName == "d4e547e6f298fe34389@foobar.eu")
    }

    @Test func crlfCommentsAndBlankLines() throws {
        let text = "\r\n# exported by a test\r\n" + syncMessage.replacingOccurrences(of: "\n", with: "\r\n")
            .replacingOccurrences(of: "Month: 3\r\n", with: "Month: 3\r\n# a comment\r\n\r\n")
        let m = try parse(text)
        guard case .sync(let s) = m.records[0].record else { Issue.record("not sync"); return }
        #expect(s.month == 3 && s.submitHost == "sub.rl.ac.uk" && s.numberOfJobs == 100)
    }

    @Test func nullsAndIgnoredFields() throws {
        let text = """
            APEL-individual-job-message: v0.3
            Site: RAL-LCG2
            SubmitHost: None
            LocalJobId: 1
            Queue: null
            WallDuration: 10
            CpuDuration: 5
            Processors: NULL
            StartTime: 1234567890
            EndTime: 1234567899
            SubmitHostType: CREAM
            UpdateTime: 2020-01-01 00:00:00
            %%
            """
        let m = try parse(text)
        guard case .job(let j) = m.records[0].record else { Issue.record("not a job"); return }
        #expect(j.submitHost.isEmpty && j.queue.isEmpty && j.processors == 0 && j.serviceLevels.isEmpty)
    }

    @Test func headerOnlyIsAnEmptyMessage() throws {
        let m = try parse("APEL-sync-message: v0.1\n")
        #expect(m.format == .syncV01 && m.records.isEmpty)
    }
}
