#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The header names the gRPC layers act on, recognised once from a name's bytes (length, then the
/// bytes), so that no layer compares or hashes header-name strings per call.
enum HeaderName: UInt8, Sendable {
    case method, path, status, otherPseudo
    case contentType, te, userAgent, contentLength, host, connection
    case grpcTimeout, grpcEncoding, grpcAcceptEncoding, grpcStatus, grpcMessage, grpcStatusDetailsBin
    /// Any other name: user metadata.
    case other

    /// Whether the header belongs to the protocol and never appears as user metadata.
    var isReserved: Bool { self != .other }

    /// Number of cases.
    static let count = Int(HeaderName.other.rawValue) + 1

    /// The name as a literal (no allocation), for every case that names one header.
    var literal: String? {
        switch self {
        case .method: ":method"
        case .path: ":path"
        case .status: ":status"
        case .contentType: "content-type"
        case .te: "te"
        case .userAgent: "user-agent"
        case .contentLength: "content-length"
        case .host: "host"
        case .connection: "connection"
        case .grpcTimeout: "grpc-timeout"
        case .grpcEncoding: "grpc-encoding"
        case .grpcAcceptEncoding: "grpc-accept-encoding"
        case .grpcStatus: "grpc-status"
        case .grpcMessage: "grpc-message"
        case .grpcStatusDetailsBin: "grpc-status-details-bin"
        case .otherPseudo, .other: nil
        }
    }

    /// Recognises a lower-case header name.
    init(_ name: UnsafeRawBufferPointer) {
        func equals(_ literal: StaticString) -> Bool {
            literal.utf8CodeUnitCount == name.count && name.baseAddress.map { memcmp(literal.utf8Start, $0, name.count) == 0 } == true
        }
        guard let first = name.first else { self = .other; return }
        if first == UInt8(ascii: ":") {
            switch name.count {
            case 5 where equals(":path"): self = .path
            case 7 where equals(":method"): self = .method
            case 7 where equals(":status"): self = .status
            default: self = .otherPseudo
            }
            return
        }
        switch name.count {
        case 2 where equals("te"): self = .te
        case 4 where equals("host"): self = .host
        case 10 where equals("user-agent"): self = .userAgent
        case 10 where equals("connection"): self = .connection
        case 11 where equals("grpc-status"): self = .grpcStatus
        case 12 where equals("content-type"): self = .contentType
        case 12 where equals("grpc-timeout"): self = .grpcTimeout
        case 12 where equals("grpc-message"): self = .grpcMessage
        case 13 where equals("grpc-encoding"): self = .grpcEncoding
        case 14 where equals("content-length"): self = .contentLength
        case 20 where equals("grpc-accept-encoding"): self = .grpcAcceptEncoding
        case 23 where equals("grpc-status-details-bin"): self = .grpcStatusDetailsBin
        default: self = .other
        }
    }

    /// Recognises a header name given as a String.
    init(_ name: String) {
        var name = name
        self = name.withUTF8 { HeaderName(UnsafeRawBufferPointer($0)) }
    }
}
