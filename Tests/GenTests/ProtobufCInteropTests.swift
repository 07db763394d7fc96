// Byte compatibility with protobuf-c (an independent C implementation): Swift-encoded messages
// decode in protobuf-c with every value intact, and protobuf-c's bytes decode in Swift.

import CProtobufCInterop
import Foundation
import Testing
import TestProtos
import WeftProtobuf

struct ProtobufCInteropTests {
    /// The same summary `weft_c_summary` prints, computed from the Swift message.
    static func summary(_ m: Weft_Testing_AllTypes) -> String {
        func g17(_ d: Double) -> String { String(format: "%.17g", d) }
        func g9(_ f: Float) -> String { String(format: "%.9g", Double(f)) }
        func bytes(_ d: Data) -> String { "[" + d.map { String($0) }.joined(separator: ",") + "]" }
        func list<T>(_ name: String, _ xs: [T], _ f: (T) -> String) -> String { "\(name)=[" + xs.map(f).joined(separator: ",") + "];" }
        func nested(_ n: Weft_Testing_Nested?) -> String {
            guard let n else { return "nil" }
            return "{a=\(n.a) b=\(n.b) child=\(nested(n.hasChild ? n.child : nil))}"
        }
        var s = "f_double=\(g17(m.fDouble));f_float=\(g9(m.fFloat));f_int64=\(m.fInt64);f_uint64=\(m.fUint64);f_int32=\(m.fInt32);"
        s += "f_fixed64=\(m.fFixed64);f_fixed32=\(m.fFixed32);f_bool=\(m.fBool ? 1 : 0);f_string=\(m.fString);f_bytes=\(bytes(m.fBytes))"
        s += ";f_uint32=\(m.fUint32);f_enum=\(m.fEnum.rawValue);f_sfixed32=\(m.fSfixed32);f_sfixed64=\(m.fSfixed64);f_sint32=\(m.fSint32);f_sint64=\(m.fSint64);"
        s += "f_message=\(nested(m.hasFMessage ? m.fMessage : nil));"
        s += list("r_double", m.rDouble, g17) + list("r_float", m.rFloat, g9)
        s += list("r_int64", m.rInt64) { "\($0)" } + list("r_uint64", m.rUint64) { "\($0)" }
        s += list("r_int32", m.rInt32) { "\($0)" } + list("r_fixed64", m.rFixed64) { "\($0)" }
        s += list("r_fixed32", m.rFixed32) { "\($0)" } + list("r_bool", m.rBool) { $0 ? "1" : "0" }
        s += list("r_string", m.rString) { $0 } + list("r_bytes", m.rBytes, bytes)
        s += list("r_uint32", m.rUint32) { "\($0)" } + list("r_enum", m.rEnum) { "\($0.rawValue)" }
        s += list("r_sfixed32", m.rSfixed32) { "\($0)" } + list("r_sfixed64", m.rSfixed64) { "\($0)" }
        s += list("r_sint32", m.rSint32) { "\($0)" } + list("r_sint64", m.rSint64) { "\($0)" }
        s += list("r_message", m.rMessage) { nested($0) } + list("r_unpacked_int32", m.rUnpackedInt32) { "\($0)" }
        s += "m_string_string=\(m.mStringString.count);m_int32_message=\(m.mInt32Message.count);m_int64_bytes=\(m.mInt64Bytes.count);"
        s += "m_bool_enum=\(m.mBoolEnum.count);m_uint32_double=\(m.mUint32Double.count);m_sint64_string=\(m.mSint64String.count);"
        switch m.choice {
        case .cInt32(let v)?: s += "choice=c_int32:\(v);"
        case .cString(let v)?: s += "choice=c_string:\(v);"
        case .cMessage(let v)?: s += "choice=c_message:\(nested(v));"
        case nil: s += "choice=none;"
        }
        s += "recursive=" + (m.hasRecursive ? "{" + summary(m.recursive) + "}" : "nil")
        s += ";f_large_number=\(m.fLargeNumber)"
        return s
    }

    static func cSummary(_ bytes: [UInt8]) -> String? {
        var buf = [CChar](repeating: 0, count: 1 << 20)
        let n = bytes.withUnsafeBufferPointer { p in weft_c_summary(p.baseAddress, p.count, &buf, buf.count) }
        guard n >= 0 else { return nil }
        return String(cString: buf)
    }

    static func cReencode(_ bytes: [UInt8]) -> [UInt8]? {
        var out: UnsafeMutablePointer<UInt8>?
        var len = 0
        let rc = bytes.withUnsafeBufferPointer { p in weft_c_reencode(p.baseAddress, p.count, &out, &len) }
        guard rc == 0, let out else { return nil }
        defer { weft_c_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: len))
    }

    @Test func protobufCReadsEveryFieldOfSwiftBytes() throws {
        var m = sampleAllTypes()
        m.fString = "héllo, ✓ (C strings end at NUL, so none here)"
        let c = try #require(Self.cSummary(m.serializedBytes()), "protobuf-c could not decode Swift's bytes")
        #expect(c == Self.summary(m))
    }

    @Test func randomMessagesReadTheSameInC() throws {
        var gen = RandomMessages(rng: SeededRandom(seed: 42))
        for _ in 0..<300 {
            let m = gen.allTypes()
            let bytes = m.serializedBytes()
            let c = try #require(Self.cSummary(bytes), "protobuf-c could not decode Swift's bytes")
            #expect(c == Self.summary(m))
            // And protobuf-c's re-encoding reads back in Swift as the same message.
            let again = try #require(Self.cReencode(bytes))
            #expect(try Weft_Testing_AllTypes(serializedBytes: again) == m)
        }
    }

    @Test func swiftReadsProtobufCBytes() throws {
        var out: UnsafeMutablePointer<UInt8>?
        var len = 0
        #expect(weft_c_build_sample(&out, &len) == 0)
        let bytes = Array(UnsafeBufferPointer(start: try #require(out), count: len))
        weft_c_free(out)
        let m = try Weft_Testing_AllTypes(serializedBytes: bytes)
        #expect(m.fDouble == -2.5e300)
        #expect(m.fInt64 == .min)
        #expect(m.fUint64 == .max)
        #expect(m.fString == "héllo, ✓")
        #expect(m.fBytes == Data([0, 1, 255, 128]))
        #expect(m.fEnum == .negative)
        #expect(m.fSfixed32 == .min)
        #expect(m.fSint64 == .max)
        #expect(m.fMessage.b == "seven")
        #expect(m.fMessage.child.a == -8)
        #expect(m.rDouble == [1.5, -0.0])
        #expect(m.rInt32 == [1, -1, 300])
        #expect(m.rSint64 == [-5, 5])
        #expect(m.rString == ["a", "", "ccc"])
        #expect(m.rEnum == [.red, .green])
        #expect(m.rUnpackedInt32 == [9, 10])
        #expect(m.rMessage.map(\.a) == [-8, 7])
        #expect(m.mStringString == ["k": "v"])
        #expect(m.cString == "chosen")
        #expect(m.fLargeNumber == 99)
        // Both encoders write fields in number order: the bytes are identical.
        #expect(m.serializedBytes() == bytes)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/protoc-c")))
    func committedProtobufCCodecIsCurrent() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weft-protoc-c-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runProcess("/usr/bin/protoc-c", ["-I", Paths.testProtos, "--c_out=\(dir.path)", "weft_testing/types.proto"])
        #expect(r.status == 0, "\(r.stderr)")
        for ext in ["c", "h"] {
            let fresh = try String(contentsOf: dir.appendingPathComponent("weft_testing/types.pb-c.\(ext)"), encoding: .utf8)
            let committed = try String(contentsOfFile: Paths.packageRoot.appendingPathComponent("Tests/CProtobufCInterop/weft_testing/types.pb-c.\(ext)").path, encoding: .utf8)
            #expect(fresh == committed, "Tests/CProtobufCInterop is stale: run its regenerate.sh")
        }
    }
}
