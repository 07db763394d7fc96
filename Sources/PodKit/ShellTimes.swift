/// The output of the shell builtin `times`, which sidecars use to learn the CPU time of what a
/// container ran when the kernel cannot tell them (bubblewrap's init and Slurm jobs hide it).
public enum ShellTimes {
    /// User plus system seconds of the children line of `times` output (the last line:
    /// `"0m2.480000s 0m0.004000s"`; bash and dash both print minutes and seconds); nil when the
    /// text is not in that form.
    public static func childrenCPUSeconds(_ text: String) -> Double? {
        guard let line = text.split(whereSeparator: \.isNewline).last else { return nil }
        let fields = line.split(whereSeparator: \.isWhitespace)
        guard fields.count == 2 else { return nil }
        var total = 0.0
        for f in fields {
            guard f.hasSuffix("s"), let m = f.firstIndex(of: "m"), let minutes = Double(f[..<m]),
                  let seconds = Double(f[f.index(after: m)..<f.index(before: f.endIndex)].replacingOccurrences(of: ",", with: "."))
            else { return nil }
            total += minutes * 60 + seconds
        }
        return total
    }
}
