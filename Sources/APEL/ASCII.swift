/// Byte-level helpers of the ASCII fast paths (APEL's text is ASCII in practice). Each gives, on
/// ASCII input, what the String/Foundation operation of the general path gives.
enum ASCII {
    /// Space or tab: the ASCII members of `CharacterSet.whitespaces`.
    @inline(__always) static func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

    /// `range` without the blanks at either end.
    static func trimmed(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Range<Int> {
        var start = range.lowerBound
        var end = range.upperBound
        while start < end, isBlank(b[start]) { start += 1 }
        while end > start, isBlank(b[end - 1]) { end -= 1 }
        return start..<end
    }

    /// `c` lowercased, if it is an ASCII capital.
    @inline(__always) static func lowered(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c + 0x20 : c }

    /// Whether `b[range]` is `lowercase` in any ASCII case.
    static func equalsIgnoringCase(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ lowercase: StaticString) -> Bool {
        guard range.count == lowercase.utf8CodeUnitCount else { return false }
        let p = lowercase.utf8Start
        for (i, at) in range.enumerated() where lowered(b[at]) != p[i] { return false }
        return true
    }

    /// Whether `b[range]` is one of APEL's null words, "none" or "null", in any case.
    static func isNullWord(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        equalsIgnoringCase(b, range, "none") || equalsIgnoringCase(b, range, "null")
    }
}
