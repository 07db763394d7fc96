#if canImport(Glibc)
import Glibc
#endif

/// glibc's copy routine on AMD x86-64, tuned for the large messages this transport moves.
///
/// Call ``reexecIfNeeded()`` first thing in `main` of a program that sends or receives large
/// messages (the `weft` executable and the RPC benchmark's client do).
public enum CopyTuning {
    /// The glibc tunable that `reexecIfNeeded()` sets, and the value it sets.
    public static let repMovsbTunable = "glibc.cpu.x86_rep_movsb_threshold"
    public static let repMovsbThreshold = 8 * 1024 * 1024

    /// On AMD x86-64, re-executes this program once with glibc's `rep movsb` threshold raised
    /// above every message size, so that `memcpy` of 2 KiB–8 MiB uses vector loops.
    ///
    /// Why: Debian 12's glibc (2.36) copies blocks from 2112 bytes up with `rep movsb` on CPUs that
    /// report fast `rep movsb` (AMD Zen 3 and later). There it runs about 20 times slower for some
    /// relative alignments of source and destination, e.g. a destination 16 bytes past a
    /// line-aligned source (measured on this project's EPYC VMs: 2.6 against 48 GB/s for 64 KiB).
    /// Which alignments a process gets depends on the state of its heap, so a long-running server
    /// streamed 64 KiB messages at half speed after it had served small ones. glibc reads tunables
    /// only at startup, hence the `exec`; the pid, arguments and open descriptors stay the same.
    ///
    /// Nothing happens when `GLIBC_TUNABLES` already names the threshold (set it to 2112, glibc's
    /// default there, to opt out), on other CPUs, or when `exec` fails.
    public static func reexecIfNeeded() {
        #if os(Linux) && arch(x86_64)
        let existing = getenv("GLIBC_TUNABLES").map { String(cString: $0) }
        if let existing, existing.contains(repMovsbTunable) { return }
        guard cpuVendorIsAMD() else { return }
        let setting = "\(repMovsbTunable)=\(repMovsbThreshold)"
        let tunables = existing.map { $0.isEmpty ? setting : "\($0):\(setting)" } ?? setting
        guard setenv("GLIBC_TUNABLES", tunables, 1) == 0 else { return }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Still here: exec failed. Run on with the default copies, and leave the environment as found.
        if let existing { setenv("GLIBC_TUNABLES", existing, 1) } else { unsetenv("GLIBC_TUNABLES") }
        #endif
    }

    /// Whether `/proc/cpuinfo` names AMD as the vendor (it does so in its first lines).
    private static func cpuVendorIsAMD() -> Bool {
        #if canImport(Glibc)
        let fd = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 256)
        let count = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return false }
        return String(decoding: head[..<count], as: UTF8.self).contains("AuthenticAMD")
        #else
        return false
        #endif
    }
}
