import Foundation
import Gen
import Testing
import WeftPodKit

struct RFC3339Tests {
    @Test func formatsAndParsesRoundTrip() {
        for nanos: Int64 in [0, 1, 999_999_999, 1_764_000_000_123_456_789, -1, 951_782_400_000_000_000] {
            let text = RFC3339.format(unixNanos: nanos)
            #expect(RFC3339.parse(text) == nanos, "\(text)")
        }
        #expect(RFC3339.format(unixNanos: 0) == "1970-01-01T00:00:00.000000000Z")
        #expect(RFC3339.format(unixNanos: 951_782_400_000_000_000) == "2000-02-29T00:00:00.000000000Z")
    }

    @Test func parsesOffsetsAndFractions() {
        #expect(RFC3339.parse("2026-11-25T16:00:00Z") == 1_795_622_400_000_000_000)
        #expect(RFC3339.parse("2026-11-25T17:00:00+01:00") == 1_795_622_400_000_000_000)
        #expect(RFC3339.parse("2026-11-25T16:00:00.5Z") == 1_795_622_400_500_000_000)
        for bad in ["", "2026-13-01T00:00:00Z", "2026-11-25 16:00", "2026-11-25T16:00:00", "2026-11-25T16:00:00.Z", "x026-11-25T16:00:00Z"] {
            #expect(RFC3339.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func timestampConversions() {
        let t = Google_Protobuf_Timestamp(unixNanos: -1)
        #expect(t.seconds == -1 && t.nanos == 999_999_999)
        #expect(t.unixNanos == -1)
        let d = Date(timeIntervalSince1970: 1.25)
        #expect(Google_Protobuf_Timestamp(date: d).nanos == 250_000_000)
    }
}
