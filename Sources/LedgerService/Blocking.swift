import Foundation
import LMDB

/// Ledger calls block (LMDB reads, waiting for a group commit): they run on this queue, never
/// on the event loops or the cooperative pool.
enum Blocking {
    static let queue = DispatchQueue(label: "ledger-service.blocking", qos: .userInitiated, attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Appends spend nearly all their time waiting for a group commit. On Linux a dispatch queue
    /// runs about as many blocks at once as there are cores, so 64 waiting appends would reach
    /// the writer two at a time and commits would carry two requests; these threads let every
    /// append in flight wait for the same commit (measured: tools/bench-serve, BENCHMARKS.md).
    static let appendPool = ThreadPool(threads: 256, name: "ledger-append")

    static func runAppend<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            appendPool.submit { continuation.resume(with: Result { try body() }) }
        }
    }
}

/// A fixed set of threads taking jobs in order (for work that mostly waits, not computes).
final class ThreadPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0

    private var threads = 0

    /// Starts as many of `threads` as the system gives; a job submitted while none runs runs on
    /// the caller's thread (slower, never lost).
    init(threads: Int, name: String) {
        for i in 0..<threads {
            do { try Threads.start("\(name)-\(i)", stackSize: 1 << 20) { [self] in work() } } catch { break }
            self.threads += 1
        }
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        guard threads > 0 else { condition.unlock(); job(); return }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while head == jobs.count { condition.wait() }
            let job = jobs[head]
            head += 1
            if head == jobs.count { jobs.removeAll(keepingCapacity: true); head = 0 }
            condition.unlock()
            job()
        }
    }
}

/// Chunks handed from a blocking producer (a query writing its output) to the async response
/// writer, with back-pressure: the producer waits while `capacity` chunks are unread, so a slow
/// client holds a few chunks in memory, not the whole answer.
final class ChunkPipe: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [[UInt8]] = []
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false
    private var waiter: CheckedContinuation<Void, Never>?
    private let capacity: Int

    init(capacity: Int = 8) { self.capacity = capacity }

    struct Cancelled: Error {}

    /// Called by the producer; throws once the consumer went away.
    func put(_ chunk: [UInt8]) throws {
        guard !chunk.isEmpty else { return }
        condition.lock()
        while chunks.count >= capacity && !cancelled { condition.wait() }
        if cancelled { condition.unlock(); throw Cancelled() }
        chunks.append(chunk)
        let w = waiter
        waiter = nil
        condition.unlock()
        w?.resume()
    }

    /// Called by the producer when it is done (with the error that stopped it, if any).
    func finish(_ error: (any Error)? = nil) {
        condition.lock()
        finished = true
        failure = error
        let w = waiter
        waiter = nil
        condition.unlock()
        w?.resume()
    }

    /// Called by the consumer when it stops reading.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        let w = waiter
        waiter = nil
        condition.unlock()
        w?.resume()
    }

    private enum Taken {
        case chunk([UInt8]), end, failed(any Error), empty
    }

    private func take() -> Taken {
        condition.lock()
        defer { condition.unlock() }
        if !chunks.isEmpty {
            let c = chunks.removeFirst()
            condition.broadcast()
            return .chunk(c)
        }
        if finished || cancelled { return failure.map { .failed($0) } ?? .end }
        return .empty
    }

    /// Registers the consumer to be resumed; false when there is something to take already.
    private func register(_ c: CheckedContinuation<Void, Never>) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if !chunks.isEmpty || finished || cancelled { return false }
        waiter = c
        return true
    }

    /// The next chunk; nil at the end; the producer's error if it failed.
    func next() async throws -> [UInt8]? {
        while true {
            switch take() {
            case .chunk(let c): return c
            case .end: return nil
            case .failed(let e): throw e
            case .empty: break
            }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                if !register(c) { c.resume() }
            }
        }
    }
}
