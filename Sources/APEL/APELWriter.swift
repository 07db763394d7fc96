import Gen

/// Writes records as APEL messages.
public enum APELWriter {
    /// Writes records as APEL messages of `format` (header line, "Key: Value" lines, "%%" after each record), at most `recordsPerMessage` records each. Supports at least: job v0.3/v0.4, summary v0.2/v0.4, normalised summary v0.3/v0.4, sync v0.1, cloud v0.4, cloud summary v0.4, and StAR XML and accelerator JSON if time allows.
    ///
    /// All of those are written, StAR and accelerator JSON included. Records of another kind than
    /// `format` are left out. With `.unspecified`, each record goes in its own `format`, or the
    /// newest format of its kind when that is unset too, and messages are grouped per format in
    /// the order formats first appear. No records, no messages.
    public static func write(
        _ records: [Weft_Accounting_V1_UsageRecord], format: Weft_Accounting_V1_ApelFormat, recordsPerMessage: Int = 1000
    ) -> [String] {
        let perMessage = max(1, recordsPerMessage)
        guard format == .unspecified || format.isKnown else { return [] }
        if format != .unspecified {
            let matching = records.filter { kindMatches($0, format) }
            return stride(from: 0, to: matching.count, by: perMessage).map {
                message(Array(matching[$0..<min($0 + perMessage, matching.count)]), format: format)
            }
        }
        var order: [Weft_Accounting_V1_ApelFormat] = []
        var groups: [Int32: [Weft_Accounting_V1_UsageRecord]] = [:]
        for record in records {
            let chosen = kindMatches(record, record.format) ? record.format : newest(record)
            guard let chosen else { continue }
            if groups[chosen.rawValue] == nil { order.append(chosen) }
            groups[chosen.rawValue, default: []].append(record)
        }
        return order.flatMap { write(groups[$0.rawValue] ?? [], format: $0, recordsPerMessage: perMessage) }
    }

    private static func message(_ records: [Weft_Accounting_V1_UsageRecord], format: Weft_Accounting_V1_ApelFormat) -> String {
        switch format {
        case .star:
            return StarXML.encode(records.compactMap { if case .storage(let s) = $0.record { s } else { nil } })
        case .acceleratorV01:
            return AcceleratorJSON.encode(records.compactMap { if case .accelerator(let a) = $0.record { a } else { nil } })
        default:
            // Header, then each record followed by "%%", as APEL's unloader writes them.
            var text = (TextCodec.header(format) ?? "") + "\n"
            for record in records { text += (TextCodec.encode(record, format: format) ?? "") + "%%\n" }
            return text
        }
    }

    private static func kindMatches(_ record: Weft_Accounting_V1_UsageRecord, _ format: Weft_Accounting_V1_ApelFormat) -> Bool {
        switch (record.record, format) {
        case (.job, .jobV03), (.job, .jobV04), (.summary, .summaryV02), (.summary, .summaryV04),
            (.normalisedSummary, .normalisedSummaryV03), (.normalisedSummary, .normalisedSummaryV04), (.sync, .syncV01),
            (.cloud, .cloudV04), (.cloudSummary, .cloudSummaryV04), (.storage, .star), (.accelerator, .acceleratorV01):
            return true
        default:
            return false
        }
    }

    private static func newest(_ record: Weft_Accounting_V1_UsageRecord) -> Weft_Accounting_V1_ApelFormat? {
        switch record.record {
        case nil: return nil
        case .job: return .jobV04
        case .summary: return .summaryV04
        case .normalisedSummary: return .normalisedSummaryV04
        case .sync: return .syncV01
        case .cloud: return .cloudV04
        case .cloudSummary: return .cloudSummaryV04
        case .storage: return .star
        case .accelerator: return .acceleratorV01
        }
    }
}

extension Weft_Accounting_V1_ApelFormat {
    /// Whether this is one of the formats of records.proto (not UNRECOGNIZED or unspecified).
    var isKnown: Bool {
        if case .UNRECOGNIZED = self { return false }
        return self != .unspecified
    }
}
