import Foundation
import LMDB

/// Work cut into contiguous parts run on several threads at once (``Workers``),
/// the results joined in order: decoding, preparing and checking batches on every core.
public enum Parallel {
    /// `body(range)` for each of `parts` contiguous ranges of `0..<count`, run at once; their
    /// results in the ranges' order. One part runs on the calling thread.
    public static func map<T>(_ count: Int, parts: Int, _ body: @Sendable (Range<Int>) -> [T]) -> [T] {
        let parts = max(1, min(parts, count))
        if parts == 1 { return body(0..<count) }
        return mapParts(count, parts: parts) { _, range in body(range) }.flatMap { $0 }
    }

    /// `body(range)` for each of `parts` contiguous ranges of `0..<count`, run at once (one on
    /// the calling thread); returns when all have run.
    public static func forEachPart(_ count: Int, parts: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let parts = max(1, min(parts, count))
        if parts == 1 {
            if count > 0 { body(0..<count) }
            return
        }
        Workers.shared.run(parts: parts) { k in body(range(k, of: parts, count)) }
    }

    /// Part `k` of `0..<count` cut into `parts` contiguous ranges whose lengths differ by at most one.
    static func range(_ k: Int, of parts: Int, _ count: Int) -> Range<Int> {
        (count * k / parts)..<(count * (k + 1) / parts)
    }

    /// `body(part, range)` for each of `parts` contiguous ranges of `0..<count` (at most
    /// `count`, at least one), run at once; one result per part, in order. The part's index lets
    /// it use memory of its own that the caller keeps from call to call.
    public static func mapParts<T>(_ count: Int, parts: Int, _ body: @Sendable (_ part: Int, Range<Int>) -> T) -> [T] {
        let parts = max(1, min(parts, count))
        if parts == 1 { return [body(0, 0..<count)] }
        let slots = Slots<T>(parts)
        slots.results.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let base = buffer.baseAddress!
            Workers.shared.run(parts: parts) { part in
                base[part] = body(part, range(part, of: parts, count))
            }
        }
        return slots.results.map { $0! }
    }
}

/// Each part's result, written by its own thread only.
private final class Slots<T>: @unchecked Sendable {
    var results: [T?]
    init(_ n: Int) { results = Array(repeating: nil, count: n) }
}

extension Parallel {
    /// Produces items `0..<count` on `workers` threads, at most `window` ahead of the consumer,
    /// and hands them to `consume` on the calling thread in index order: a read path's
    /// independent chunks prepared on every core while the caller writes them out in order.
    ///
    /// `consume` returns false to stop early. An error from `produce(k)` is thrown when the
    /// consumer reaches `k` (everything before it has been consumed, as in a loop); an error
    /// from `consume` is thrown at once. Either way no producer is still running on return, and
    /// memory holds at most `window` produced items besides the one being consumed.
    ///
    /// The producers are threads of their own, as many as the system gives. When it gives none
    /// (an address-space limit too tight for a thread's stack), each item is produced on the
    /// calling thread just before it is consumed: the same results, on one core.
    public static func ordered<T>(count: Int, workers: Int, window: Int,
                                  produce: @escaping @Sendable (Int) throws -> T,
                                  consume: (T) throws -> Bool) throws {
        let feed = OrderedFeed(count: count, workers: workers, window: window, produce: produce)
        defer { feed.close() }
        while let item = try feed.next() {
            guard try consume(item) else { return }
        }
    }
}

/// Items `0..<count` produced on threads of their own, at most `window` ahead of the consumer,
/// and taken in index order with ``next()``: the pull form of
/// ``Parallel/ordered(count:workers:window:produce:consume:)``, for a consumer that takes them
/// across calls of its own (the rebuild reads ahead across its write transactions).
///
/// An error from `produce(k)` is thrown by the ``next()`` that reaches `k`. ``close()`` (also
/// run on deinit) stops the producers and waits for them; memory holds at most `window`
/// produced items. When the system gives no thread, ``next()`` produces each item itself.
public final class OrderedFeed<T>: @unchecked Sendable {
    private let count: Int
    private let produce: @Sendable (Int) throws -> T
    private let state: OrderedState<T>
    private let finished = DispatchSemaphore(value: 0)
    private var producers = 0
    /// The index ``next()`` returns next.
    public private(set) var index = 0

    public init(count: Int, workers: Int, window: Int, produce: @escaping @Sendable (Int) throws -> T) {
        self.count = max(0, count)
        self.produce = produce
        state = OrderedState<T>(window: max(1, window))
        guard count > 0 else { return }
        // Threads of their own: a producer waits while the window is full, and must not hold
        // one of the ``Workers`` (which the caller may be running on, or waiting for) meanwhile.
        for _ in 0..<max(1, min(workers, count)) {
            do {
                try Threads.start("ordered producer") { [state, finished, count] in
                    while let k = state.claim(count) {
                        let r = Result { try produce(k) }
                        state.deliver(k, r)
                    }
                    finished.signal()
                }
                producers += 1
            } catch {
                break
            }
        }
    }

    /// The next item in index order (waiting for it), or nil after the last.
    public func next() throws -> T? {
        guard index < count else { return nil }
        let k = index
        index += 1
        guard producers > 0 else { return try produce(k) }
        return try state.take(k).get()
    }

    /// Stops the producers and waits for them. Idempotent.
    public func close() {
        guard producers > 0 else { return }
        state.stop()
        for _ in 0..<producers { finished.wait() }
        producers = 0
        index = count
    }

    deinit { close() }
}

/// The shared state of ``Parallel/ordered(count:workers:window:produce:consume:)``.
private final class OrderedState<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private let window: Int
    private var next = 0
    private var consumed = 0
    private var stopped = false
    private var results: [Int: Result<T, any Error>] = [:]

    init(window: Int) { self.window = window }

    /// The next index to produce, once it is within the window; nil when done or stopped.
    func claim(_ count: Int) -> Int? {
        condition.lock(); defer { condition.unlock() }
        while !stopped, next < count, next >= consumed + window { condition.wait() }
        guard !stopped, next < count else { return nil }
        next += 1
        return next - 1
    }

    func deliver(_ k: Int, _ r: Result<T, any Error>) {
        condition.lock(); defer { condition.unlock() }
        if !stopped { results[k] = r }
        condition.broadcast()
    }

    /// Item `k`, waiting for it; frees a place in the window.
    func take(_ k: Int) -> Result<T, any Error> {
        condition.lock(); defer { condition.unlock() }
        while results[k] == nil { condition.wait() }
        consumed = k + 1
        condition.broadcast()
        return results.removeValue(forKey: k)!
    }

    func stop() {
        condition.lock(); defer { condition.unlock() }
        stopped = true
        results.removeAll()
        condition.broadcast()
    }
}
