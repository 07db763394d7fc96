import NIOCore

/// When a stream's received bytes go back to the peer as flow-control window (nghttp2 runs
/// without automatic window updates). One policy for both ends of a call:
///
/// - While nothing waits to be taken by the consumer, bytes are credited as they arrive (so a
///   message larger than the window can complete).
/// - Once messages are queued, new bytes are held back; each message the consumer takes frees
///   its wire size. What is buffered stays within one window plus the message in progress, and a
///   peer that pipelines keeps sending while the consumer works through the queue.
/// - When the queue empties, everything held back is credited.
struct ReceiveCredit {
    /// Wire sizes of the messages delivered to the consumer and not yet taken, oldest first.
    private var queued = CircularBuffer<Int>()
    /// Received bytes not yet credited.
    private var held = 0

    /// `count` bytes arrived: the bytes to credit now.
    mutating func received(_ count: Int) -> Int {
        guard !queued.isEmpty else { return count }
        held += count
        return 0
    }

    /// A message of `wireSize` bytes was handed to the consumer.
    mutating func delivered(wireSize: Int) { queued.append(wireSize) }

    /// The stream closed: every byte not yet credited, which must still go back to the
    /// connection's window (the stream's own window is gone with it). Without this, messages
    /// queued when a stream ends would shrink the connection window for good, call after call,
    /// until a long-lived connection stalls.
    mutating func releaseAll() -> Int {
        defer {
            held = 0
            queued.removeAll()
        }
        return held
    }

    /// The consumer took the oldest message: the bytes to credit now.
    mutating func taken() -> Int {
        let size = queued.popFirst() ?? 0
        let credit = queued.isEmpty ? held : min(held, size)
        held -= credit
        return credit
    }
}
