import Synchronization

/// Fans events out to any number of subscribers, each with its own bounded buffer.
///
/// A subscriber that falls `capacity` events behind is dropped (its stream finishes with
/// ``overflowed`` set) rather than making the publisher wait or buffer without bound; a watcher
/// then resubscribes and resynchronises from a snapshot.
public final class Broadcaster<Event: Sendable>: Sendable {
    /// One subscription.
    public final class Subscription: Sendable {
        /// The events, in publish order.
        public let events: AsyncStream<Event>
        let id: Int
        let overflow = Atomic<Bool>(false)
        /// True when the subscription ended because its reader fell behind.
        public var overflowed: Bool { overflow.load(ordering: .acquiring) }
        init(id: Int, events: AsyncStream<Event>) {
            self.id = id
            self.events = events
        }
    }

    private struct Entry {
        let continuation: AsyncStream<Event>.Continuation
        let subscription: Subscription
    }
    private let subscribers = Mutex<(next: Int, all: [Int: Entry])>((0, [:]))
    private let capacity: Int

    /// Creates a broadcaster whose subscribers may lag at most `capacity` events.
    public init(capacity: Int = 65536) { self.capacity = capacity }

    /// Subscribes; events published from now on reach the returned stream. Cancel by ending the
    /// iteration or calling ``unsubscribe(_:)``.
    public func subscribe() -> Subscription {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingOldest(capacity))
        return subscribers.withLock { s in
            let id = s.next
            s.next += 1
            let sub = Subscription(id: id, events: stream)
            s.all[id] = Entry(continuation: continuation, subscription: sub)
            continuation.onTermination = { [weak self] _ in self?.remove(id) }
            return sub
        }
    }

    /// Ends a subscription.
    public func unsubscribe(_ subscription: Subscription) {
        let entry = subscribers.withLock { $0.all.removeValue(forKey: subscription.id) }
        entry?.continuation.finish()
    }

    /// Delivers `event` to every subscriber.
    public func publish(_ event: Event) {
        let entries = subscribers.withLock { Array($0.all.values) }
        for e in entries {
            if case .dropped = e.continuation.yield(event) {
                e.subscription.overflow.store(true, ordering: .releasing)
                e.continuation.finish()
            }
        }
    }

    /// Ends every subscription (server shutdown).
    public func finishAll() {
        let entries = subscribers.withLock { s -> [Entry] in
            defer { s.all = [:] }
            return Array(s.all.values)
        }
        for e in entries { e.continuation.finish() }
    }

    /// Number of current subscribers.
    public var count: Int { subscribers.withLock { $0.all.count } }

    private func remove(_ id: Int) { _ = subscribers.withLock { $0.all.removeValue(forKey: id) } }
}
