// Decoding and formatting of literals the way protoc does: string escapes, integer bases, and the
// textual forms protoc writes into `default_value` (`SimpleDtoa`/`SimpleFtoa`, C escaping).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Literal helpers; all functions are pure.
enum Literals {
    /// Decodes a string token (quotes included) into bytes, resolving C escapes.
    static func decodeString(_ token: String) -> [UInt8] {
        let b = Array(token.utf8)
        guard b.count >= 1 else { return [] }
        var out: [UInt8] = []
        let quote = b[0]
        var i = 1
        let endIndex = (b.count >= 2 && b[b.count - 1] == quote) ? b.count - 1 : b.count
        func hexValue(_ c: UInt8) -> UInt32? {
            switch c {
            case 48...57: return UInt32(c - 48)
            case 97...102: return UInt32(c - 87)
            case 65...70: return UInt32(c - 55)
            default: return nil
            }
        }
        while i < endIndex {
            let c = b[i]
            guard c == UInt8(ascii: "\\"), i + 1 < endIndex else { out.append(c); i += 1; continue }
            i += 1
            let e = b[i]
            if e >= 48 && e <= 55 {
                var v = UInt32(e - 48); i += 1
                var n = 1
                while n < 3, i < endIndex, b[i] >= 48, b[i] <= 55 { v = v * 8 + UInt32(b[i] - 48); i += 1; n += 1 }
                out.append(UInt8(truncatingIfNeeded: v))
            } else if e == UInt8(ascii: "x") || e == UInt8(ascii: "X") {
                i += 1
                var v: UInt32 = 0
                var n = 0
                while n < 2, i < endIndex, let h = hexValue(b[i]) { v = v * 16 + h; i += 1; n += 1 }
                out.append(UInt8(truncatingIfNeeded: v))
            } else if e == UInt8(ascii: "u") || e == UInt8(ascii: "U") {
                let digits = e == UInt8(ascii: "u") ? 4 : 8
                var v: UInt32 = 0
                var j = i + 1
                var ok = true
                for _ in 0..<digits {
                    guard j < endIndex, let h = hexValue(b[j]) else { ok = false; break }
                    v = v * 16 + h; j += 1
                }
                // A high surrogate followed by an escaped low surrogate forms one code point.
                if ok, digits == 4, (0xD800...0xDBFF).contains(v), j + 1 < endIndex,
                   b[j] == UInt8(ascii: "\\"), b[j + 1] == UInt8(ascii: "u") {
                    var low: UInt32 = 0
                    var k = j + 2
                    var lowOK = true
                    for _ in 0..<4 {
                        guard k < endIndex, let h = hexValue(b[k]) else { lowOK = false; break }
                        low = low * 16 + h; k += 1
                    }
                    if lowOK, (0xDC00...0xDFFF).contains(low) {
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                        j = k
                    }
                }
                if ok, v <= 0x10FFFF {
                    appendUTF8(v, to: &out)
                    i = j
                } else {
                    out.append(UInt8(ascii: "\\")); out.append(e); i += 1
                }
            } else {
                switch e {
                case UInt8(ascii: "a"): out.append(7)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "v"): out.append(11)
                default: out.append(e)
                }
                i += 1
            }
        }
        return out
    }

    private static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80: out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (v >> 6))); out.append(UInt8(0x80 | (v & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (v >> 12))); out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (v >> 18))); out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F))); out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    /// Parses an integer token (decimal, `0x` hex or leading-zero octal); nil when above `max`.
    static func parseInteger(_ text: String, max: UInt64) -> UInt64? {
        var digits = Substring(text)
        var base: UInt64 = 10
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            base = 16; digits = digits.dropFirst(2)
        } else if digits.hasPrefix("0") && digits.count > 1 {
            base = 8; digits = digits.dropFirst()
        }
        var value: UInt64 = 0
        for ch in digits {
            guard let d = ch.hexDigitValue, UInt64(d) < base else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: base)
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            value = s
        }
        return value <= max ? value : nil
    }

    /// Parses a float token as C's `strtod` does (a trailing `f` is ignored).
    static func parseFloat(_ text: String) -> Double {
        text.withCString { strtod($0, nil) }
    }

    /// protoc's `SimpleDtoa`: `%.15g`, or `%.17g` when that does not round-trip.
    static func formatDouble(_ v: Double) -> String {
        if v == .infinity { return "inf" }
        if v == -.infinity { return "-inf" }
        if v.isNaN { return "nan" }
        let short = String(format: "%.15g", v)
        if parseFloat(short) == v { return short }
        return String(format: "%.17g", v)
    }

    /// protoc's `SimpleFtoa`: `%.6g`, or `%.9g` when that does not round-trip.
    static func formatFloat(_ v: Float) -> String {
        if v == .infinity { return "inf" }
        if v == -.infinity { return "-inf" }
        if v.isNaN { return "nan" }
        let short = String(format: "%.6g", Double(v))
        if short.withCString({ strtof($0, nil) }) == v { return short }
        return String(format: "%.9g", Double(v))
    }

    /// protoc's `CEscape`: printable ASCII stays, common escapes, everything else as 3-digit octal.
    static func cEscape(_ bytes: [UInt8]) -> String {
        var out = ""
        for c in bytes {
            switch c {
            case 10: out += "\\n"
            case 13: out += "\\r"
            case 9: out += "\\t"
            case 34: out += "\\\""
            case 39: out += "\\'"
            case 92: out += "\\\\"
            case 32..<127: out.unicodeScalars.append(Unicode.Scalar(c))
            default:
                let o = String(c, radix: 8)
                out += "\\" + String(repeating: "0", count: 3 - o.count) + o
            }
        }
        return out
    }

    /// protoc's `ToJsonName`: drops underscores and upper-cases the letter after each one.
    static func jsonName(_ name: String) -> String {
        var out = ""
        var capitalizeNext = false
        for ch in name {
            if ch == "_" {
                capitalizeNext = true
            } else if capitalizeNext {
                out += ch.isASCII ? ch.uppercased() : String(ch)
                capitalizeNext = false
            } else {
                out.append(ch)
            }
        }
        return out
    }

    /// protoc's map entry name: `foo_bar` → `FooBarEntry`.
    static func mapEntryName(_ field: String) -> String {
        var out = ""
        var capitalizeNext = true
        for ch in field {
            if ch == "_" {
                capitalizeNext = true
            } else if capitalizeNext {
                out += ch.isASCII ? ch.uppercased() : String(ch)
                capitalizeNext = false
            } else {
                out.append(ch)
            }
        }
        return out + "Entry"
    }
}
