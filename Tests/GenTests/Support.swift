// Shared by the generated-code tests: sample messages, a seeded random message generator, and
// running external oracles (protoc).

import Foundation
import Gen
import TestProtos
import WeftProtobuf

/// Paths of the package the tests run in.
enum Paths {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let proto = packageRoot.appendingPathComponent("proto").path
    static let testProtos = packageRoot.appendingPathComponent("Tests/TestProtos").path
}

/// Runs a program, feeding stdin, returning status, stdout and stderr.
func runProcess(_ path: String, _ arguments: [String], input: Data = Data()) throws -> (status: Int32, stdout: Data, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let out = Pipe(), err = Pipe(), inp = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = inp
    try process.run()
    // Write stdin from another thread so a large output cannot deadlock against it.
    let writer = Thread {
        inp.fileHandleForWriting.write(input)
        try? inp.fileHandleForWriting.close()
    }
    writer.start()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, stdout, String(decoding: stderr, as: UTF8.self))
}

/// protoc as an oracle for the binary and text formats of the test protos.
enum ProtocOracle {
    static let path = "/usr/bin/protoc"
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: path) }

    static func decode(_ bytes: [UInt8], type: String, file: String = "weft_testing/types.proto") throws -> String {
        let r = try runProcess(path, ["-I", Paths.testProtos, "-I", Paths.proto, "--decode=\(type)", file], input: Data(bytes))
        guard r.status == 0 else { throw OracleError(message: "protoc --decode failed: \(r.stderr)") }
        return String(decoding: r.stdout, as: UTF8.self)
    }

    static func encode(_ text: String, type: String, file: String = "weft_testing/types.proto") throws -> [UInt8] {
        let r = try runProcess(path, ["-I", Paths.testProtos, "-I", Paths.proto, "--encode=\(type)", file], input: Data(text.utf8))
        guard r.status == 0 else { throw OracleError(message: "protoc --encode failed: \(r.stderr)") }
        return [UInt8](r.stdout)
    }
}

struct OracleError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A message with every field set to an edge value.
func sampleAllTypes() -> Weft_Testing_AllTypes {
    var m = Weft_Testing_AllTypes()
    m.fDouble = -2.5e300
    m.fFloat = 3.25
    m.fInt64 = .min
    m.fUint64 = .max
    m.fInt32 = -123_456
    m.fFixed64 = 0x0102_0304_0506_0708
    m.fFixed32 = 0xFEED_BEEF
    m.fBool = true
    m.fString = "héllo, ✓ \u{0}\n\"quoted\""
    m.fBytes = Data([0, 1, 255, 128])
    m.fUint32 = .max
    m.fEnum = .negative
    m.fSfixed32 = .min
    m.fSfixed64 = -9
    m.fSint32 = -1
    m.fSint64 = .max
    var n = Weft_Testing_Nested()
    n.a = 7
    n.b = "seven"
    var child = Weft_Testing_Nested()
    child.a = -8
    n.child = child
    m.fMessage = n
    m.rDouble = [1.5, -0.0, .greatestFiniteMagnitude]
    m.rFloat = [0.5, -1]
    m.rInt64 = [.min, 0, .max]
    m.rUint64 = [0, .max]
    m.rInt32 = [1, -1, 300]
    m.rFixed64 = [1, .max]
    m.rFixed32 = [2, .max]
    m.rBool = [true, false, true]
    m.rString = ["a", "", "ccc"]
    m.rBytes = [Data(), Data([9, 8])]
    m.rUint32 = [0, .max]
    m.rEnum = [.red, .green, .negative]
    m.rSfixed32 = [-1, 1]
    m.rSfixed64 = [-2, 2]
    m.rSint32 = [.min, .max]
    m.rSint64 = [-5, 5]
    m.rMessage = [child, n]
    m.rUnpackedInt32 = [9, 10, -11]
    m.mStringString = ["k": "v", "": "empty key"]
    m.mInt32Message = [1: n, -2: child]
    m.mInt64Bytes = [.min: Data([1]), 0: Data()]
    m.mBoolEnum = [true: .green, false: .unspecified]
    m.mUint32Double = [7: 0.25]
    m.mSint64String = [-3: "minus three"]
    m.cString = "chosen"
    var inner = Weft_Testing_AllTypes()
    inner.fInt32 = 1
    inner.cMessage = child
    m.recursive = inner
    m.fLargeNumber = 99
    return m
}

/// A deterministic random source (SplitMix64), so failures reproduce from the seed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random messages covering every field type; finite floats only (NaN != NaN).
struct RandomMessages {
    var rng: SeededRandom

    mutating func int<T: FixedWidthInteger>(_: T.Type) -> T {
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: return 0
        case 1: return T.min
        case 2: return T.max
        default: return T.random(in: T.min...T.max, using: &rng)
        }
    }

    mutating func double() -> Double {
        [0, -0.0, 1, .greatestFiniteMagnitude, .leastNonzeroMagnitude, Double.random(in: -1e12...1e12, using: &rng)].randomElement(using: &rng) ?? 0
    }

    mutating func float() -> Float { Float(Double.random(in: -1e6...1e6, using: &rng)) }

    mutating func string() -> String {
        let alphabet = Array("abcXYZ019 _-\"\\/\n\t\u{1}é✓😀")
        let n = Int.random(in: 0..<12, using: &rng)
        return String((0..<n).map { _ in alphabet.randomElement(using: &rng) ?? "a" })
    }

    mutating func bytes() -> Data { Data((0..<Int.random(in: 0..<16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }) }

    mutating func color() -> Weft_Testing_Color {
        [.unspecified, .red, .green, .negative, .UNRECOGNIZED(77)].randomElement(using: &rng) ?? .red
    }

    mutating func array<T>(_ make: (inout RandomMessages) -> T) -> [T] {
        (0..<Int.random(in: 0..<4, using: &rng)).map { _ in make(&self) }
    }

    mutating func nested(depth: Int = 0) -> Weft_Testing_Nested {
        var n = Weft_Testing_Nested()
        n.a = int(Int32.self)
        n.b = string()
        if depth < 3, Bool.random(using: &rng) { n.child = nested(depth: depth + 1) }
        return n
    }

    mutating func allTypes(depth: Int = 0) -> Weft_Testing_AllTypes {
        var m = Weft_Testing_AllTypes()
        m.fDouble = double(); m.fFloat = float(); m.fInt64 = int(Int64.self); m.fUint64 = int(UInt64.self)
        m.fInt32 = int(Int32.self); m.fFixed64 = int(UInt64.self); m.fFixed32 = int(UInt32.self)
        m.fBool = Bool.random(using: &rng); m.fString = string(); m.fBytes = bytes(); m.fUint32 = int(UInt32.self)
        m.fEnum = color(); m.fSfixed32 = int(Int32.self); m.fSfixed64 = int(Int64.self)
        m.fSint32 = int(Int32.self); m.fSint64 = int(Int64.self)
        if Bool.random(using: &rng) { m.fMessage = nested() }
        m.rDouble = array { $0.double() }; m.rFloat = array { $0.float() }
        m.rInt64 = array { $0.int(Int64.self) }; m.rUint64 = array { $0.int(UInt64.self) }
        m.rInt32 = array { $0.int(Int32.self) }; m.rFixed64 = array { $0.int(UInt64.self) }
        m.rFixed32 = array { $0.int(UInt32.self) }; m.rBool = array { Bool.random(using: &$0.rng) }
        m.rString = array { $0.string() }; m.rBytes = array { $0.bytes() }
        m.rUint32 = array { $0.int(UInt32.self) }; m.rEnum = array { $0.color() }
        m.rSfixed32 = array { $0.int(Int32.self) }; m.rSfixed64 = array { $0.int(Int64.self) }
        m.rSint32 = array { $0.int(Int32.self) }; m.rSint64 = array { $0.int(Int64.self) }
        m.rMessage = array { $0.nested() }; m.rUnpackedInt32 = array { $0.int(Int32.self) }
        for _ in 0..<Int.random(in: 0..<3, using: &rng) {
            m.mStringString[string()] = string()
            m.mInt32Message[int(Int32.self)] = nested()
            m.mInt64Bytes[int(Int64.self)] = bytes()
            m.mBoolEnum[Bool.random(using: &rng)] = color()
            m.mUint32Double[int(UInt32.self)] = double()
            m.mSint64String[int(Int64.self)] = string()
        }
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: m.cInt32 = int(Int32.self)
        case 1: m.cString = string()
        case 2: m.cMessage = nested()
        default: break
        }
        if depth < 2, Int.random(in: 0..<3, using: &rng) == 0 { m.recursive = allTypes(depth: depth + 1) }
        m.fLargeNumber = int(Int32.self)
        return m
    }
}
