import Foundation
import LMDB

/// Ledger calls block (LMDB reads, waiting for a group commit): they run on these threads, never
/// on the event loops or the cooperative pool.
enum Blocking {
    /// Reads and streamed answers run on a libdispatch queue: its threads are the ones the async
    /// runtime resumes tasks on, so the thread that finishes a call runs the request's
    /// continuation without waking another. A pool of our own cost 62–97 µs of server CPU per
    /// `GET /healthz` from 64 clients against libdispatch's 44–48, and 8% of the ticket answers a
    /// second from 8 clients (BENCHMARKS.md, "Twelfth round"). With sixteen clients that had
    /// stopped reading streamed answers, libdispatch had added threads and another request was
    /// answered in 17–39 ms (ServiceSlowClientTests checks that it stays answered).
    static let queue = DispatchQueue(label: "ledger-service.blocking", qos: .userInitiated, attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Appends spend nearly all their time waiting for a group commit; each waits on a thread of
    /// its own, so that every append in flight waits for the same commit (64 waiting appends on a
    /// queue that ran two at a time reached the writer two at a time: tools/bench-serve,
    /// BENCHMARKS.md).
    static let appendPool = ThreadPool(limit: 256, name: "ledger-append")

    static func runAppend<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            appendPool.submit { continuation.resume(with: Result { try body() }) }
        }
    }
}

/// Threads for work that mostly waits (appends waiting for their group commit), taking jobs in order.
///
/// A thread is started when a job finds none idle, up to `limit`, and then kept for the next job;
/// a pool nobody uses holds no thread (256 threads started at once reserved 256 MiB of address
/// space before the first request). Not libdispatch: a dispatch queue on Linux runs about as many
/// blocks at once as there are cores and adds threads for blocked ones only gradually (64 appends
/// waiting for a commit reached the writer two at a time), and it retries a thread the system
/// refuses for ever. Here a thread the system refuses is simply not there: the job waits for one
/// of the threads already running, or, when there is none at all, runs on the caller's thread
/// (slower, never lost).
final class ThreadPool: @unchecked Sendable {
    let name: String
    /// The most threads started.
    let limit: Int
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    private var threads = 0
    /// Threads waiting for a job.
    private var idle = 0

    init(limit: Int, name: String) {
        self.limit = limit
        self.name = name
    }

    /// Threads started so far, and those of them waiting for a job.
    var counts: (started: Int, idle: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (threads, idle)
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        if jobs.count - head <= idle {
            condition.signal()
            condition.unlock()
            return
        }
        if threads < limit && (threads == 0 || AddressSpace.headroom.map { $0 >= Self.spareForThreads } ?? true) {
            do {
                try Threads.start("\(name)-\(threads)", stackSize: 1 << 20) { [self] in work() }
                threads += 1
            } catch {
                // The system gave no thread: a running one takes the job when it is free.
            }
        }
        guard threads == 0 else { condition.unlock(); return }
        jobs.removeLast()
        condition.unlock()
        job()
    }

    /// Under an address-space limit, the headroom below which no thread is added to those running.
    static let spareForThreads = 64 << 20

    private func work() {
        condition.lock()
        while true {
            while head == jobs.count {
                idle += 1
                condition.wait()
                idle -= 1
            }
            let job = jobs[head]
            head += 1
            if head == jobs.count { jobs.removeAll(keepingCapacity: true); head = 0 }
            condition.unlock()
            job()
            condition.lock()
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
