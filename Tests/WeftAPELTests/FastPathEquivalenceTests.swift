import Foundation
import Gen
import Testing
import WeftAPEL

/// The byte-level fast paths (keys, FQAN, benchmark names, the lexer) give exactly what the
/// straightforward String code they replaced gave; the reference versions below are that code.
@Suite struct FastPathEquivalenceTests {
    // MARK: reference implementations (the code before the fast paths)

    static func referenceJoin(_ fields: String...) -> String {
        fields.map { $0.replacingOccurrences(of: "\u{1E}", with: "\u{1E}\u{1E}").replacingOccurrences(of: "\u{1F}", with: "\u{1E}\u{1F}") }
            .joined(separator: "\u{1F}")
    }

    static func referenceFQAN(_ fqan: String) -> (vo: String, group: String, role: String)? {
        let first = fqan.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        if first.isEmpty || ["", "none", "null"].contains(first.lowercased()) { return nil }
        guard first.hasPrefix("/") else { return (first, "", "") }
        let pieces = first.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let vo = pieces.count > 1 ? pieces[1] : ""
        var group = ""
        var role = ""
        for piece in pieces where !piece.isEmpty {
            if piece.lowercased().hasPrefix("role=") { role = piece; break }
            group += "/" + piece
        }
        return (vo, group, role)
    }

    static func referenceCanonical(_ type: String) -> String? {
        switch type.trimmingCharacters(in: .whitespaces).lowercased() {
        case "si2k": return "si2k"
        case "hepspec": return "HEPSPEC"
        case "hepscore23": return "HEPscore23"
        default: return nil
        }
    }

    static let fqans = [
        "", ";", "None", "NULL", "nUlL", "none;/atlas", "/atlas/Role=production/Capability=NULL", "/atlas/uk/Role=NULL/Capability=NULL",
        "/atlas", "/atlas/", "/", "//", "//atlas//uk//ROLE=pilot", "/atlas/uk", "atlas", "atlas/Role=x", "/Role=x/atlas",
        "/atlas/rolex/Role=", "/atlas/Role", "/ops/Role=lcgadmin;/ops/Role=NULL", "/atlas;", ";/atlas",
        "/atlas\u{37E}/cms", "/atlas;\u{301}/x;y", "/atl\u{E9}s/Role=p", "/atlas/R\u{F4}le=x", "/a\r\n/b", " /atlas", "/atlas /Role=x ",
        "\u{FEFF}/atlas", "/atlas/uk;\u{300}", "/ATLAS/RoLe=Prod/x",
    ]

    @Test(arguments: fqans) func fqanMatchesReference(_ text: String) {
        let fast = FQAN(text)
        let reference = Self.referenceFQAN(text)
        #expect(fast?.vo == reference?.vo)
        #expect(fast?.group == reference?.group)
        #expect(fast?.role == reference?.role)
        #expect((fast == nil) == (reference == nil))
    }

    static let types = [
        "si2k", "SI2K", " Si2k\t", "HEPSPEC", "hepspec", "HepSpec ", "HEPscore23", "hepscore23", "HEPSCORE23", "", " ", "hep spec",
        "si2\u{212A}", "\u{A0}si2k", "si2k\u{A0}", "si2k\u{3000}", "HEPSPEC\u{301}", "\u{301}HEPSPEC", " \u{301}HEPSPEC", "si2k\n", "si\u{12}k",
        "hepscore2", "hepscore233", "HEPSPEC06",
    ]

    @Test(arguments: types) func canonicalTypeMatchesReference(_ text: String) {
        #expect(Normalisation.canonicalType(text) == Self.referenceCanonical(text))
    }

    static let keyFields = ["RAL-LCG2", "", "a\u{1F}b", "\u{1E}", "\u{1E}\u{1F}\u{1E}", "caf\u{E9}\u{1F}", "x\u{1E}\u{301}", "31564872.ce01.example.org"]

    @Test func jobKeysMatchReference() {
        for site in Self.keyFields {
            for id in Self.keyFields {
                for end: (Int64, Int32)? in [nil, (1_234_567_899, 0), (-5, 7), (Int64.max, Int32.max), (Int64.min, 0)] {
                    var j = Weft_Accounting_V1_JobRecord()
                    j.site = site
                    j.localJobId = id
                    if let end {
                        var t = Google_Protobuf_Timestamp()
                        t.seconds = end.0
                        t.nanos = end.1
                        j.endTime = t
                    }
                    var u = Weft_Accounting_V1_UsageRecord()
                    u.record = .job(j)
                    let time = end.map { "\($0.0).\($0.1)" } ?? ""
                    #expect(RecordRules.key(of: u) == Self.referenceJoin("job", site, id, time))
                    #expect(RecordRules.key(of: u).utf8.elementsEqual(Self.referenceJoin("job", site, id, time).utf8))
                }
            }
        }
    }

    @Test func otherKeysMatchReference() {
        for value in Self.keyFields {
            var s = Weft_Accounting_V1_SyncRecord()
            s.site = value
            s.submitHost = value + "h"
            s.month = 3
            s.year = 2024
            var u = Weft_Accounting_V1_UsageRecord()
            u.record = .sync(s)
            #expect(RecordRules.key(of: u).utf8.elementsEqual(Self.referenceJoin("sync", value, value + "h", "3", "2024").utf8))
            var st = Weft_Accounting_V1_StorageRecord()
            st.recordId = value
            u.record = .storage(st)
            #expect(RecordRules.key(of: u).utf8.elementsEqual(Self.referenceJoin("storage", value).utf8))
        }
    }

    @Test func validationFillsTheSameValues() {
        for fqan in Self.fqans {
            for type in Self.types {
                var record = validJob()
                record.job.fqan = fqan
                record.job.serviceLevels = [type: 10]
                let found = problems(record)
                var validated = record
                _ = RecordRules.validate(&validated, now: testNow)
                let reference = Self.referenceFQAN(fqan)
                #expect(validated.job.vo == (reference?.vo ?? ""))
                #expect(validated.job.voGroup == (reference?.group ?? ""))
                #expect(validated.job.voRole == (reference?.role ?? ""))
                if let canonical = Self.referenceCanonical(type) {
                    #expect(Array(validated.job.serviceLevels.keys).map { Array($0.utf8) } == [Array(canonical.utf8)])
                    #expect(found.isEmpty)
                } else {
                    #expect(validated.job.serviceLevels.isEmpty)
                    #expect(found.map(\.description) == ["ServiceLevelType: unknown benchmark type: \(type)"])
                }
            }
        }
        // Values already present are kept; an invalid value is reported once.
        var record = validJob()
        record.job.fqan = "/atlas/uk/Role=production"
        record.job.vo = "cms"
        record.job.serviceLevels = ["hepspec": -1]
        var validated = record
        let found = RecordRules.validate(&validated, now: testNow)
        #expect(found.map(\.description) == ["ServiceLevelType: invalid benchmark value for HEPSPEC"])
        #expect(validated.job.vo == "cms")
        #expect(validated.job.voGroup == "/atlas/uk")
        #expect(validated.job.serviceLevels == ["HEPSPEC": -1])
    }

    // MARK: the lexer on unusual lines

    @Test func lexerEdgeCases() throws {
        let header = "APEL-individual-job-message: v0.3\n"
        let body = """
            Site: RAL-LCG2
            LocalJobId: 1
            WallDuration: 10
            CpuDuration: 5
            StartTime: 1234567890
            EndTime: 1234567899

            """
        // Tabs, CRLF, comments, blank lines and non-ASCII values and whitespace.
        let text = " \t" + header.replacingOccurrences(of: "\n", with: "\r\n") + "# comment\n\n"
            + body.replacingOccurrences(of: "Site: RAL-LCG2", with: "\tSite :\t RAL-LCG2 \t\r")
            + "GlobalUserName:\u{A0}/C=UK/CN=Jos\u{E9}\u{3000}\n" + "FQAN: /atlas/uk/Role=x\n" + "  %%  \r\n"
            + body.replacingOccurrences(of: "LocalJobId: 1", with: "LocalJobId: \u{2003}caf\u{E9}") + "%%\n"
        let m = try parse(text)
        #expect(m.records.count == 2)
        #expect(m.records[0].job.site == "RAL-LCG2")
        #expect(m.records[0].job.globalUserName == "/C=UK/CN=Jos\u{E9}")
        #expect(m.records[0].job.vo == "atlas")
        #expect(m.records[1].job.localJobId == "caf\u{E9}")
        // A colon followed by a combining mark is not the separator.
        #expect(parseError(header + "Site:\u{301} x\n%%\n")?.description == "test:2: record 1: line without a key-value pair: Site:\u{301} x")
        #expect(parseError(header + "Site x\n%%\n")?.description == "test:2: record 1: line without a key-value pair: Site x")
        #expect(parseError(header + " : x\n%%\n")?.description == "test:2: record 1: line without a key: : x")
        #expect(parseError(header + "#\u{301} x\n%%\n")?.description == "test:2: record 1: line without a key-value pair: #\u{301} x")
        // Duplicates, also where the filter of keys collides and where keys are not ASCII.
        #expect(parseError(header + body + "Site: x\n%%\n")?.description == "test:8: record 1: Site: duplicate key")
        #expect(parseError(header + "K\u{E9}y: 1\nK\u{E9}y: 2\n%%\n")?.description == "test:3: record 1: K\u{E9}y: duplicate key")
        #expect(parseError(header + "Ke\u{301}y: 1\nK\u{E9}y: 2\n%%\n")?.description == "test:3: record 1: K\u{E9}y: duplicate key")
        #expect(parseError(header + "\u{212A}ey: 1\nKey: 2\n%%\n")?.description == "test:3: record 1: Key: duplicate key")
        #expect(parseError(header + "Site: 1\u{E9}\nSite: 2\n%%\n")?.description == "test:3: record 1: Site: duplicate key")
        #expect(parseError(header + "Abc: 1\nAbc: 2\n%%\n")?.description == "test:3: record 1: Abc: duplicate key")
        // "%%" only as a whole line; truncated messages; unknown fields by line order.
        #expect(parseError(header + body + "%%x\n%%\n")?.description == "test:8: record 1: line without a key-value pair: %%x")
        #expect(parseError(header + body)?.description == "test:7: record 1: record not ended by %% (truncated message?)")
        #expect(parseError(header + "Zed: 1\n" + body + "Abc: 2\n%%\n")?.description == "test:2: record 1: Zed: unknown field")
        #expect(parseError(header + body + "Abc: 2\nUpdateTime: 1\n%%\n")?.description == "test:8: record 1: Abc: unknown field")
        #expect(parseError(header + body.replacingOccurrences(of: "EndTime: 1234567899", with: "EndTime: none") + "%%\n")?.description
            == "test:7: record 1: EndTime: missing mandatory field")
        #expect(parseError(header + body.replacingOccurrences(of: "WallDuration: 10", with: "WallDuration: 1\u{E9}") + "%%\n")?.description
            == "test:4: record 1: WallDuration: not an integer: 1\u{E9}")
        // Int64.min as a time is refused, not a trap.
        #expect(parseError(header + body.replacingOccurrences(of: "EndTime: 1234567899", with: "EndTime: -9223372036854775808") + "%%\n")?.description
            == "test:7: record 1: EndTime: time out of range: -9223372036854775808")
        #expect(parseError("")?.description == "test:1: empty message")
        #expect(parseError("\n\n# x\n")?.description == "test:4: empty message")
    }
}
