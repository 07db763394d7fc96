import Gen

/// Why one field of one record could not be read.
struct FieldError: Error {
    var field: String
    var reason: String
    var line: Int?
}

/// The keys a text record may carry, in APEL's writing order (`_msg_fields`), and which of them
/// APEL requires (`_mandatory_fields`) or accepts and ignores (`_ignored_fields`).
struct TextSchema: Sendable {
    var keys: [String]
    var mandatory: [String]
    var ignored: [String] = []

    /// Refuses unknown keys and absent or null mandatory keys.
    func check(_ record: TextMessage.Record) throws(FieldError) {
        let fields = record.fields
        // Fields are in line order; the first unknown one (by line) is reported. Records usually
        // list keys in schema order, so the search for each key starts after the previous match.
        var hint = 0
        for i in 0..<fields.count {
            let key = fields.keys[i]
            if hint < keys.count, keys[hint] == key {
                hint += 1
                continue
            }
            if let k = keys.firstIndex(of: key) {
                hint = k + 1
                continue
            }
            if !ignored.contains(key) { throw FieldError(field: key, reason: "unknown field", line: fields.values[i].line) }
        }
        hint = 0
        for key in mandatory {
            let index = fields.index(of: key, hint: hint)
            guard let index, !TextValue.isNull(fields.values[index].value) else {
                throw FieldError(field: key, reason: "missing mandatory field", line: index.map { fields.values[$0].line } ?? record.line)
            }
            hint = index + 1
        }
    }
}

/// Typed access to the fields of one text record; nulls read as absent.
struct FieldReader {
    var record: TextMessage.Record
    /// Where the next lookup starts: decoders read keys in the order messages list them.
    private let cursor = Cursor()

    final class Cursor { var next = 0 }

    init(record: TextMessage.Record) { self.record = record }

    /// The value of `key`, nil when absent or null.
    func raw(_ key: String) -> TextMessage.Field? {
        guard let index = record.fields.index(of: key, hint: cursor.next) else { return nil }
        cursor.next = index + 1
        let field = record.fields.values[index]
        return TextValue.isNull(field.value) ? nil : field
    }

    func string(_ key: String) -> String { raw(key)?.value ?? "" }

    func read<T>(_ key: String, _ parse: (String) -> Result<T, ValueError>) throws(FieldError) -> T? {
        guard let field = raw(key) else { return nil }
        switch parse(field.value) {
        case .success(let v): return v
        case .failure(let e): throw FieldError(field: key, reason: e.reason, line: field.line)
        }
    }

    func int64(_ key: String) throws(FieldError) -> Int64 { try read(key, TextValue.int64) ?? 0 }
    func int32(_ key: String) throws(FieldError) -> Int32 { try read(key, TextValue.int32) ?? 0 }
    func double(_ key: String) throws(FieldError) -> Double { try read(key, TextValue.double) ?? 0 }
    func time(_ key: String) throws(FieldError) -> Google_Protobuf_Timestamp? { try read(key, TextValue.time) }
    func duration(_ key: String) throws(FieldError) -> Google_Protobuf_Duration? {
        try read(key, TextValue.int64).map(EpochTime.duration)
    }

    /// A v0.4 map of benchmark type to value.
    func map<V>(_ key: String, _ value: @escaping (String) -> Result<V, ValueError>) throws(FieldError) -> [String: V] {
        let pairs = try read(key) { TextValue.map($0, value: value) } ?? []
        return Dictionary(pairs, uniquingKeysWith: { a, _ in a })
    }

    /// v0.3 "ServiceLevelType" and "ServiceLevel": both or neither (APEL's `_check_factor`).
    func serviceLevel() throws(FieldError) -> [String: Double] {
        let type = raw("ServiceLevelType")
        let value = try read("ServiceLevel", TextValue.double)
        switch (type, value) {
        case (nil, nil): return [:]
        case (let t?, let v?): return [t.value: v]
        case (let t?, nil): throw FieldError(field: "ServiceLevel", reason: "ServiceLevelType given without ServiceLevel", line: t.line)
        case (nil, _): throw FieldError(field: "ServiceLevelType", reason: "ServiceLevel given without ServiceLevelType", line: raw("ServiceLevel")?.line)
        }
    }
}

/// Builds the "Key: Value" lines of one record; empty values are left out, as APEL does.
struct LineWriter {
    var text = ""

    mutating func put(_ key: String, _ value: String) {
        if !value.isEmpty { text += "\(key): \(value)\n" }
    }

    /// Optional integers: zero means "not reported" in the protobuf record and is left out.
    mutating func optional<I: BinaryInteger>(_ key: String, _ value: I) { if value != 0 { put(key, "\(value)") } }
    mutating func optional(_ key: String, _ value: Double) { if value != 0 { put(key, TextValue.format(value)) } }
    mutating func time(_ key: String, _ t: Google_Protobuf_Timestamp, _ present: Bool) { if present { put(key, "\(t.seconds)") } }
    mutating func duration(_ key: String, _ d: Google_Protobuf_Duration, _ present: Bool) { if present { put(key, "\(d.seconds)") } }

    /// A v0.4 map, known benchmark types first in APEL's priority order.
    mutating func map(_ key: String, _ entries: [String: String]) {
        guard !entries.isEmpty else { return }
        let ordered = entries.keys.sorted { a, b in
            let ia = Normalisation.priority.firstIndex(of: a) ?? Int.max
            let ib = Normalisation.priority.firstIndex(of: b) ?? Int.max
            return ia != ib ? ia < ib : a < b
        }
        put(key, "{" + ordered.map { "\($0): \(entries[$0] ?? "")" }.joined(separator: ", ") + "}")
    }
}
