// Binary round trips of random messages (property-based), unknown-field preservation, and the
// generated API's semantics.

import Foundation
import PropertyBased
import Testing
import TestProtos
import WeftProtobuf

struct BinaryRoundTripTests {
    @Test func randomMessagesRoundTrip() async {
        await propertyCheck(count: 500, input: Gen.int(in: 0...Int.max)) { seed in
            var gen = RandomMessages(rng: SeededRandom(seed: UInt64(seed)))
            let m = gen.allTypes()
            let bytes = m.serializedBytes()
            #expect(bytes.count == m.serializedSize)
            #expect((try? Weft_Testing_AllTypes(serializedBytes: bytes)) == m)
            #expect((try? Weft_Testing_AllTypes(serializedBytes: m.serializedData())) == m)
        }
    }

    @Test func unknownFieldsSurviveByteForByte() throws {
        // Decoded as Nested, every AllTypes field is unknown (numbers collide with other wire types).
        var gen = RandomMessages(rng: SeededRandom(seed: 99))
        for _ in 0..<100 {
            let bytes = gen.allTypes().serializedBytes()
            let other = try Weft_Testing_Nested(serializedBytes: bytes)
            #expect(other.serializedBytes() == bytes)
        }
    }

    @Test func unknownEnumValuesSurvive() throws {
        var m = Weft_Testing_AllTypes()
        m.fEnum = .UNRECOGNIZED(1234)
        m.rEnum = [.UNRECOGNIZED(-7), .red]
        let back = try Weft_Testing_AllTypes(serializedBytes: m.serializedBytes())
        #expect(back.fEnum == .UNRECOGNIZED(1234))
        #expect(back.rEnum == [.UNRECOGNIZED(-7), .red])
        #expect(back.fEnum.protoName == nil)
    }

    @Test func mergeSemantics() throws {
        var a = Weft_Testing_AllTypes()
        a.fMessage.a = 1
        a.rInt32 = [1]
        var b = Weft_Testing_AllTypes()
        b.fMessage.b = "x"
        b.rInt32 = [2]
        var merged = a
        try merged.merge(serializedBytes: b.serializedBytes())
        #expect(merged.fMessage.a == 1 && merged.fMessage.b == "x")
        #expect(merged.rInt32 == [1, 2])
        // Concatenated encodings decode as the merge.
        #expect(try Weft_Testing_AllTypes(serializedBytes: a.serializedBytes() + b.serializedBytes()) == merged)
    }

    @Test func oneofAndPresenceAccessors() {
        var m = Weft_Testing_AllTypes()
        #expect(m.choice == nil)
        m.cInt32 = 3
        #expect(m.choice == .cInt32(3))
        m.cString = "s"
        #expect(m.choice == .cString("s"))
        #expect(m.cInt32 == 0)
        #expect(!m.hasFMessage)
        m.fMessage.a = 1
        #expect(m.hasFMessage)
        m.clearFMessage()
        #expect(!m.hasFMessage)
        // Deep recursion is plain value semantics.
        var deep = Weft_Testing_Nested()
        for i in 0..<50 { var n = Weft_Testing_Nested(); n.a = Int32(i); n.child = deep; deep = n }
        var copy = deep
        copy.child.child.a = -1
        #expect(deep.child.child.a == 47)
        #expect(copy.child.child.a == -1)
    }
}
