import Foundation
import Gen
import WeftRPC

/// `grpc.testing.TestService` as grpc/grpc `doc/interop-test-descriptions.md` specifies the server:
/// payloads of the requested sizes, echoed metadata, requested statuses, per-message compression,
/// and checks of `expect_compressed`.
public struct InteropTestService: Grpc_Testing_TestService.ServiceProtocol {
    static let echoInitial = "x-grpc-test-echo-initial"
    static let echoTrailing = "x-grpc-test-echo-trailing-bin"

    /// Creates the service.
    public init() {}

    static func payload(size: Int32) throws -> Grpc_Testing_Payload {
        guard size >= 0 else { throw RPCError(code: .invalidArgument, message: "Negative payload size \(size)") }
        guard size <= 64 * 1024 * 1024 else { throw RPCError(code: .invalidArgument, message: "Payload size \(size) is too large") }
        var p = Grpc_Testing_Payload()
        p.type = .compressable
        p.body = Data(count: Int(size))
        return p
    }

    /// Echoes the interop metadata keys into the response's initial and trailing metadata.
    static func echoMetadata(_ context: ServerContext) {
        if let v = context.requestMetadata.first(echoInitial) {
            var m = context.response.initial
            m.addString(v, forKey: echoInitial)
            context.response.initial = m
        }
        for v in context.requestMetadata[binaryValues: echoTrailing] {
            var m = context.response.trailing
            m.addBinary(v, forKey: echoTrailing)
            context.response.trailing = m
        }
    }

    static func check(_ status: Grpc_Testing_EchoStatus?) throws {
        guard let status, status.code != 0 else { return }
        throw RPCError(code: StatusCode(wireValue: Int(status.code)), message: status.message)
    }

    static func checkCompression(expected: Grpc_Testing_BoolValue?, context: ServerContext) throws {
        guard let expected, expected.value else { return }
        guard context.response.requestCompressed else {
            throw RPCError(code: .invalidArgument, message: "Expected a compressed request message")
        }
    }

    public func emptyCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        Grpc_Testing_Empty()
    }

    public func unaryCall(request: Grpc_Testing_SimpleRequest, context: ServerContext) async throws -> Grpc_Testing_SimpleResponse {
        Self.echoMetadata(context)
        try Self.checkCompression(expected: request.hasExpectCompressed ? request.expectCompressed : nil, context: context)
        try Self.check(request.hasResponseStatus ? request.responseStatus : nil)
        if request.hasResponseCompressed, request.responseCompressed.value { context.response.compression = "gzip" }
        var r = Grpc_Testing_SimpleResponse()
        r.payload = try Self.payload(size: request.responseSize)
        return r
    }

    public func cacheableUnaryCall(request: Grpc_Testing_SimpleRequest, context: ServerContext) async throws -> Grpc_Testing_SimpleResponse {
        try await unaryCall(request: request, context: context)
    }

    static func respond(_ request: Grpc_Testing_StreamingOutputCallRequest, responses: RPCWriter<Grpc_Testing_StreamingOutputCallResponse>, context: ServerContext) async throws {
        if request.responseParameters.contains(where: { $0.hasCompressed && $0.compressed.value }) {
            context.response.compression = "gzip"
        }
        for p in request.responseParameters {
            if p.intervalUs > 0 { try await Task.sleep(for: .microseconds(Int64(p.intervalUs))) }
            var r = Grpc_Testing_StreamingOutputCallResponse()
            r.payload = try payload(size: p.size)
            try await responses.write(r, options: WriteOptions(compress: p.hasCompressed && p.compressed.value))
        }
    }

    public func streamingOutputCall(request: Grpc_Testing_StreamingOutputCallRequest, responses: RPCWriter<Grpc_Testing_StreamingOutputCallResponse>, context: ServerContext) async throws {
        Self.echoMetadata(context)
        try await Self.respond(request, responses: responses, context: context)
        try Self.check(request.hasResponseStatus ? request.responseStatus : nil)
    }

    public func streamingInputCall(requests: RPCAsyncSequence<Grpc_Testing_StreamingInputCallRequest>, context: ServerContext) async throws -> Grpc_Testing_StreamingInputCallResponse {
        var total: Int32 = 0
        for try await r in requests {
            try Self.checkCompression(expected: r.hasExpectCompressed ? r.expectCompressed : nil, context: context)
            total += Int32(r.payload.body.count)
        }
        var response = Grpc_Testing_StreamingInputCallResponse()
        response.aggregatedPayloadSize = total
        return response
    }

    public func fullDuplexCall(requests: RPCAsyncSequence<Grpc_Testing_StreamingOutputCallRequest>, responses: RPCWriter<Grpc_Testing_StreamingOutputCallResponse>, context: ServerContext) async throws {
        Self.echoMetadata(context)
        for try await r in requests {
            try Self.check(r.hasResponseStatus ? r.responseStatus : nil)
            try await Self.respond(r, responses: responses, context: context)
        }
    }

    public func halfDuplexCall(requests: RPCAsyncSequence<Grpc_Testing_StreamingOutputCallRequest>, responses: RPCWriter<Grpc_Testing_StreamingOutputCallResponse>, context: ServerContext) async throws {
        Self.echoMetadata(context)
        let all = try await requests.collect()
        for r in all {
            try Self.check(r.hasResponseStatus ? r.responseStatus : nil)
            try await Self.respond(r, responses: responses, context: context)
        }
    }

    public func unimplementedCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        throw RPCError(code: .unimplemented, message: "UnimplementedCall is not implemented, on purpose")
    }
}
