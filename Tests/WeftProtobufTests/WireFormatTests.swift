import Testing
@testable import WeftProtobuf

struct WireFormatTests {
    func written(_ body: (inout ProtoWriter) -> Void) -> [UInt8] {
        var w = ProtoWriter(capacity: 1)
        body(&w)
        return w.bytes()
    }

    @Test(arguments: [
        (UInt64(0), [0x00]), (1, [0x01]), (127, [0x7F]), (128, [0x80, 0x01]), (300, [0xAC, 0x02]),
        (UInt64.max, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
    ] as [(UInt64, [UInt8])])
    func varints(value: UInt64, bytes: [UInt8]) throws {
        #expect(written { $0.writeVarint(value) } == bytes)
        #expect(ProtoWriter.varintSize(value) == bytes.count)
        try bytes.withUnsafeBytes { raw in
            var r = ProtoReader(raw)
            let v = try r.readVarint()
            let more = r.hasMore
            #expect(v == value)
            #expect(!more)
        }
    }

    @Test func negativeInt32TakesTenBytes() {
        #expect(written { $0.writeVarint(Int32(-1)) }.count == 10)
    }

    @Test func zigzag() throws {
        for v: Int64 in [0, -1, 1, -2, .min, .max] {
            let bytes = written { $0.writeZigZag(v) }
            try bytes.withUnsafeBytes { raw in
                var r = ProtoReader(raw)
                let got = try r.readSInt64()
                #expect(got == v)
            }
        }
        #expect(written { $0.writeZigZag(Int32(-1)) } == [1])
        #expect(written { $0.writeZigZag(Int32(1)) } == [2])
    }

    @Test func backToFrontWritingGrowsAndKeepsOrder() {
        // Written in reverse, read forwards: 0..<1000 as fixed32.
        let bytes = written { w in for i in (0..<1000).reversed() { w.writeFixed32(UInt32(i)) } }
        #expect(bytes.count == 4000)
        #expect(bytes[4] == 1 && bytes[3996] == 0xE7)
    }

    @Test func lengthDelimitedString() {
        #expect(written { $0.writeLengthDelimited("hé") } == [3, 0x68, 0xC3, 0xA9])
    }

    @Test func readerRefusesOverlongLengthsBeforeAllocating() {
        [UInt8]([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1, 2]).withUnsafeBytes { raw in
            var r = ProtoReader(raw)
            var caught: ProtoDecodingError?
            do throws(ProtoDecodingError) { _ = try r.readBytes() } catch { caught = error }
            #expect(caught == ProtoDecodingError(.lengthBeyondBuffer(declared: 0xFFFF_FFFF, remaining: 2)))
        }
    }
}

struct JSONTextTests {
    @Test func parsesAndKeepsNumberText() throws {
        let v = try JSONValue.parse(#" {"a": [1, -2.5e3, "x\u00e9\n", true, null], "b": {}} "#)
        guard case .object(let members) = v, case .array(let a) = members[0].1 else { Issue.record("shape"); return }
        #expect(a == [.number("1"), .number("-2.5e3"), .string("xé\n"), .bool(true), .null])
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "\"\u{1}\"", "nul", "{} x", "\"\\ud800\""])
    func rejects(_ text: String) {
        #expect(throws: ProtoJSONError.self) { try JSONValue.parse(text) }
    }

    @Test func writerSeparatorsAndEscapes() {
        var w = JSONWriter()
        w.beginObject()
        w.key("a"); w.beginArray(); w.int32(1); w.string("q\"\u{2}"); w.endArray()
        w.key("b"); w.double(2); w.key("c"); w.float(0.1)
        w.endObject()
        #expect(w.string == #"{"a":[1,"q\"\u0002"],"b":2,"c":0.1}"#)
    }
}
