import NIOCore

/// A task executor that runs jobs on one SwiftNIO event loop.
///
/// Calls of a connection run with this as their executor preference, so handler code (and every
/// nghttp2 call it causes) stays on the connection's thread: no hop per message, no locks on the
/// session. SwiftNIO 2.101 has no such executor, so Weft defines it.
final class EventLoopExecutor: TaskExecutor, @unchecked Sendable {
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
