// rpc-bench-client: server-streaming throughput over Weft's HTTP/2 client.
//
//   rpc-bench-client --port P [--host H] --count N --size S [--repeat R]
//   rpc-bench-client --port P --check [--size S]
//
// --check: one UnaryCall asking for S (default 16) payload bytes; exits 0 and prints OK only if it
// returned status OK with that payload.
//
// Makes one StreamingOutputCall asking for N responses of S payload bytes each, R times (after one
// short warm-up call on the same connection), and prints one line per timed call:
//   RESULT client=weft messages=N bytes=B seconds=T msgs_per_s=... mb_per_s=...
// (MB = 10^6 bytes of payload body). Exits 1 if a call fails or returns the wrong count or sizes.
import Foundation
import Gen
import WeftHTTP2
import WeftRPC

func usage(_ problem: String) -> Never {
    FileHandle.standardError.write(Data("rpc-bench-client: \(problem)\nusage: rpc-bench-client --port P [--host H] (--count N --size S [--repeat R] | --check [--size S])\n".utf8))
    exit(2)
}

/// The value of `--name`, or `fallback`; a missing required option or a non-number is a usage error.
func option(_ name: String, _ fallback: String?) -> String {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: name), i + 1 < args.count { return args[i + 1] }
    guard let fallback else { usage("missing \(name)") }
    return fallback
}

func number(_ name: String, _ fallback: String?) -> Int {
    let text = option(name, fallback)
    guard let n = Int(text), n >= 0 else { usage("\(name) must be a non-negative integer, got \"\(text)\"") }
    return n
}

CopyTuning.reexecIfNeeded()
let host = option("--host", "127.0.0.1")
let port = number("--port", nil)
let count = number("--count", "20000")
let size = number("--size", "100")
let repeats = number("--repeat", "3")

func request(count: Int, size: Int) -> Grpc_Testing_StreamingOutputCallRequest {
    var r = Grpc_Testing_StreamingOutputCallRequest()
    var p = Grpc_Testing_ResponseParameters()
    p.size = Int32(size)
    r.responseParameters = Array(repeating: p, count: count)
    return r
}

let transport = try HTTP2ClientTransport(target: .tcp(host: host, port: port))
let client = Grpc_Testing_TestService.Client(transport: transport)

/// One call; returns (messages, payload bytes) after checking every message's size.
func run(_ req: Grpc_Testing_StreamingOutputCallRequest, size: Int) async throws -> (Int, Int) {
    try await client.streamingOutputCall(req) { stream in
        var n = 0, bytes = 0
        for try await m in stream {
            let c = m.payload.body.count
            if c != size { throw RPCError(code: .internal, message: "message \(n) has \(c) bytes, expected \(size)") }
            n += 1
            bytes += c
        }
        return (n, bytes)
    }
}

do {
    if CommandLine.arguments.contains("--check") {
        var r = Grpc_Testing_SimpleRequest()
        r.responseSize = Int32(clamping: number("--size", "16"))
        let resp = try await client.unaryCall(r)
        guard resp.payload.body.count == Int(r.responseSize) else {
            throw RPCError(code: .internal, message: "payload \(resp.payload.body.count) bytes, expected \(r.responseSize)")
        }
        print("OK client=weft unary payload=\(resp.payload.body.count)")
        await transport.close()
        exit(0)
    }
    _ = try await run(request(count: min(count, 100), size: size), size: size)  // connect + warm up
    let req = request(count: count, size: size)
    for _ in 0..<repeats {
        let start = ContinuousClock.now
        let (n, bytes) = try await run(req, size: size)
        let d = ContinuousClock.now - start
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        guard n == count else { throw RPCError(code: .internal, message: "got \(n) messages, expected \(count)") }
        print("RESULT client=weft messages=\(n) bytes=\(bytes) seconds=\(String(format: "%.4f", s)) msgs_per_s=\(Int(Double(n) / s)) mb_per_s=\(String(format: "%.1f", Double(bytes) / s / 1e6))")
    }
    await transport.close()
} catch {
    FileHandle.standardError.write(Data("rpc-bench-client: \(error)\n".utf8))
    await transport.close()
    exit(1)
}
