#if canImport(CMalloc)
import CMalloc
#endif

/// Process-wide settings for long-running servers (the copy tuning every command gets is
/// `WeftHTTP2.CopyTuning`).
enum ProcessTuning {
    /// Keeps freed memory in the process instead of returning it to the kernel after every burst:
    /// glibc's defaults trim the heap top and unmap large blocks eagerly, so a busy server pays page
    /// faults for memory it frees and takes again each request (measured: ~12% of unary CPU).
    static func forServer() {
        #if canImport(CMalloc)
        _ = mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024)
        _ = mallopt(M_TOP_PAD, 16 * 1024 * 1024)
        _ = mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024)
        #endif
    }
}
