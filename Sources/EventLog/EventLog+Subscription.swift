import LMDB

/// A catch-up subscription: the events after a checkpoint, then new ones as
/// they are committed (by this process or another), in seq order.
///
/// ```swift
/// for try await event in log.subscribe(after: checkpoint) { handle(event) }
/// ```
/// It reads in chunks (so catching up a long history uses bounded memory),
/// and when caught up waits for this process's next commit (``CommitSignal``),
/// looking at the head at least every `pollInterval` for other processes'
/// commits. It ends when the consuming task is cancelled.
public struct Subscription: AsyncSequence, Sendable {
    public typealias Element = RecordedEvent
    let log: EventLog
    let after: UInt64
    let pollInterval: Duration
    let chunk: Int

    public struct AsyncIterator: AsyncIteratorProtocol {
        let log: EventLog
        let pollInterval: Duration
        let chunk: Int
        var position: UInt64
        var buffer: [RecordedEvent] = []
        var index = 0

        public mutating func next() async throws -> RecordedEvent? {
            while true {
                if index < buffer.count {
                    defer { index += 1 }
                    position = buffer[index].seq
                    return buffer[index]
                }
                if Task.isCancelled { return nil }
                let seen = log.commitSignal.commits
                buffer = try log.events(from: position + 1, limit: chunk)
                index = 0
                if buffer.isEmpty { await log.commitSignal.wait(after: seen, timeout: pollInterval) }
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(log: log, pollInterval: pollInterval, chunk: chunk, position: after)
    }
}

extension EventLog {
    /// Events with seq > `checkpoint`, history first, then live appends.
    public func subscribe(after checkpoint: UInt64 = 0, pollInterval: Duration = .milliseconds(5),
                          chunk: Int = 1024) -> Subscription {
        Subscription(log: self, after: checkpoint, pollInterval: pollInterval, chunk: chunk)
    }
}
