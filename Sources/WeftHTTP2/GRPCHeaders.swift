import NIOCore
import WeftRPC

/// The gRPC-over-HTTP/2 header rules (grpc/grpc `doc/PROTOCOL-HTTP2.md`).
enum GRPCHeaders {
    /// `grpc-timeout` text: at most 8 digits and a unit (H, M, S, m, u, n).
    static func encodeTimeout(_ d: Duration) -> String {
        let (s, atto) = d.components
        let nanos = max(0, s) * 1_000_000_000 + max(0, atto) / 1_000_000_000
        var value = nanos
        for unit in ["n", "u", "m", "S", "M", "H"] {
            if value < 100_000_000 { return "\(value)\(unit)" }
            value = unit == "S" || unit == "M" ? (value + 59) / 60 : (value + 999) / 1000
        }
        return "99999999H"
    }

    /// Parses `grpc-timeout`; nil if malformed.
    static func decodeTimeout(_ s: String) -> Duration? {
        guard let unit = s.last, s.count >= 2, s.count <= 9, let value = Int64(s.dropLast()), value >= 0 else { return nil }
        switch unit {
        case "H": return .seconds(value * 3600)
        case "M": return .seconds(value * 60)
        case "S": return .seconds(value)
        case "m": return .milliseconds(value)
        case "u": return .microseconds(value)
        case "n": return .nanoseconds(value)
        default: return nil
        }
    }

    /// Percent-encodes `grpc-message` (RFC 3986 unreserved printable ASCII stays, `%` and the rest encoded).
    static func percentEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            if b >= 0x20 && b <= 0x7E && b != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                let hex = Array("0123456789ABCDEF")
                out.append("%"); out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 15)])
            }
        }
        return out
    }

    /// Decodes `grpc-message`; malformed escapes are kept as they are (as gRPC requires).
    static func percentDecode(_ s: String) -> String {
        let bytes = Array(s.utf8)
        var out: [UInt8] = []
        var i = 0
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case 0x30...0x39: b - 0x30
            case 0x41...0x46: b - 0x41 + 10
            case 0x61...0x66: b - 0x61 + 10
            default: nil
            }
        }
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Metadata → HTTP/2 headers (`-bin` values base64 without padding).
    static func headers(from metadata: Metadata) -> [HTTP2Header] {
        metadata.compactMap { e in
            if HeaderName(e.key).isReserved { return nil }
            switch e.value {
            case .string(let s): return HTTP2Header(e.key, s)
            case .binary(let b): return HTTP2Header(e.key, base64(b))
            }
        }
    }

    /// HTTP/2 headers → metadata (protocol headers left out, `-bin` values decoded; a comma-joined
    /// binary header becomes several values). Names arrive lower case: nghttp2 rejects others.
    static func metadata(from headers: [HTTP2Header]) -> Metadata {
        var m = Metadata()
        // By index: reading the headers in place, not copying each one out.
        for i in headers.indices where !headers[i].known.isReserved {
            let h = headers[i]
            if h.name.hasSuffix("-bin") {
                for part in h.value.split(separator: ",") {
                    if let bytes = unbase64(part.trimmingSpaces) { m.append(lowercasedKey: h.name, .binary(bytes)) }
                }
            } else {
                m.append(lowercasedKey: h.name, .string(h.value))
            }
        }
        return m
    }

    /// The status a client reports for a non-200 HTTP response (gRPC's mapping).
    static func code(forHTTPStatus status: Int) -> StatusCode {
        switch status {
        case 400: .internal
        case 401: .unauthenticated
        case 403: .permissionDenied
        case 404: .unimplemented
        case 429, 502, 503, 504: .unavailable
        default: .unknown
        }
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 2 < bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [table[Int(v >> 18 & 63)], table[Int(v >> 12 & 63)], table[Int(v >> 6 & 63)], table[Int(v & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let v = UInt32(bytes[i]) << 16
            out += [table[Int(v >> 18 & 63)], table[Int(v >> 12 & 63)]]
        } else if rest == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [table[Int(v >> 18 & 63)], table[Int(v >> 12 & 63)], table[Int(v >> 6 & 63)]]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64 with or without padding.
    static func unbase64<S: StringProtocol>(_ s: S) -> [UInt8]? {
        var out: [UInt8] = []
        var acc: UInt32 = 0
        var bits = 0
        for c in s.utf8 {
            let v: UInt32
            switch c {
            case 0x41...0x5A: v = UInt32(c - 0x41)
            case 0x61...0x7A: v = UInt32(c - 0x61 + 26)
            case 0x30...0x39: v = UInt32(c - 0x30 + 52)
            case UInt8(ascii: "+"), UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): v = 63
            case UInt8(ascii: "="): continue
            default: return nil
            }
            acc = acc << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        return out
    }
}

extension StringProtocol {
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
