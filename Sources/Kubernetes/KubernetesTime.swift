import Gen
import WeftPodKit

/// Kubernetes' JSON time formats: `metav1.Time` (RFC 3339, whole seconds, UTC) and
/// `metav1.MicroTime` (six fractional digits, used by Leases and Events).
public enum KubernetesTime {
    /// `2026-01-02T03:04:05Z`.
    public static func format(_ t: Google_Protobuf_Timestamp) -> String {
        let full = RFC3339.format(unixNanos: t.seconds &* 1_000_000_000)
        return String(full.prefix(19)) + "Z"
    }

    /// `2026-01-02T03:04:05.123456Z`.
    public static func formatMicro(_ t: Google_Protobuf_Timestamp) -> String {
        let full = RFC3339.format(unixNanos: t.unixNanos)
        return String(full.prefix(26)) + "Z"
    }

    /// Parses either format (any RFC 3339 time) into a timestamp.
    public static func parse(_ text: String) -> Google_Protobuf_Timestamp? {
        RFC3339.parse(text).map { Google_Protobuf_Timestamp(unixNanos: $0) }
    }
}
