import Foundation
import Gen
import Testing
import WeftAPEL

/// parse → write → parse gives the same records, for every format.
@Suite struct RoundTripTests {
    static let messages: [(String, String)] = [
        ("job v0.3", jobV03Message), ("job v0.4", jobV04Message), ("summary v0.2", summaryV02Message),
        ("summary v0.4", summaryV04Message), ("normalised v0.3", normalisedV03Message),
        ("normalised v0.4", normalisedV04Message), ("sync", syncMessage), ("cloud", cloudMessage),
        ("cloud summary", cloudSummaryMessage), ("star", starMessage), ("accelerator", acceleratorMessage),
    ]

    @Test(arguments: messages.map(\.0))
    func roundTrip(name: String) throws {
        let text = try #require(Self.messages.first { $0.0 == name }?.1)
        let first = try parse(text)
        let written = APELWriter.write(first.records, format: first.format)
        #expect(written.count == 1)
        let again = try reparse(written)
        #expect(again == first.records)
        // Unspecified format: each record goes back in the format it came in.
        #expect(try reparse(APELWriter.write(first.records, format: .unspecified)) == first.records)
    }

    @Test func jobV04AsV03KeepsThePreferredBenchmark() throws {
        let first = try parse(jobV04Message)
        let written = APELWriter.write(first.records, format: .jobV03)
        #expect(written[0].contains("ServiceLevelType: HEPscore23\nServiceLevel: 15.3\n"))
        let again = try reparse(written)
        guard case .job(let j) = again[0].record else { Issue.record("not a job"); return }
        #expect(j.serviceLevels == ["HEPscore23": 15.3])
    }

    @Test func summaryV02AsV04AndBack() throws {
        let first = try parse(summaryV02Message)
        let v4 = try reparse(APELWriter.write(first.records, format: .summaryV04))
        let v2 = try reparse(APELWriter.write(v4, format: .summaryV02))
        #expect(v2 == first.records)
    }

    @Test func normalisedV04AsV03KeepsHEPSPEC() throws {
        let first = try parse(normalisedV04Message)
        let written = APELWriter.write(first.records, format: .normalisedSummaryV03)
        #expect(written[0].hasPrefix("APEL-summary-job-message: v0.3\n"))
        #expect(written[0].contains("NormalisedWallDuration: 519728\n"))
        // A HEPscore23-only summary names its type instead of passing for HEPSPEC06.
        #expect(written[0].contains("Infrastructure: Gratia-OSG\nServiceLevelType: HEPscore23\n"))
        let again = try reparse(written)
        guard case .normalisedSummary(let n) = again[1].record else { Issue.record("not normalised"); return }
        #expect(n.normalisedWallDurations == ["HEPscore23": 61_192_802_343])
        guard case .normalisedSummary(let h) = again[0].record else { Issue.record("not normalised"); return }
        #expect(h.normalisedWallDurations == ["HEPSPEC": 519728])
    }
}
