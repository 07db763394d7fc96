// Byte compatibility with protoc: Swift-encoded bytes decode in protoc, and protoc-encoded bytes
// decode in Swift, for every field type.

import Foundation
import Testing
import TestProtos
import WeftProtobuf

@Suite(.enabled(if: ProtocOracle.isAvailable, "protoc (Debian protobuf-compiler) is not installed"))
struct ProtocInteropTests {
    /// Text format covering every field of AllTypes, as a protoc user would write it.
    static let golden = """
        f_double: -2.5e+300
        f_float: 3.25
        f_int64: -9223372036854775808
        f_uint64: 18446744073709551615
        f_int32: -123456
        f_fixed64: 72623859790382856
        f_fixed32: 4277010159
        f_bool: true
        f_string: "h\\303\\251llo"
        f_bytes: "\\000\\001\\377\\200"
        f_uint32: 4294967295
        f_enum: COLOR_NEGATIVE
        f_sfixed32: -2147483648
        f_sfixed64: -9
        f_sint32: -1
        f_sint64: 9223372036854775807
        f_message { a: 7 b: "seven" child { a: -8 } }
        r_double: [1.5, -0]
        r_float: [0.5]
        r_int64: [-1, 1]
        r_uint64: [18446744073709551615]
        r_int32: [1, -1, 300]
        r_fixed64: [5]
        r_fixed32: [6]
        r_bool: [true, false]
        r_string: ["a", "", "ccc"]
        r_bytes: ["\\001"]
        r_uint32: [7]
        r_enum: [COLOR_RED, COLOR_GREEN]
        r_sfixed32: [-3]
        r_sfixed64: [-4]
        r_sint32: [-2147483648, 2147483647]
        r_sint64: [-5, 5]
        r_message { a: 1 }
        r_message { b: "x" }
        r_unpacked_int32: [9, 10]
        m_string_string { key: "k" value: "v" }
        m_int32_message { key: -2 value { a: 3 } }
        m_int64_bytes { key: 5 value: "\\002" }
        m_bool_enum { key: true value: COLOR_GREEN }
        m_uint32_double { key: 7 value: 0.25 }
        m_sint64_string { key: -3 value: "minus" }
        c_message { a: 4 }
        recursive { f_int32: 1 recursive { c_int32: 2 } }
        f_large_number: 99
        """

    @Test func swiftBytesDecodeInProtoc() throws {
        let sample = sampleAllTypes()
        let text = try ProtocOracle.decode(sample.serializedBytes(), type: "weft.testing.AllTypes")
        for line in ["f_int64: -9223372036854775808", "f_uint64: 18446744073709551615", "f_enum: COLOR_NEGATIVE",
                     "f_sint32: -1", "c_string: \"chosen\"", "f_large_number: 99", "r_sint32: -2147483648"] {
            #expect(text.contains(line), "protoc's decode lacks \(line)")
        }
        // protoc re-encodes its view; Swift must read back exactly the original message.
        let back = try Weft_Testing_AllTypes(serializedBytes: try ProtocOracle.encode(text, type: "weft.testing.AllTypes"))
        #expect(back == sample)
    }

    @Test func protocBytesDecodeInSwift() throws {
        let bytes = try ProtocOracle.encode(Self.golden, type: "weft.testing.AllTypes")
        let m = try Weft_Testing_AllTypes(serializedBytes: bytes)
        #expect(m.fDouble == -2.5e300)
        #expect(m.fFloat == 3.25)
        #expect(m.fInt64 == .min)
        #expect(m.fUint64 == .max)
        #expect(m.fInt32 == -123_456)
        #expect(m.fFixed64 == 72_623_859_790_382_856)
        #expect(m.fFixed32 == 4_277_010_159)
        #expect(m.fBool)
        #expect(m.fString == "héllo")
        #expect(m.fBytes == Data([0, 1, 255, 128]))
        #expect(m.fEnum == .negative)
        #expect(m.fSfixed32 == .min)
        #expect(m.fSint64 == .max)
        #expect(m.fMessage.child.a == -8)
        #expect(m.rDouble == [1.5, -0.0])
        #expect(m.rDouble[1].sign == .minus)
        #expect(m.rInt32 == [1, -1, 300])
        #expect(m.rBool == [true, false])
        #expect(m.rString == ["a", "", "ccc"])
        #expect(m.rEnum == [.red, .green])
        #expect(m.rSint32 == [.min, .max])
        #expect(m.rMessage.map(\.a) == [1, 0])
        #expect(m.rUnpackedInt32 == [9, 10])
        #expect(m.mStringString == ["k": "v"])
        #expect(m.mInt32Message[-2]?.a == 3)
        #expect(m.mInt64Bytes[5] == Data([2]))
        #expect(m.mBoolEnum[true] == .green)
        #expect(m.mUint32Double[7] == 0.25)
        #expect(m.mSint64String[-3] == "minus")
        #expect(m.cMessage.a == 4)
        #expect(m.recursive.recursive.cInt32 == 2)
        #expect(m.fLargeNumber == 99)
        #expect(m.unknownFields.isEmpty)
        // Swift's re-encoding means the same to protoc as protoc's own bytes.
        let ours = try ProtocOracle.decode(m.serializedBytes(), type: "weft.testing.AllTypes")
        let theirs = try ProtocOracle.decode(bytes, type: "weft.testing.AllTypes")
        #expect(ours == theirs)
    }

    @Test func unpackedRepeatedAndPackedAreBothAccepted() throws {
        // protoc writes r_unpacked_int32 unpacked and r_int32 packed; feed each in the other form too.
        var w = ProtoWriter()
        for v in [3, 2, 1] as [Int32] { w.writeVarint(v); w.writeTag(35, .varint) }  // r_int32 unpacked
        let m = try Weft_Testing_AllTypes(serializedBytes: w.bytes())
        #expect(m.rInt32 == [1, 2, 3])
    }

    @Test func randomMessagesSurviveProtoc() throws {
        var gen = RandomMessages(rng: SeededRandom(seed: 0x5EED))
        for _ in 0..<40 {
            let m = gen.allTypes()
            let text = try ProtocOracle.decode(m.serializedBytes(), type: "weft.testing.AllTypes")
            let back = try Weft_Testing_AllTypes(serializedBytes: try ProtocOracle.encode(text, type: "weft.testing.AllTypes"))
            #expect(back == m)
        }
    }

    @Test func proto2DefaultsAndPresence() throws {
        var m = Weft_Testing_Legacy_Legacy()
        #expect(m.count == 42)
        #expect(m.label == "unnamed \"x\"")
        #expect(m.ratio == -1.5)
        #expect(m.enabled)
        #expect(m.mode == .fast)
        #expect(m.blob == Data([UInt8(ascii: "a"), 1, UInt8(ascii: "b")]))
        #expect(m.infDefault == .infinity)
        #expect(!m.hasCount)
        #expect(m.serializedBytes().isEmpty)
        m.id = "x"
        m.count = 0  // proto2: explicitly set to zero is still written
        m.plain = [1, 2]
        m.packedValues = [3, 4]
        let text = try ProtocOracle.decode(m.serializedBytes(), type: "weft.testing.legacy.Legacy", file: "weft_testing/legacy.proto")
        #expect(text == "id: \"x\"\ncount: 0\nplain: 1\nplain: 2\npacked_values: 3\npacked_values: 4\n")
        let back = try Weft_Testing_Legacy_Legacy(serializedBytes: try ProtocOracle.encode(text, type: "weft.testing.legacy.Legacy", file: "weft_testing/legacy.proto"))
        #expect(back == m)
        #expect(back.hasCount)
    }

    @Test func proto3OptionalPresence() throws {
        var p = Weft_Testing_Presence()
        p.oInt32 = 0
        p.oString = ""
        p.implicitInt32 = 0
        let text = try ProtocOracle.decode(p.serializedBytes(), type: "weft.testing.Presence", file: "weft_testing/presence.proto")
        #expect(text == "o_int32: 0\no_string: \"\"\n")
        let back = try Weft_Testing_Presence(serializedBytes: p.serializedBytes())
        #expect(back.hasOInt32 && back.hasOString && !back.hasOEnum)
    }
}
