// Hostile bytes: decoding throws an error naming the field path and never traps or over-allocates.

import Foundation
import Testing
import TestProtos
import WeftProtobuf

struct HostileInputTests {
    func decodeError(_ bytes: [UInt8]) -> ProtoDecodingError? {
        do {
            _ = try Weft_Testing_AllTypes(serializedBytes: bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func everyTruncationFailsCleanly() {
        let bytes = sampleAllTypes().serializedBytes()
        var failures = 0
        for n in 0..<bytes.count {
            if decodeError(Array(bytes[..<n])) != nil { failures += 1 }
        }
        // Most prefixes end inside a value; none may trap.
        #expect(failures > bytes.count / 2)
    }

    @Test func lengthBeyondBufferIsRefusedWithPath() throws {
        // f_message { b: <declares 2^40 bytes> }
        var inner: [UInt8] = [18]  // field 2, length-delimited
        var v: UInt64 = 1 << 40
        while v >= 0x80 { inner.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        inner.append(UInt8(v))
        let bytes: [UInt8] = [0xF2, 0x01, UInt8(inner.count)] + inner  // field 30, length-delimited
        let e = try #require(decodeError(bytes))
        #expect(e.path == ["f_message", "b"])
        if case .lengthBeyondBuffer(let declared, _) = e.reason { #expect(declared == 1 << 40) } else { Issue.record("\(e)") }
    }

    @Test func nestingLimit() throws {
        func nested(_ depth: Int) -> [UInt8] {
            var m = Weft_Testing_Nested()
            for _ in 0..<depth { var n = Weft_Testing_Nested(); n.child = m; m = n }
            return m.serializedBytes()
        }
        #expect((try? Weft_Testing_Nested(serializedBytes: nested(100))) != nil)
        do {
            _ = try Weft_Testing_Nested(serializedBytes: nested(101))
            Issue.record("101 levels accepted")
        } catch {
            #expect(error.reason == .nestingTooDeep(limit: 100))
            #expect(error.path.count == 101)
        }
        // Deep unknown groups are limited too.
        let groups = [UInt8](repeating: 0x0B, count: 500) + [UInt8](repeating: 0x0C, count: 500)  // field 1 start/end group
        #expect(throws: ProtoDecodingError.self) { try Weft_Testing_Nested(serializedBytes: groups) }
    }

    @Test func malformedValues() throws {
        #expect(decodeError([0x28] + [UInt8](repeating: 0xFF, count: 11))?.reason == .malformedVarint)
        #expect(decodeError([0x00, 0x01])?.reason == .invalidTag(0))
        #expect(decodeError([0x0F])?.reason == .invalidTag(15))  // wire type 7
        let e = decodeError([0xF2, 0x01, 0x03, 0x12, 0x01, 0xFF])  // f_message.b = "\xFF"
        #expect(e?.reason == .invalidUTF8)
        #expect(e?.path == ["f_message", "b"])
        #expect(decodeError([0x0C])?.reason == .unbalancedGroup)  // stray end-group
        #expect(decodeError([0x09, 1, 2, 3])?.reason == .truncated)  // fixed64 cut short
    }

    @Test func randomGarbageNeverTraps() {
        var rng = SeededRandom(seed: 1234)
        let sample = sampleAllTypes().serializedBytes()
        for i in 0..<20_000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                bytes = sample
                for _ in 0..<Int.random(in: 1..<6, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            _ = try? Weft_Testing_AllTypes(serializedBytes: bytes)
        }
    }
}
