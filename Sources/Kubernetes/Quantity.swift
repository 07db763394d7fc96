/// Kubernetes resource quantities (`500m`, `2`, `1.5`, `128Mi`, `1G`, `1e9`).
public enum Quantity {
    /// Parses a quantity into its value times `scale` (1000 for CPU millis, 1 for bytes), rounded up.
    public static func parse(_ text: String, scale: Double) -> Int64? {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty else { return nil }
        let suffixes: [(String, Double)] = [
            ("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776), ("Pi", 1_125_899_906_842_624), ("Ei", 1_152_921_504_606_846_976),
            ("n", 1e-9), ("u", 1e-6), ("m", 1e-3), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15), ("E", 1e18),
        ]
        var number = Substring(s)
        var multiplier = 1.0
        for (suffix, m) in suffixes where s.hasSuffix(suffix) {
            number = s.dropLast(suffix.count)
            multiplier = m
            break
        }
        guard let value = Double(number), value >= 0, value.isFinite else { return nil }
        let result = (value * multiplier * scale).rounded(.up)
        guard result < 9.2e18 else { return nil }
        return Int64(result)
    }

    /// CPU millis as Kubernetes writes them: `2` for whole cores, `500m` otherwise.
    public static func formatCPU(millis: Int64) -> String { millis % 1000 == 0 ? String(millis / 1000) : "\(millis)m" }

    /// Bytes in the largest binary unit that divides them (`128Mi`), else plain bytes.
    public static func formatBytes(_ bytes: Int64) -> String {
        for (suffix, unit) in [("Ti", Int64(1) << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] where bytes >= unit && bytes % unit == 0 {
            return "\(bytes / unit)\(suffix)"
        }
        return String(bytes)
    }
}

import Foundation
