// codec-bench: encode and decode ns/op of Weft's protobuf codec and swift-protobuf's, for three
// message shapes. Build with `swift build -c release`; run through bench/run-codec.sh.
//
//   codec-bench [--smoke] [--only pod|jobrecord|blob] [--impl weft|swift-protobuf]
//               [--op encode|decode] [--check-c DIR]
//
// Prints one machine-readable line per measurement:
//   RESULT <impl> <shape> <encode|decode> <median ns/op> <best ns/op> <encoded bytes> <iterations/batch>

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

enum Shape: String, CaseIterable, CustomStringConvertible {
    case pod, jobRecord = "jobrecord", blob
    var description: String { rawValue }
}

/// Keeps results alive so that the optimiser cannot drop the measured work.
nonisolated(unsafe) var sink = 0

struct Options {
    var smoke = false
    var shapes = Shape.allCases
    var impls = ["weft", "swift-protobuf"]
    var ops = ["encode", "decode"]
    var checkC: String?
}

func fail(_ message: String) -> Never {
    print("error: \(message)")
    exit(1)
}

func parseOptions() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()
    func value(_ flag: String) -> String {
        guard let v = args.popFirst() else { fail("\(flag) needs a value") }
        return v
    }
    while let a = args.popFirst() {
        switch a {
        case "--smoke": o.smoke = true
        case "--only":
            let v = value(a)
            guard let s = Shape(rawValue: v) else { fail("unknown shape \(v)") }
            o.shapes = [s]
        case "--impl":
            let v = value(a)
            guard ["weft", "swift-protobuf"].contains(v) else { fail("unknown implementation \(v)") }
            o.impls = [v]
        case "--op":
            let v = value(a)
            guard ["encode", "decode"].contains(v) else { fail("unknown operation \(v)") }
            o.ops = [v]
        case "--check-c": o.checkC = value(a)
        default: fail("unknown argument \(a)")
        }
    }
    return o
}

// MARK: Timing

struct Stats {
    var median: Double
    var best: Double
    var iterations: Int
}

/// Times `body(n)` (which does n operations): calibrates n so that one batch takes about
/// `batchTime`, then runs `batches` timed batches. Returns ns/op.
func measure(batchTime: Duration, batches: Int, _ body: (Int) -> Int) -> Stats {
    let clock = ContinuousClock()
    func run(_ n: Int) -> Duration {
        let t0 = clock.now
        sink &+= body(n)
        return clock.now - t0
    }
    // Calibration (also the warm-up).
    var n = 1
    var t = run(n)
    while t < batchTime / 8 {
        n *= 2
        t = run(n)
    }
    let perOp = t / n
    n = max(1, Int((batchTime / perOp).rounded()))
    var times: [Double] = []
    for _ in 0..<batches {
        let d = run(n)
        let ns = Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9
        times.append(ns / Double(n))
    }
    times.sort()
    return Stats(median: times[times.count / 2], best: times[0], iterations: n)
}

// MARK: Main

let options = parseOptions()

// Correctness guard: each side's encoding decodes, with the other side's types, equal to the
// other side's message (and to its own).
for shape in Shape.allCases {
    let w = WeftShapes.bytes(shape)
    let s = SwiftProtobufShapes.bytes(shape)
    guard WeftShapes.decodesEqual(shape, w) else { fail("\(shape): Weft's encoding does not decode (Weft) to the original") }
    guard SwiftProtobufShapes.decodesEqual(shape, w) else { fail("\(shape): Weft's encoding does not decode (swift-protobuf) to the original") }
    guard WeftShapes.decodesEqual(shape, s) else { fail("\(shape): swift-protobuf's encoding does not decode (Weft) to the original") }
    guard SwiftProtobufShapes.decodesEqual(shape, s) else { fail("\(shape): swift-protobuf's encoding does not decode (swift-protobuf) to the original") }
    guard w.count == s.count else { fail("\(shape): encodings differ in size (Weft \(w.count), swift-protobuf \(s.count))") }
}
// protobuf-c's encodings (written by `c/bench --dump DIR`) must decode to the same messages.
if let dir = options.checkC {
    for shape in Shape.allCases {
        let path = "\(dir)/\(shape).bin"
        guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
        let bytes = [UInt8](data)
        guard WeftShapes.decodesEqual(shape, bytes) else { fail("\(shape): protobuf-c's encoding does not decode (Weft) to the original") }
        guard SwiftProtobufShapes.decodesEqual(shape, bytes) else { fail("\(shape): protobuf-c's encoding does not decode (swift-protobuf) to the original") }
    }
    print("check: protobuf-c's encodings decode equal to the Swift messages")
}
print("check: Weft and swift-protobuf encodings decode equal to the originals in both libraries")

let batchTime: Duration = options.smoke ? .milliseconds(1) : .milliseconds(30)
let batches = options.smoke ? 3 : 11

for shape in options.shapes {
    let size = WeftShapes.bytes(shape).count
    for impl in options.impls {
        let bytes = impl == "weft" ? WeftShapes.bytes(shape) : SwiftProtobufShapes.bytes(shape)
        if options.ops.contains("encode") {
            let enc = measure(batchTime: batchTime, batches: batches) { n in
                impl == "weft" ? WeftShapes.encode(shape, n) : SwiftProtobufShapes.encode(shape, n)
            }
            print("RESULT \(impl) \(shape) encode \(enc.median) \(enc.best) \(size) \(enc.iterations)")
        }
        if options.ops.contains("decode") {
            let dec = measure(batchTime: batchTime, batches: batches) { n in
                impl == "weft" ? WeftShapes.decode(shape, bytes, n) : SwiftProtobufShapes.decode(shape, bytes, n)
            }
            print("RESULT \(impl) \(shape) decode \(dec.median) \(dec.best) \(size) \(dec.iterations)")
        }
    }
}
if sink == 42 { print("") }  // Uses the sink.
