import Foundation
import Testing
import WeftAPEL
@Test func zzDump() throws {
    var out = ""
    for t in [jobV03Message, normalisedV04Message, cloudMessage, starMessage, acceleratorMessage] {
        let m = try parse(t)
        out += APELWriter.write(m.records, format: m.format).joined(separator: "\n=====\n") + "\n#####\n"
    }
    out += APELWriter.write(try parse(normalisedV04Message).records, format: .normalisedSummaryV03).joined()
    try out.write(toFile: "/tmp/apel-dump.txt", atomically: true, encoding: .utf8)
}
