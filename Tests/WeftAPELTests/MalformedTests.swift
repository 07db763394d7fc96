import Foundation
import Gen
import Testing
import WeftAPEL

/// Bad input gives an APELParseError saying where, never a crash.
@Suite struct MalformedTests {
    let jobHeader = "APEL-individual-job-message: v0.3\n"
    let jobBody = "Site: RAL-LCG2\nLocalJobId: 1\nWallDuration: 10\nCpuDuration: 5\nStartTime: 1234567890\nEndTime: 1234567899\n"

    @Test func notAnInteger() throws {
        let e = try #require(parseError(jobHeader + jobBody.replacingOccurrences(of: "WallDuration: 10", with: "WallDuration: abc") + "%%\n"))
        #expect(e.field == "WallDuration" && e.reason == "not an integer: abc")
        #expect(e.line == 4 && e.recordNumber == 1)
    }

    @Test func descriptionNamesSourceLineRecordFieldReason() throws {
        let bad = jobBody.replacingOccurrences(of: "EndTime: 1234567899", with: "EndTime: 1234567000")
        let text = jobHeader + jobBody + "%%\n" + jobBody + "%%\n" + bad + "%%\n"
        let e = try #require(parseError(text, source: "jobs.txt"))
        #expect(e.description == "jobs.txt:21: record 3: EndTime: EndTime is before StartTime")
    }

    @Test func missingMandatoryKeyNamesTheRecord() throws {
        let text = "APEL-sync-message: v0.1\nSite: RAL-LCG2\nMonth: 3\nYear: 2010\n%%\n"
        let e = try #require(parseError(text))
        #expect(e.field == "NumberOfJobs" && e.reason == "missing mandatory field" && e.line == 2 && e.recordNumber == 1)
    }

    @Test func unknownField() throws {
        let e = try #require(parseError(jobHeader + jobBody + "Colour: blue\n%%\n"))
        #expect(e.field == "Colour" && e.reason == "unknown field" && e.line == 8)
        // ServiceLevelType has no place in v0.4.
        let v4 = "APEL-individual-job-message: v0.4\n" + jobBody + "ServiceLevelType: HEPSPEC\n%%\n"
        #expect(parseError(v4)?.field == "ServiceLevelType")
    }

    @Test func serviceLevelHalves() throws {
        let e = try #require(parseError(jobHeader + jobBody + "ServiceLevelType: HEPSPEC\n%%\n"))
        #expect(e.field == "ServiceLevel" && e.reason == "ServiceLevelType given without ServiceLevel")
        let f = try #require(parseError(jobHeader + jobBody + "ServiceLevel: 10\n%%\n"))
        #expect(f.field == "ServiceLevelType" && f.reason == "ServiceLevel given without ServiceLevelType")
        let g = try #require(parseError(jobHeader + jobBody + "ServiceLevelType: custom\nServiceLevel: 10\n%%\n"))
        #expect(g.field == "ServiceLevelType" && g.reason == "unknown benchmark type: custom" && g.line == 8)
    }

    @Test func badMaps() throws {
        let v4 = "APEL-individual-job-message: v0.4\n" + jobBody
        #expect(parseError(v4 + "ServiceLevel: {HEPSPEC 10}\n%%\n")?.reason == "not a {Type: value} map: {HEPSPEC 10}")
        #expect(parseError(v4 + "ServiceLevel: {HEPSPEC: x}\n%%\n")?.reason == "not a number: x")
        #expect(parseError(v4 + "ServiceLevel: {HEPSPEC: 1, HEPSPEC: 2}\n%%\n")?.field == "ServiceLevel")
        let dup = try #require(parseError(v4 + "ServiceLevel: {hepspec: 1, HEPSPEC: 2}\n%%\n"))
        #expect(dup.field == "ServiceLevel" && dup.reason == "duplicate benchmark type: HEPSPEC" && dup.line == 8)
        let unknown = try #require(parseError(v4 + "ServiceLevel: {custom: 1}\n%%\n"))
        #expect(unknown.field == "ServiceLevel" && unknown.reason == "unknown benchmark type: custom")
    }

    @Test func hugeNumbers() throws {
        let e = try #require(parseError(jobHeader + jobBody.replacingOccurrences(of: "WallDuration: 10", with: "WallDuration: 99999999999999999999") + "%%\n"))
        #expect(e.field == "WallDuration" && e.reason == "integer out of range: 99999999999999999999")
        let p = try #require(parseError(jobHeader + jobBody + "Processors: 4294967296\n%%\n"))
        #expect(p.field == "Processors" && p.reason == "integer out of range: 4294967296" && p.line == 8)
        let t = try #require(parseError(jobHeader + jobBody.replacingOccurrences(of: "EndTime: 1234567899", with: "EndTime: 9223372036854775807") + "%%\n"))
        #expect(t.field == "EndTime" && t.reason == "time out of range: 9223372036854775807")
        #expect(parseError(jobHeader + jobBody + "ServiceLevelType: HEPSPEC\nServiceLevel: 1e999\n%%\n")?.reason == "not a number: 1e999")
        let month = "APEL-sync-message: v0.1\nSite: S\nNumberOfJobs: 1\nMonth: -9223372036854775808\nYear: 2010\n%%\n"
        #expect(parseError(month)?.field == "Month")
    }

    @Test func missingEndMarker() throws {
        let e = try #require(parseError(jobHeader + jobBody))
        #expect(e.line == 7 && e.recordNumber == 1 && e.reason == "record not ended by %% (truncated message?)")
    }

    @Test func truncatedMidLine() throws {
        let full = jobHeader + jobBody + "%%\n"
        let cut = String(full.prefix(60))
        let e = try #require(parseError(cut))
        #expect(e.line != nil)
    }

    @Test func unknownHeader() throws {
        let e = try #require(parseError("\n\nAPEL-individual-bad-message: v0.1\n" + jobBody + "%%\n"))
        #expect(e.line == 3 && e.field == "" && e.reason == "unknown message header: APEL-individual-bad-message: v0.1")
        let prose = parseError("In 1869, the stock ticker was invented.\nIt was an electro-mechanical machine.\n")
        #expect(prose?.line == 1)
        #expect(parseError("APEL-summary-job-message: v0.9\n")?.reason.hasPrefix("unknown message header") == true)
    }

    @Test func lineWithoutKeyValue() throws {
        let e = try #require(parseError(jobHeader + jobBody + "just words\n%%\n"))
        #expect(e.line == 8 && e.reason == "line without a key-value pair: just words")
        #expect(parseError(jobHeader + jobBody + "Site: again\n%%\n")?.reason == "duplicate key")
    }

    @Test func binaryGarbage() throws {
        let e = try #require(parseError(bytes: [0xFF, 0xFE, 0x00, 0x41, 0x0A, 0xC3]))
        #expect(e.reason == "not UTF-8 text")
        #expect(parseError(bytes: []) != nil)
        #expect(parseError(bytes: [0x00, 0x00, 0x0A])?.line == 1)
    }

    @Test func badXML() throws {
        let e = try #require(parseError("<sr:StorageUsageRecords xmlns:sr=\"http://eu-emi.eu/namespaces/2011/02/storagerecord\">\n<sr:Oops>\n"))
        #expect(e.line != nil && e.recordNumber == nil)
        #expect(parseError("<nonrecordxml></nonrecordxml>")?.reason == "XML format not recognised: namespace \"\"")
        let dtd = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>"
        #expect(parseError(dtd)?.reason == "XML with a DTD is not accepted")
        let bad = starMessage.replacingOccurrences(of: "<sr:FileCount>42</sr:FileCount>", with: "<sr:FileCount>many</sr:FileCount>")
        let b = try #require(parseError(bad))
        #expect(b.field == "FileCount" && b.reason == "not an integer: many" && b.recordNumber == 1 && b.line == 13)
        let noUsed = starMessage.replacingOccurrences(of: "<sr:ResourceCapacityUsed>0</sr:ResourceCapacityUsed>", with: "")
        let n = try #require(parseError(noUsed))
        #expect(n.field == "ResourceCapacityUsed" && n.reason == "missing mandatory field" && n.recordNumber == 2)
        let badTime = starMessage.replacingOccurrences(of: "2010-10-11T09:31:40Z", with: "yesterday")
        #expect(parseError(badTime)?.reason == "not an ISO 8601 time: yesterday")
    }

    @Test func badJSON() throws {
        #expect(parseError("{\"Type\": ")?.reason == "malformed JSON")
        #expect(parseError("{\"Type\": \"APEL-other\", \"Version\": \"0.1\", \"UsageRecords\": []}")?.field == "Type")
        #expect(parseError("{\"Type\": \"APEL-accelerator-message\", \"Version\": \"0.2\", \"UsageRecords\": []}")?.field == "Version")
        let noType = acceleratorMessage.replacingOccurrences(of: "\"Type\": \"GPU\", \"Model\": \"Foobar A200\"", with: "\"Model\": \"Foobar A200\"")
        let e = try #require(parseError(noType))
        #expect(e.recordNumber == 2 && e.field == "Type" && e.reason == "missing mandatory field")
        let badCount = acceleratorMessage.replacingOccurrences(of: "\"Count\": 4", with: "\"Count\": \"four\"")
        #expect(parseError(badCount)?.reason == "not a number: four")
        let month = acceleratorMessage.replacingOccurrences(of: "\"MeasurementMonth\": 4", with: "\"MeasurementMonth\": 1e300")
        #expect(parseError(month)?.field == "MeasurementMonth")
    }

    /// Random bytes and random damage to valid messages: every input is refused or parsed, none crashes.
    @Test func randomGarbageNeverCrashes() {
        var rng = SplitMix64(seed: 0x5EED)
        let seeds = [jobV03Message, jobV04Message, summaryV04Message, normalisedV04Message, cloudMessage, starMessage, acceleratorMessage].map { Array($0.utf8) }
        let alphabet = Array("%:{},\n\r-0123456789 <>/\"=Z.eE".utf8)
        var parsed = 0
        for i in 0..<3000 {
            var bytes: [UInt8]
            if i % 4 == 0 {
                bytes = (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                bytes = seeds[Int(rng.next() % UInt64(seeds.count))]
                for _ in 0..<(1 + Int(rng.next() % 6)) {
                    guard !bytes.isEmpty else { break }
                    let at = Int(rng.next() % UInt64(bytes.count))
                    switch rng.next() % 4 {
                    case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                    case 2: bytes.removeSubrange(at..<min(bytes.count, at + Int(rng.next() % 40)))
                    default: bytes = Array(bytes.prefix(at))
                    }
                }
            }
            if (try? APELParser.parse(bytes, source: "fuzz", now: testNow)) != nil { parsed += 1 }
        }
        #expect(parsed < 3000)
    }
}

/// A small deterministic generator for the garbage loop.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
