// Canonical proto3 JSON: golden output, the well-known types, and the input forms proto3 JSON
// parsers must accept.

import Foundation
import Gen
import Testing
import TestProtos
import WeftProtobuf

struct JSONTests {
    @Test func goldenAllTypes() throws {
        var m = Weft_Testing_AllTypes()
        m.fDouble = 1.5
        m.fFloat = -0.25
        m.fInt64 = -9_007_199_254_740_993
        m.fUint64 = .max
        m.fInt32 = -7
        m.fBool = true
        m.fString = "tab\tquote\"é"
        m.fBytes = Data([0xFB, 0xFF])
        m.fEnum = .green
        m.fMessage.a = 1
        m.rDouble = [.nan, .infinity, -.infinity, 1]
        m.rEnum = [.red, .UNRECOGNIZED(9)]
        m.mStringString = ["b": "2", "a": "1"]
        m.mBoolEnum = [true: .red, false: .green]
        m.mInt32Message = [3: Weft_Testing_Nested()]
        m.cInt32 = 0
        m.fLargeNumber = 5
        let json = try m.jsonString()
        #expect(json == #"{"fDouble":1.5,"fFloat":-0.25,"fInt64":"-9007199254740993","fUint64":"18446744073709551615","fInt32":-7,"fBool":true,"fString":"tab\tquote\"é","fBytes":"+/8=","fEnum":"COLOR_GREEN","fMessage":{"a":1},"rDouble":["NaN","Infinity","-Infinity",1],"rEnum":["COLOR_RED",9],"mStringString":{"a":"1","b":"2"},"mInt32Message":{"3":{}},"mBoolEnum":{"false":"COLOR_GREEN","true":"COLOR_RED"},"cInt32":0,"fLargeNumber":5}"#)
        var back = try Weft_Testing_AllTypes(jsonString: json)
        #expect(back.rDouble[0].isNaN)
        // NaN is never equal to itself: compare the rest.
        back.rDouble[0] = 0
        m.rDouble[0] = 0
        #expect(back == m)
    }

    @Test func acceptsProtoNamesStringNumbersAndNulls() throws {
        let m = try Weft_Testing_AllTypes(jsonString: """
            {"f_int32": "12", "fInt64": 1e3, "f_uint32": 4294967295, "f_enum": 2, "fFloat": "NaN",
             "f_bytes": "-_8", "fString": null, "r_int32": [1, "2", 3.0], "m_int64_bytes": {"-5": "AQ=="},
             "f_message": {"b": "\\u00e9\\ud83d\\ude00"}}
            """)
        #expect(m.fInt32 == 12)
        #expect(m.fInt64 == 1000)
        #expect(m.fUint32 == .max)
        #expect(m.fEnum == .green)
        #expect(m.fFloat.isNaN)
        #expect(m.fBytes == Data([0xFB, 0xFF]))
        #expect(m.fString == "")
        #expect(m.rInt32 == [1, 2, 3])
        #expect(m.mInt64Bytes[-5] == Data([1]))
        #expect(m.fMessage.b == "é😀")
    }

    @Test func rejectsBadInputWithThePath() throws {
        #expect(throws: ProtoJSONError.self) { try Weft_Testing_AllTypes(jsonString: #"{"nope": 1}"#) }
        #expect((try? Weft_Testing_AllTypes(jsonString: #"{"nope": 1}"#, ignoreUnknownFields: true)) != nil)
        do {
            _ = try Weft_Testing_AllTypes(jsonString: #"{"fMessage": {"a": 1.5}}"#)
            Issue.record("1.5 accepted as int32")
        } catch {
            #expect(error.path == ["fMessage", "a"])
        }
        do {
            _ = try Weft_Testing_AllTypes(jsonString: #"{"fInt32": 2147483648}"#)
            Issue.record("out-of-range int32 accepted")
        } catch {
            #expect(error.description.contains("int32"))
        }
        #expect(throws: ProtoJSONError.self) { try Weft_Testing_AllTypes(jsonString: #"{"cInt32": 1, "cString": "x"}"#) }
        #expect(throws: ProtoJSONError.self) { try Weft_Testing_AllTypes(jsonString: #"{"fEnum": "COLOR_PURPLE"}"#) }
        #expect(throws: ProtoJSONError.self) { try Weft_Testing_AllTypes(jsonString: #"{"fBool": "true"}"#) }
        #expect(throws: ProtoJSONError.self) { try Weft_Testing_AllTypes(jsonString: #"{"fInt32": 1,}"#) }
        #expect(throws: ProtoJSONError.self) { try Weft_Testing_AllTypes(jsonString: #"{"fInt32": 1, "fInt32": 2}"#) }
        let deep = String(repeating: #"{"fMessage":"#, count: 200) + "{}" + String(repeating: "}", count: 200)
        #expect(throws: ProtoJSONError.self) { try Weft_Testing_AllTypes(jsonString: deep) }
    }

    @Test func wellKnownTypes() throws {
        var w = Weft_Testing_WellKnown()
        w.at.seconds = 1_700_000_000
        w.at.nanos = 10_000_000
        w.took.seconds = -1
        w.took.nanos = -500_000_000
        var name = Google_Protobuf_Value()
        name.stringValue = "x"
        var count = Google_Protobuf_Value()
        count.numberValue = 2
        var empty = Google_Protobuf_Value()
        empty.nullValue = .nullValue
        var list = Google_Protobuf_ListValue()
        list.values = [name, count]
        var listValue = Google_Protobuf_Value()
        listValue.listValue = list
        w.details.fields = ["name": name, "count": count, "none": empty, "items": listValue]
        w.anyValue.boolValue = true
        w.list = list
        w.maybeCount.value = 0
        w.maybeName.value = "n"
        w.maybeFlag.value = false
        w.mask.paths = ["spec.containers", "metadata.creation_timestamp"]
        var packed = Weft_Testing_Nested()
        packed.a = 5
        w.packed.typeUrl = "type.googleapis.com/weft.testing.Nested"
        w.packed.value = packed.serializedData()
        w.nothing = Google_Protobuf_Empty()
        let registry = TestProtosFiles.registry
        let json = try w.jsonString(registry: registry)
        #expect(json == #"{"at":"2023-11-14T22:13:20.010Z","took":"-1.500s","details":{"count":2,"items":["x",2],"name":"x","none":null},"anyValue":true,"list":["x",2],"maybeCount":"0","maybeName":"n","maybeFlag":false,"mask":"spec.containers,metadata.creationTimestamp","packed":{"@type":"type.googleapis.com/weft.testing.Nested","a":5},"nothing":{}}"#)
        let back = try Weft_Testing_WellKnown(jsonString: json, registry: registry)
        #expect(back == w)
        // Without the type in the registry, Any cannot be written.
        #expect(throws: ProtoJSONError.self) { try w.jsonString() }
    }

    @Test func timestampsAndDurations() throws {
        #expect(try WellKnownJSON.formatTimestamp(seconds: 0, nanos: 0) == "1970-01-01T00:00:00Z")
        #expect(try WellKnownJSON.formatTimestamp(seconds: -62_135_596_800, nanos: 1000) == "0001-01-01T00:00:00.000001Z")
        #expect(try WellKnownJSON.formatTimestamp(seconds: 253_402_300_799, nanos: 999_999_999) == "9999-12-31T23:59:59.999999999Z")
        #expect(throws: ProtoJSONError.self) { try WellKnownJSON.formatTimestamp(seconds: 253_402_300_800, nanos: 0) }
        #expect(try WellKnownJSON.parseTimestamp("1972-01-01T10:00:20.021-05:00") == (63_108_020 + 5 * 3600, 21_000_000))
        #expect(try WellKnownJSON.parseTimestamp("2024-02-29T00:00:00Z").seconds == 1_709_164_800)
        #expect(throws: ProtoJSONError.self) { try WellKnownJSON.parseTimestamp("2023-02-29T00:00:00Z") }
        #expect(throws: ProtoJSONError.self) { try WellKnownJSON.parseTimestamp("2023-01-01 00:00:00Z") }
        #expect(try WellKnownJSON.formatDuration(seconds: 3, nanos: 1) == "3.000000001s")
        #expect(try WellKnownJSON.formatDuration(seconds: 0, nanos: -1_000_000) == "-0.001s")
        #expect(try WellKnownJSON.parseDuration("-0.5s") == (0, -500_000_000))
        #expect(throws: ProtoJSONError.self) { try WellKnownJSON.parseDuration("5") }
        #expect(throws: ProtoJSONError.self) { try WellKnownJSON.formatDuration(seconds: 1, nanos: -1) }
    }

    @Test func randomMessagesRoundTripThroughJSON() throws {
        var gen = RandomMessages(rng: SeededRandom(seed: 7))
        for _ in 0..<300 {
            let m = gen.allTypes()
            let json = try m.jsonString()
            #expect(try Weft_Testing_AllTypes(jsonString: json) == m, "\(json)")
        }
    }
}
