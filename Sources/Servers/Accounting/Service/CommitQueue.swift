import Synchronization

/// The prepared batches of one publishing session, between the task that receives and checks
/// them and the task that commits and acknowledges them.
///
/// Bounded: `push` waits while `capacity` batches wait for their commit, so a publisher that
/// sends faster than the store commits is slowed by HTTP/2 flow control instead of growing
/// memory. `takeAll` hands over everything queued, so that batches that piled up during one
/// commit go into the next one together (group commit).
final class CommitQueue<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var finished = false
        var failure: (any Error)?
        var consumer: CheckedContinuation<Void, Never>?
        var producer: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Queues `item`, waiting while the queue is full. Throws the consumer's failure, if it failed.
    func push(_ item: Element) async throws {
        while true {
            let full: Bool = try state.withLock { s in
                if let failure = s.failure { throw failure }
                return s.items.count >= capacity
            }
            if !full { break }
            await suspend(in: \.producer) { s in s.items.count < self.capacity || s.failure != nil }
            try Task.checkCancellation()
        }
        let consumer = state.withLock { s in
            s.items.append(item)
            return s.consumer.take()
        }
        consumer?.resume()
    }

    /// No more items will come; the consumer takes what is queued and then sees the end.
    func finish() {
        state.withLock { s in
            s.finished = true
            return s.consumer.take()
        }?.resume()
    }

    /// The consumer failed: pushes throw `error` from now on.
    func fail(_ error: any Error) {
        state.withLock { s in
            s.failure = s.failure ?? error
            return s.producer.take()
        }?.resume()
    }

    /// Everything queued, waiting until something is; empty once finished and drained, or when
    /// the consuming task is cancelled.
    func takeAll() async -> [Element] {
        while true {
            let (items, producer, done): ([Element], CheckedContinuation<Void, Never>?, Bool) = state.withLock { s in
                if !s.items.isEmpty {
                    let items = s.items
                    s.items.removeAll(keepingCapacity: true)
                    return (items, s.producer.take(), false)
                }
                return ([], nil, s.finished)
            }
            producer?.resume()
            if !items.isEmpty { return items }
            if done || Task.isCancelled { return [] }
            await suspend(in: \.consumer) { s in !s.items.isEmpty || s.finished }
        }
    }

    /// Waits in `slot` until the other side resumes it, unless `ready` already holds or the task
    /// is cancelled (cancellation resumes the waiter too).
    private func suspend(
        in slot: WritableKeyPath<State, CheckedContinuation<Void, Never>?> & Sendable, unless ready: (State) -> Bool
    ) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s in
                    if ready(s) || Task.isCancelled { return true }
                    s[keyPath: slot] = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            state.withLock { s in s[keyPath: slot].take() }?.resume()
        }
    }
}
