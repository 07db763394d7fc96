/// A gRPC status code (grpc/grpc `doc/statuscodes.md`).
public enum StatusCode: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Not an error.
    case ok = 0
    /// The operation was cancelled, typically by the caller.
    case cancelled = 1
    /// Unknown error, e.g. an error thrown by a handler that is not an ``RPCError``.
    case unknown = 2
    /// The client specified an invalid argument.
    case invalidArgument = 3
    /// The deadline expired before the operation could complete.
    case deadlineExceeded = 4
    /// Some requested entity was not found.
    case notFound = 5
    /// The entity a client attempted to create already exists.
    case alreadyExists = 6
    /// The caller lacks permission for the operation.
    case permissionDenied = 7
    /// Some resource (quota, message size, memory) has been exhausted.
    case resourceExhausted = 8
    /// The system is not in a state required for the operation.
    case failedPrecondition = 9
    /// The operation was aborted, typically due to a concurrency conflict.
    case aborted = 10
    /// The operation was attempted past the valid range.
    case outOfRange = 11
    /// The operation is not implemented or supported.
    case unimplemented = 12
    /// An internal invariant was broken.
    case `internal` = 13
    /// The service is currently unavailable; retrying may succeed.
    case unavailable = 14
    /// Unrecoverable data loss or corruption.
    case dataLoss = 15
    /// The request does not have valid authentication credentials.
    case unauthenticated = 16

    /// Maps a wire value; values outside 0...16 become `.unknown`, as gRPC specifies.
    public init(wireValue: Int) { self = StatusCode(rawValue: wireValue) ?? .unknown }

    /// The canonical upper-snake name (`DEADLINE_EXCEEDED`).
    public var description: String {
        switch self {
        case .ok: "OK"
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .aborted: "ABORTED"
        case .outOfRange: "OUT_OF_RANGE"
        case .unimplemented: "UNIMPLEMENTED"
        case .internal: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .dataLoss: "DATA_LOSS"
        case .unauthenticated: "UNAUTHENTICATED"
        }
    }
}

/// The outcome of a call: a code and a human-readable message.
public struct RPCStatus: Sendable, Hashable, CustomStringConvertible {
    /// The code.
    public var code: StatusCode
    /// A developer-facing message; may be empty.
    public var message: String

    /// Creates a status.
    public init(code: StatusCode, message: String = "") {
        self.code = code
        self.message = message
    }

    /// `OK` with no message.
    public static let ok = RPCStatus(code: .ok)

    public var description: String { message.isEmpty ? "\(code)" : "\(code): \(message)" }
}

/// A failed call: the error every Weft client and server throws for a non-OK status.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The status code; never `.ok`.
    public var code: StatusCode
    /// The status message.
    public var message: String
    /// Trailing metadata that came with (or is to be sent with) the status.
    public var metadata: Metadata

    /// Creates an error.
    public init(code: StatusCode, message: String, metadata: Metadata = [:]) {
        self.code = code
        self.message = message
        self.metadata = metadata
    }

    /// The error as a status.
    public var status: RPCStatus { RPCStatus(code: code, message: message) }

    public var description: String { "\(code): \(message)" }

    /// Wraps any error: an `RPCError` stays itself, cancellation becomes `CANCELLED`, anything else
    /// `UNKNOWN` with the error's description (gRPC's rule for application errors).
    public init(wrapping error: any Error) {
        if let e = error as? RPCError {
            self = e
        } else if error is CancellationError {
            self.init(code: .cancelled, message: "The call was cancelled")
        } else {
            self.init(code: .unknown, message: String(describing: error))
        }
    }
}
