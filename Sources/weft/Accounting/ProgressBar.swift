import Foundation
import Synchronization
import WeftAccountingPublisher

/// A one-line progress bar on stderr, redrawn at most ten times a second; only on a terminal
/// (DESIGN §9: long operations show progress on a terminal and stay quiet when piped).
final class ProgressBar: Sendable {
    let started = ContinuousClock.now
    let lastDraw = Mutex<ContinuousClock.Instant?>(nil)

    /// A bar if stderr is a terminal.
    static func onTerminal() -> ProgressBar? { isatty(STDERR_FILENO) != 0 ? ProgressBar() : nil }

    func update(_ p: PublishProgress) {
        let now = ContinuousClock.now
        let complete = p.acknowledgedBatches >= p.totalBatches
        let draw = lastDraw.withLock { last in
            if !complete, let l = last, now - l < .milliseconds(100) { return false }
            last = now
            return true
        }
        guard draw else { return }
        let fraction = p.totalRecords > 0 ? Double(p.acknowledgedRecords) / Double(p.totalRecords) : 1
        let width = 30
        let filled = min(width, Int(fraction * Double(width)))
        let elapsed = now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var line = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
        line += String(format: "%3d%% ", Int(fraction * 100)) + "\(grouped(p.acknowledgedRecords))/\(grouped(p.totalRecords)) records"
        if seconds > 0.2 { line += ", \(grouped(Int(Double(p.acknowledgedRecords) / seconds)))/s" }
        if p.rejectedRecords > 0 { line += ", \(grouped(p.rejectedRecords)) rejected" }
        if p.reconnects > 0 { line += ", \(p.reconnects) reconnects" }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    /// Clears the bar's line.
    func finish() { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
}

/// A counter that only goes up; `raise` says whether it did.
final class LockedCounter: Sendable {
    let value = Mutex(0)

    func raise(to n: Int) -> Bool {
        value.withLock { v in
            guard n > v else { return false }
            v = n
            return true
        }
    }
}
