import Testing
import WeftAPEL

/// Benchmark normalisation and priority, including the HEPscore23 case APEL got wrong.
@Suite struct NormalisationTests {
    @Test func si2kBecomesHEPSPECOver250() {
        let n = Normalisation.normalise(type: "Si2k", value: 1000)
        #expect(n?.type == "HEPSPEC" && n?.factor == 4)
        #expect(Normalisation.normalise(type: "si2k", value: 250)?.factor == 1)
    }

    @Test func hepspecAsIs() {
        let n = Normalisation.normalise(type: "hepspec", value: 11.4)
        #expect(n?.type == "HEPSPEC" && n?.factor == 11.4)
    }

    /// APEL's summarising procedures divided every type that was not "HEPSPEC" by 250, HEPscore23
    /// included. HEPscore23 is already in HS06-equivalent units: it is used as is, under its own name.
    @Test func hepscore23AsIsNotDividedBy250() {
        let n = Normalisation.normalise(type: "HEPscore23", value: 15.3)
        #expect(n?.type == "HEPscore23")
        #expect(n?.factor == 15.3)
        #expect(n?.factor != 15.3 / 250)
        #expect(Normalisation.normalise(type: "hepscore23", value: 15.3)?.type == "HEPscore23")
        // 1000 s of wall time at HEPscore23 15.3 is 15300 normalised seconds, not 61.2.
        #expect(1000 * (n?.factor ?? 0) == 15300)
    }

    @Test func unknownOrBadValues() {
        #expect(Normalisation.normalise(type: "custom", value: 1) == nil)
        #expect(Normalisation.normalise(type: "HEPSPEC", value: -1) == nil)
        #expect(Normalisation.normalise(type: "HEPSPEC", value: .nan) == nil)
        #expect(Normalisation.normalise(type: "HEPSPEC", value: .infinity) == nil)
    }

    @Test func priority() {
        #expect(Normalisation.preferred(["hepspec": 11.4, "HEPscore23": 15.3])! == ("HEPscore23", 15.3))
        #expect(Normalisation.preferred(["si2k": 1000, "HEPSPEC": 4])! == ("HEPSPEC", 4))
        #expect(Normalisation.preferred(["Si2k": 1000])! == ("si2k", 1000))
        #expect(Normalisation.preferred(["custom": 1, "si2k": 500])! == ("si2k", 500))
        #expect(Normalisation.preferred(["custom": 1]) == nil)
        #expect(Normalisation.preferred([:]) == nil)
    }
}

/// FQAN splitting, with the cases of APEL's test_parsing_utils.py as facts.
@Suite struct FQANTests {
    @Test(arguments: [
        ("/atlas/Role=production/Capability=NULL", "atlas", "/atlas", "Role=production"),
        ("/dteam/NULL/Role=NULL", "dteam", "/dteam/NULL", "Role=NULL"),
        ("/atlas/role=doer", "atlas", "/atlas", "role=doer"),
        ("/atlas/somethingelse/role=doer", "atlas", "/atlas/somethingelse", "role=doer"),
        ("/atlas/Role=production/Capability=NULL;/atlas/Role=NULL/Capability=NULL;/atlas/uk/Role=NULL", "atlas", "/atlas", "Role=production"),
        ("/ilc/Role=NULL/Capability=NULL", "ilc", "/ilc", "Role=NULL"),
        ("/wlcg", "wlcg", "/wlcg", ""),
        ("/wlcg/Role=pilot/Capability=NULL", "wlcg", "/wlcg", "Role=pilot"),
        ("/no/role/or/equals", "no", "/no/role/or/equals", ""),
        ("/Test/role=some/test", "Test", "/Test", "role=some"),
        ("hello.", "hello.", "", ""),
        ("the/the/the", "the/the/the", "", ""),
        ("role=2", "role=2", "", ""),
    ])
    func split(fqan: String, vo: String, group: String, role: String) throws {
        let f = try #require(FQAN(fqan))
        #expect(f.vo == vo)
        #expect(f.group == group)
        #expect(f.role == role)
    }

    @Test func nulls() {
        #expect(FQAN("") == nil)
        #expect(FQAN("NULL") == nil)
        #expect(FQAN("None") == nil)
    }
}
