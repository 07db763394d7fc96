import Foundation
import Gen
import Testing
import WeftAPEL

/// A fixed "now" for every test: 2026-05-28T20:26:40Z.
let testNow = Date(timeIntervalSince1970: 1_780_000_000)

func parse(_ text: String, source: String = "test") throws(APELParseError) -> APELMessage {
    try APELParser.parse(Array(text.utf8), source: source, now: testNow)
}

/// The error parsing `text` gives, or nil when it parses.
func parseError(_ text: String, source: String = "test") -> APELParseError? {
    parseError(bytes: Array(text.utf8), source: source)
}

func parseError(bytes: [UInt8], source: String = "test") -> APELParseError? {
    do {
        _ = try APELParser.parse(bytes, source: source, now: testNow)
        return nil
    } catch {
        return error
    }
}

func ts(_ seconds: Int64) -> Google_Protobuf_Timestamp {
    var t = Google_Protobuf_Timestamp()
    t.seconds = seconds
    return t
}

func dur(_ seconds: Int64) -> Google_Protobuf_Duration {
    var d = Google_Protobuf_Duration()
    d.seconds = seconds
    return d
}

/// Parses every message `APELWriter` writes and returns all records.
func reparse(_ messages: [String]) throws -> [Weft_Accounting_V1_UsageRecord] {
    var out: [Weft_Accounting_V1_UsageRecord] = []
    for m in messages { out += try parse(m, source: "written").records }
    return out
}

/// A job record valid at `testNow`.
func validJob() -> Weft_Accounting_V1_UsageRecord {
    var j = Weft_Accounting_V1_JobRecord()
    j.site = "RAL-LCG2"
    j.localJobId = "31564872"
    j.wallDuration = dur(234256)
    j.cpuDuration = dur(2345)
    j.startTime = ts(1_234_567_890)
    j.endTime = ts(1_234_567_899)
    var u = Weft_Accounting_V1_UsageRecord()
    u.record = .job(j)
    return u
}

/// Problems of a record at `testNow`.
func problems(_ record: Weft_Accounting_V1_UsageRecord) -> [RecordProblem] {
    var r = record
    return RecordRules.validate(&r, now: testNow)
}

// Messages with the field sets and values of APEL's own test suite (test_record_factory.py,
// test_cloud_record.py, test_star_parser.py, …), written afresh.

let jobV03Message = """
    APEL-individual-job-message: v0.3
    Site: RAL-LCG2
    SubmitHost: ce01.ncg.ingrid.pt:2119/jobmanager-lcgsge-atlasgrid
    LocalJobId: 31564872
    LocalUserId: atlasprd019
    GlobalUserName: /C=whatever/D=someDN
    FQAN: /voname/Role=NULL/Capability=NULL
    WallDuration: 234256
    CpuDuration: 2345
    Processors: 2
    NodeCount: 2
    StartTime: 1234567890
    EndTime: 1234567899
    MemoryReal: 1000
    MemoryVirtual: 2000
    ServiceLevelType: Si2k
    ServiceLevel: 1000
    %%
    Site: RAL-LCG2
    SubmitHost: ce01.ncg.ingrid.pt:2119/jobmanager-lcgsge-atlasgrid
    LocalJobId: 31564873
    LocalUserId: atlasprd019
    GlobalUserName: /C=whatever/D=someDN
    FQAN: /voname/Role=NULL/Capability=NULL
    WallDuration: 234256
    CpuDuration: 2345
    Processors: 2
    NodeCount: 2
    StartTime: 1234567890
    EndTime: 1234567899
    MemoryReal: 1000
    MemoryVirtual: 2000
    ServiceLevelType: Si2k
    ServiceLevel: 1000
    %%

    """

let jobV04Message = """
    APEL-individual-job-message: v0.4
    Site: SOME-SITE
    SubmitHost: host.ac.uk/cluster
    LocalJobId: 9aef372d-e26f-42ce-7acb-5e1c479dc47f
    LocalUserId: bob
    GlobalUserName:/DC=ac/DC=uni/DC=/DC=vac
    FQAN: /host.org/Role=NULL/Capability=NULL
    WallDuration: 47248
    CpuDuration: 46871
    Processors: 1
    InfrastructureDescription: APEL-CREAM-HTCONDOR
    InfrastructureType: grid
    StartTime: 1531869580
    EndTime: 1623693622
    ServiceLevel: {hepspec: 11.4, HEPscore23: 15.3}
    %%
    Site: RAL-LCG2
    SubmitHost: ce01.ncg.ingrid.pt:2119/jobmanager-lcgsge-atlasgrid
    LocalJobId: 31564873
    FQAN: /voname/Role=NULL/Capability=NULL
    WallDuration: 234256
    CpuDuration: 2345
    Processors: 2
    NodeCount: 2
    StartTime: 1234567890
    EndTime: 1234567899
    MemoryReal: 1000
    MemoryVirtual: 2000
    ServiceLevel: {hepspec: 11.3, HEPscore23: 10.3}
    %%

    """

let summaryV02Message = """
    APEL-summary-job-message: v0.2
    Site: RAL-LCG2
    Month: 3
    Year: 2010
    GlobalUserName: /C=whatever/D=someDN
    VO: atlas
    VOGroup: /atlas
    VORole: Role=production
    WallDuration: 234256
    CpuDuration: 2345
    NumberOfJobs: 100
    %%
    Site: RAL-LCG2
    Month: 4
    Year: 2010
    GlobalUserName: /C=whatever/D=someDN
    VO: atlas
    VOGroup: /atlas
    VORole: Role=production
    ServiceLevelType: HEPSPEC
    ServiceLevel: 10.5
    WallDuration: 234256
    CpuDuration: 2345
    NumberOfJobs: 100
    %%

    """

let summaryV04Message = """
    APEL-summary-job-message: v0.4
    Site: SOME-SITE
    SubmitHost: host.ac.uk/cluster
    Month: 7
    Year: 2018
    GlobalUserName:/DC=ac/DC=uni/DC=/DC=vac
    WallDuration: 47248
    CpuDuration: 46871
    Processors: 1
    NumberOfJobs: 3
    InfrastructureType: grid
    EarliestEndTime: 1531869580
    LatestEndTime: 1531879580
    ServiceLevel: {hepspec: 11.4, HEPscore23: 15.3}
    %%

    """

let normalisedV03Message = """
    APEL-summary-job-message: v0.3
    Site: RAL-LCG2
    Month: 3
    Year: 2010
    WallDuration: 234256
    CpuDuration: 244435
    NormalisedWallDuration: 234256
    NormalisedCpuDuration: 244435
    NumberOfJobs: 100
    %%

    """

let normalisedV04Message = """
    APEL-normalised-summary-message: v0.4
    Site: SOME-SITE
    SubmitHost: host.ac.uk/cluster
    Month: 7
    Year: 2018
    GlobalUserName:/DC=ac/DC=uni/DC=/DC=vac
    WallDuration: 47248
    CpuDuration: 46871
    NormalisedWallDuration: {hepspec: 519728, HEPscore23: 708720}
    NormalisedCpuDuration: {hepspec: 515581, HEPscore23: 703065}
    Processors: 1
    NumberOfJobs: 3
    Infrastructure: grid
    EarliestEndTime: 1531869580
    LatestEndTime: 1531879580
    %%
    Site: LBL_HPCS
    SubmitHost: hepscore-hosts
    VO: alice
    EarliestEndTime: 1675209600
    LatestEndTime: 1677628799
    Month: 02
    Year: 2023
    Infrastructure: Gratia-OSG
    GlobalUserName: generic alice user
    Processors: 1
    NodeCount: 1
    WallDuration: 3653301632
    CpuDuration: 2374660406
    NormalisedWallDuration: {HEPscore23: 61192802343}
    NormalisedCpuDuration: {HEPscore23: 39775561794}
    NumberOfJobs: 160475
    %%

    """

let syncMessage = """
    APEL-sync-message: v0.1
    Site: RAL-LCG2
    Month: 3
    SubmitHost: sub.rl.ac.uk
    Year: 2010
    NumberOfJobs: 100
    %%

    """

let cloudMessage = """
    APEL-cloud-message: v0.4
    VMUUID: 2012-12-04 09:15:01+00:00 CESNET vm-0
    SiteName: CESNET
    CloudComputeService: OpenNebula Service A
    MachineName: 'one-0'
    LocalUserId: 5
    LocalGroupId: 1
    GlobalUserName: NULL
    FQAN: NULL
    Status: completed
    StartTime: 1318840264
    EndTime: 1318848076
    SuspendDuration: NULL
    WallDuration: NULL
    CpuDuration: NULL
    CpuCount: 1.000
    NetworkType: NULL
    NetworkInbound: 0
    NetworkOutbound: 0
    PublicIPCount: 5
    Memory: 512
    Disk: NULL
    BenchmarkType: Hepspec
    Benchmark: 1006.3
    StorageRecordId: NULL
    ImageId: 'scilin6'
    CloudType: OpenNebula
    %%
    VMUUID: 2012-08-14 14:00:01+0200 FZJ Accounting Test
    SiteName: FZJ
    CloudComputeService: OpenStack Service A
    MachineName: Accounting Test
    LocalUserId: 1189105086dc4959bc9889383afc43b5
    LocalGroupId: EGI FCTF
    GlobalUserName: /DC=es/DC=irisgrid/O=cesga/CN=javier-lopez
    FQAN: /ops/Role=NULL/Capability=NULL
    Status: started
    StartTime: 1343362725
    EndTime: NULL
    SuspendDuration: NULL
    WallDuration: 1582876
    CpuDuration: 437
    CpuCount: 1.456
    NetworkType: NULL
    NetworkInbound: NULL
    NetworkOutbound: NULL
    PublicIPCount: 1
    Memory: 512
    Disk: 0
    BenchmarkType: Si2k
    Benchmark: 200
    StorageRecordId: NULL
    ImageId: Debian Testing (Wheezy)
    CloudType: Openstack
    %%

    """

let cloudSummaryMessage = """
    APEL-cloud-summary-message: v0.4
    SiteName: CESNET
    Month: 10
    Year: 2011
    NumberOfVMs: 1
    %%
    SiteName: CESNET
    CloudComputeService: OpenNebula Service A
    Month: 11
    Year: 2011
    VO: ops
    VOGroup: /ops
    Status: completed
    CloudType: OpenNebula
    ImageId: scilin6
    EarliestStartTime: 1320105600
    LatestStartTime: 1320192000
    WallDuration: 86400
    CpuDuration: 3600
    CpuCount: 2.5
    NetworkInbound: 3
    NetworkOutbound: 4
    Memory: 1024
    Disk: 20
    BenchmarkType: HEPSPEC
    Benchmark: 10.1
    NumberOfVMs: 2
    %%

    """

let starMessage = """
    <?xml version="1.0" encoding="UTF-8" ?>
    <sr:StorageUsageRecords xmlns:sr="http://eu-emi.eu/namespaces/2011/02/storagerecord">
      <sr:StorageUsageRecord>
        <sr:RecordIdentity sr:createTime="2010-11-09T09:06:52Z" sr:recordId="host.example.org/sr/87912469269276"/>
        <sr:StorageSystem>host.example.org</sr:StorageSystem>
        <sr:Site>ACME-University</sr:Site>
        <sr:StorageShare>pool-003</sr:StorageShare>
        <sr:SubjectIdentity>
          <sr:Group>binarydataproject.example.org</sr:Group>
          <sr:GroupAttribute sr:attributeType="subgroup">ukusers</sr:GroupAttribute>
        </sr:SubjectIdentity>
        <sr:StorageMedia>disk</sr:StorageMedia>
        <sr:FileCount>42</sr:FileCount>
        <sr:StartTime>2010-10-11T09:31:40Z</sr:StartTime>
        <sr:EndTime>2010-10-12T09:29:42Z</sr:EndTime>
        <sr:ResourceCapacityUsed>14728</sr:ResourceCapacityUsed>
        <sr:LogicalCapacityUsed>13617</sr:LogicalCapacityUsed>
      </sr:StorageUsageRecord>
      <sr:StorageUsageRecord>
        <sr:RecordIdentity sr:createTime="2016-06-09T02:42:15Z" sr:recordId="lc69"/>
        <sr:StorageSystem>test-sys.ac.uk</sr:StorageSystem>
        <sr:SubjectIdentity>
          <sr:GroupAttribute sr:attributeType="role">cmsphedex</sr:GroupAttribute>
          <sr:Group>cms</sr:Group>
          <sr:Site>EXAMPLE</sr:Site>
        </sr:SubjectIdentity>
        <sr:StorageMedia>disk</sr:StorageMedia>
        <sr:StartTime>2016-06-08T02:42:15Z</sr:StartTime>
        <sr:EndTime>2016-06-09T02:42:15Z</sr:EndTime>
        <sr:FileCount>346298</sr:FileCount>
        <sr:ResourceCapacityUsed>0</sr:ResourceCapacityUsed>
        <sr:ResourceCapacityAllocated>0</sr:ResourceCapacityAllocated>
        <sr:LogicalCapacityUsed>26770352879563</sr:LogicalCapacityUsed>
      </sr:StorageUsageRecord>
    </sr:StorageUsageRecords>

    """

let acceleratorMessage = """
    {"Type": "APEL-accelerator-message", "Version": "0.1", "UsageRecords": [
      {"SiteName": "SAMPLE-SITE", "CloudType": "caso/5.2.1 (OpenStack)", "CloudComputeService": "host.example.com",
       "AssociatedRecord": "12345678-1234-5678-9012-123456789012", "FQAN": "vo.sample.org", "Count": 4,
       "AvailableDuration": 2592000, "MeasurementMonth": 4, "MeasurementYear": 2026, "AssociatedRecordType": "cloud",
       "Type": "GPU", "Model": "NVIDIA Tesla V100", "ActiveDuration": 2592000},
      {"SiteName": "TEST-Site", "AccUUID": "99cf5d02-a573-46a1-b90d-0f7327126876",
       "GlobalUserName": "d4e547e6f298fe34389@foobar.eu", "FQAN": "VO 1 FQAN", "Count": 0.5, "Cores": "5120",
       "AvailableDuration": 5000, "MeasurementMonth": 6, "MeasurementYear": 2022, "AssociatedRecordType": "cloud",
       "Type": "GPU", "Model": "Foobar A200", "ActiveDuration": 4000, "BenchmarkType": "hepscore23", "Benchmark": 12.5}
    ]}

    """
