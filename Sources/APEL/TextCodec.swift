import Gen

/// The APEL text formats: which header names which format, and reading and writing records of each.
enum TextCodec {
    /// The header a format is written with (APEL's `apel/db/__init__.py`); nil for non-text formats.
    static func header(_ format: Weft_Accounting_V1_ApelFormat) -> String? {
        switch format {
        case .jobV03: return "APEL-individual-job-message: v0.3"
        case .jobV04: return "APEL-individual-job-message: v0.4"
        case .summaryV02: return "APEL-summary-job-message: v0.2"
        case .summaryV04: return "APEL-summary-job-message: v0.4"
        // APEL's normalised v0.3 header really is the summary one with version v0.3.
        case .normalisedSummaryV03: return "APEL-summary-job-message: v0.3"
        case .normalisedSummaryV04: return "APEL-normalised-summary-message: v0.4"
        case .syncV01: return "APEL-sync-message: v0.1"
        case .cloudV04: return "APEL-cloud-message: v0.4"
        case .cloudSummaryV04: return "APEL-cloud-summary-message: v0.4"
        default: return nil
        }
    }

    /// The format a header line names, or nil. Like APEL's record factory the type is compared
    /// exactly and the version after the colon decides the variant; older individual job versions
    /// (v0.1, v0.2) read as v0.3, as APEL reads them.
    static func format(ofHeader line: String) -> Weft_Accounting_V1_ApelFormat? {
        guard let colon = line.firstIndex(of: ":") else { return nil }
        let type = line[..<colon].trimmingCharacters(in: .whitespaces)
        let version = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        switch (type, version) {
        case ("APEL-individual-job-message", "v0.1"), ("APEL-individual-job-message", "v0.2"),
            ("APEL-individual-job-message", "v0.3"):
            return .jobV03
        case ("APEL-individual-job-message", "v0.4"): return .jobV04
        case ("APEL-summary-job-message", "v0.2"): return .summaryV02
        case ("APEL-summary-job-message", "v0.3"), ("APEL-normalised-summary-message", "v0.3"): return .normalisedSummaryV03
        case ("APEL-summary-job-message", "v0.4"): return .summaryV04
        case ("APEL-normalised-summary-message", "v0.4"): return .normalisedSummaryV04
        case ("APEL-sync-message", "v0.1"): return .syncV01
        case ("APEL-cloud-message", "v0.4"): return .cloudV04
        case ("APEL-cloud-summary-message", "v0.4"): return .cloudSummaryV04
        default: return nil
        }
    }

    static func schema(_ format: Weft_Accounting_V1_ApelFormat) -> TextSchema? {
        switch format {
        case .jobV03: return Schemas.jobV03
        case .jobV04: return Schemas.jobV04
        case .summaryV02: return Schemas.summaryV02
        case .summaryV04: return Schemas.summaryV04
        case .normalisedSummaryV03: return Schemas.normalisedSummaryV03
        case .normalisedSummaryV04: return Schemas.normalisedSummaryV04
        case .syncV01: return SyncFormat.schema
        case .cloudV04: return CloudFormat.schema
        case .cloudSummaryV04: return CloudSummaryFormat.schema
        default: return nil
        }
    }

    /// The schemas, built once rather than for every record.
    private enum Schemas {
        static let jobV03 = JobFormat.schema(v04: false)
        static let jobV04 = JobFormat.schema(v04: true)
        static let summaryV02 = SummaryFormat.schema(v04: false)
        static let summaryV04 = SummaryFormat.schema(v04: true)
        static let normalisedSummaryV03 = NormalisedSummaryFormat.schema(v04: false)
        static let normalisedSummaryV04 = NormalisedSummaryFormat.schema(v04: true)
    }

    /// Reads one lexed record of a text format.
    static func decode(_ record: TextMessage.Record, format: Weft_Accounting_V1_ApelFormat) throws(FieldError) -> Weft_Accounting_V1_UsageRecord {
        guard let schema = schema(format) else { throw FieldError(field: "", reason: "not a text format", line: record.line) }
        try schema.check(record)
        let r = FieldReader(record: record)
        var out = Weft_Accounting_V1_UsageRecord()
        out.format = format
        switch format {
        case .jobV03, .jobV04: out.record = .job(try JobFormat.decode(r, v04: format == .jobV04))
        case .summaryV02, .summaryV04: out.record = .summary(try SummaryFormat.decode(r, v04: format == .summaryV04))
        case .normalisedSummaryV03, .normalisedSummaryV04:
            out.record = .normalisedSummary(try NormalisedSummaryFormat.decode(r, v04: format == .normalisedSummaryV04))
        case .syncV01: out.record = .sync(try SyncFormat.decode(r))
        case .cloudV04: out.record = .cloud(try CloudFormat.decode(r))
        case .cloudSummaryV04: out.record = .cloudSummary(try CloudSummaryFormat.decode(r))
        default: break
        }
        return out
    }

    /// The "Key: Value" lines of a record in a text format, or nil when the record is of another kind.
    static func encode(_ record: Weft_Accounting_V1_UsageRecord, format: Weft_Accounting_V1_ApelFormat) -> String? {
        switch (record.record, format) {
        case (.job(let j), .jobV03), (.job(let j), .jobV04): return JobFormat.encode(j, v04: format == .jobV04)
        case (.summary(let s), .summaryV02), (.summary(let s), .summaryV04): return SummaryFormat.encode(s, v04: format == .summaryV04)
        case (.normalisedSummary(let s), .normalisedSummaryV03), (.normalisedSummary(let s), .normalisedSummaryV04):
            return NormalisedSummaryFormat.encode(s, v04: format == .normalisedSummaryV04)
        case (.sync(let s), .syncV01): return SyncFormat.encode(s)
        case (.cloud(let c), .cloudV04): return CloudFormat.encode(c)
        case (.cloudSummary(let s), .cloudSummaryV04): return CloudSummaryFormat.encode(s)
        default: return nil
        }
    }
}
