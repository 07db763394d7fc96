import Foundation
import Gen
import Testing
import WeftPodKit

struct ContainerLogTests {
    func tempPath() -> String { NSTemporaryDirectory() + "weft-log-\(UUID().uuidString).log" }

    func entries(_ path: String) -> [LogEntry] {
        ContainerLogReader.parse([UInt8](FileManager.default.contents(atPath: path) ?? Data())).entries
    }

    @Test func writesLinesWithTimesAndKeepsPartialLinesApart() throws {
        let path = tempPath()
        let w = try ContainerLogWriter(path: path)
        w.append(Array("first\nsec".utf8), stream: "stdout", time: 1_000_000_000)
        w.append(Array("ond\n".utf8), stream: "stdout", time: 2_000_000_000)
        w.append(Array("oops\n".utf8), stream: "stderr", time: 3_000_000_000)
        w.append(Array("no newline".utf8), stream: "stdout", time: 4_000_000_000)
        w.finish()
        let e = entries(path)
        #expect(e.map { String(decoding: $0.content, as: UTF8.self) } == ["first", "second", "oops", "no newline"])
        #expect(e.map(\.stream) == ["stdout", "stdout", "stderr", "stdout"])
        #expect(e.map(\.partial) == [false, false, false, true])
        #expect(e[0].time == 1_000_000_000 && e[1].time == 2_000_000_000)
        #expect(String(decoding: ContainerLogReader.render(e, timestamps: false), as: UTF8.self) == "first\nsecond\noops\nno newline")
        let stamped = String(decoding: ContainerLogReader.render(e.prefix(1), timestamps: true), as: UTF8.self)
        #expect(stamped == "1970-01-01T00:00:01.000000000Z first\n")
    }

    @Test func selectsTailAndSince() {
        let e = (1...5).map { LogEntry(time: Int64($0) * 1_000_000_000, stream: "stdout", partial: false, content: Array("l\($0)".utf8)) }
        var o = Weft_Kubelet_V1_LogOptions()
        o.tailLines = 2
        #expect(ContainerLogReader.select(e, options: o, now: 10_000_000_000).map(\.time) == [4_000_000_000, 5_000_000_000])
        o.tailLines = 0
        #expect(ContainerLogReader.select(e, options: o, now: 10_000_000_000).isEmpty)
        o = Weft_Kubelet_V1_LogOptions()
        o.sinceSeconds = 7  // now 10 s: lines from 3 s on
        #expect(ContainerLogReader.select(e, options: o, now: 10_000_000_000).count == 3)
        o = Weft_Kubelet_V1_LogOptions()
        o.sinceTime = .init(unixNanos: 5_000_000_000)
        #expect(ContainerLogReader.select(e, options: o, now: 10_000_000_000).count == 1)
        // A line cut into partial entries counts once for tail.
        let cut = [LogEntry(time: 1, stream: "stdout", partial: true, content: [65]), LogEntry(time: 2, stream: "stdout", partial: false, content: [66]),
                   LogEntry(time: 3, stream: "stdout", partial: false, content: [67])]
        o = Weft_Kubelet_V1_LogOptions()
        o.tailLines = 2
        #expect(ContainerLogReader.select(cut, options: o, now: 10).count == 3)
    }

    @Test func streamerHonoursLimitAndFollowsUntilFinished() async throws {
        let path = tempPath()
        let w = try ContainerLogWriter(path: path)
        w.append(Array("one\ntwo\n".utf8), stream: "stdout")
        var o = Weft_Kubelet_V1_LogOptions()
        o.limitBytes = 5
        var got: [UInt8] = []
        try await ContainerLogStreamer(path: path, options: o).run(isFinished: { true }) { chunk, _ in got += chunk }
        #expect(String(decoding: got, as: UTF8.self) == "one\nt")

        o = Weft_Kubelet_V1_LogOptions()
        o.follow = true
        let finished = LockedFlag()
        let writer = Task {
            try await Task.sleep(for: .milliseconds(150))
            w.append(Array("three\n".utf8), stream: "stdout")
            try await Task.sleep(for: .milliseconds(150))
            w.finish()
            finished.set()
        }
        var followed: [UInt8] = []
        var offsets: [Int64] = []
        try await ContainerLogStreamer(path: path, options: o).run(isFinished: { finished.value }) { chunk, offset in
            followed += chunk
            offsets.append(offset)
        }
        try await writer.value
        #expect(String(decoding: followed, as: UTF8.self) == "one\ntwo\nthree\n")
        #expect(offsets == [0, 8])
    }
}

/// A flag set from one task and read from another.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.lock(); flag = true; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return flag }
}
