import Foundation
import Testing
import WeftKubernetes

struct JSONValueTests {
    @Test func parsesKeepingTypes() throws {
        let v = try JSONValue(parsing: #"{"a": true, "b": 1, "c": 1.5, "d": "x", "e": [null, false, 9007199254740993], "f": {}}"#)
        #expect(v["a"] == .bool(true))
        #expect(v["b"] == .int(1))
        #expect(v["c"] == .double(1.5))
        #expect(v["d"]?.stringValue == "x")
        #expect(v["e"] == [nil, false, .int(9_007_199_254_740_993)])
        #expect(v["f"] == [:])
        #expect(v["missing"] == nil)
        #expect(v["a"]?.intValue == nil, "true is not 1")
    }

    @Test func nullMembersReadAsAbsent() throws {
        let v = try JSONValue(parsing: #"{"metadata": {"deletionTimestamp": null, "name": "p"}}"#)
        #expect(v["metadata", "deletionTimestamp"] == nil)
        #expect(v["metadata", "name"] == "p")
    }

    @Test func serializesSortedAndEscaped() {
        let v: JSONValue = ["b": 1, "a": ["x\"y\\z\n\u{1}", nil, true, .double(2.5), .double(3)]]
        #expect(v.serializedString() == #"{"a":["x\"y\\z\n\u0001",null,true,2.5,3],"b":1}"#)
    }

    @Test func roundTrips() throws {
        let text = #"{"apiVersion":"v1","items":[{"metadata":{"labels":{"app":"ü ☃"},"name":"p"}}],"kind":"PodList"}"#
        #expect(try JSONValue(parsing: text).serializedString() == text)
    }

    @Test func rejectsBadJSONWithAReason() {
        #expect(throws: JSONValueError.self) { try JSONValue(parsing: "{\"a\": }") }
    }

    @Test func readsYAMLWithYAMLScalars() throws {
        let v = try JSONValue(yaml: """
            apiVersion: v1
            count: 3
            ratio: 0.5
            flag: true
            quoted: "true"
            empty: null
            list: [a, 2]
            """)
        #expect(v["count"] == 3)
        #expect(v["ratio"] == .double(0.5))
        #expect(v["flag"] == true)
        #expect(v["quoted"] == "true")
        #expect(v.objectValue?["empty"] == .null)
        #expect(v["list"] == ["a", 2])
        #expect(try JSONValue(yaml: "") == .null)
    }
}
