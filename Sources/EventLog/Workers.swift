import Foundation
import LMDB

/// The threads the ledger's parallel work runs on, in place of libdispatch's pool.
///
/// libdispatch retries a thread it cannot create for ever (`_dispatch_temporary_resource_shortage`),
/// so under `ulimit -v` a `concurrentPerform` or `async` that needs a new worker hangs. Here a
/// thread the system refuses is simply not there: whoever waits for a job runs the parts nobody
/// has claimed itself, so work finishes on fewer threads, at worst on the waiting one alone.
///
/// Threads are started as work needs them (up to ``limit``) and then kept, idle, for the next.
public final class Workers: @unchecked Sendable {
    /// One piece of work cut into `parts`, each claimed by one thread (a worker or the waiter).
    public final class Job: @unchecked Sendable {
        fileprivate let parts: Int
        /// Dropped once every part has run, so that a job kept by its caller keeps nothing it captured.
        fileprivate var body: (@Sendable (Int) -> Void)?
        fileprivate var claimed = 0
        fileprivate var finished = 0
        /// Parts claimed by workers; each signals `workersDone` once it has run.
        fileprivate var byWorkers = 0
        fileprivate var waited = false
        fileprivate let workersDone = DispatchSemaphore(value: 0)
        fileprivate unowned let pool: Workers

        fileprivate init(parts: Int, pool: Workers, body: @escaping @Sendable (Int) -> Void) {
            self.parts = parts
            self.pool = pool
            self.body = body
        }

        /// Returns once every part has run: runs the parts no thread has claimed yet on the calling
        /// thread, then waits for the others. One thread waits for a job, as often as it likes.
        public func wait() { pool.finish(self) }
    }

    public static let shared = Workers(limit: max(4, 2 * ProcessInfo.processInfo.activeProcessorCount + 2))

    /// The most threads started.
    public let limit: Int
    /// Guards everything below and each job's counts and body.
    private let condition = NSCondition()
    /// Jobs with parts nobody has claimed yet, oldest first.
    private var queue: [Job] = []
    private var threads = 0
    /// Workers waiting for work (each is woken by one `signal`).
    private var waiting = 0
    /// Workers started and not yet looking for work: they look at the queue before they wait.
    private var starting = 0

    init(limit: Int) { self.limit = limit }

    /// Under an address-space limit, the headroom (``AddressSpace/headroom``) below which no
    /// thread is added to those already running.
    static let spareForThreads = 256 << 20

    /// `body(part)` for `0..<parts`, on the workers and the calling thread; returns when all have run.
    public func run(parts: Int, _ body: @Sendable (Int) -> Void) {
        guard parts > 1 else {
            if parts == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // The job cannot outlive this call: `finish` returns only when every part has run,
            // and the job has dropped its closure by then.
            let job = Job(parts: parts, pool: self, body: body)
            enqueue(job, callerTakes: 1)
            finish(job)
        }
    }

    /// Starts `body` on a worker and returns at once; ``Job/wait()`` runs it on the waiting thread
    /// if no worker has taken it by then. With no worker to be had it runs here and now.
    @discardableResult
    public func detach(_ body: @escaping @Sendable () -> Void) -> Job {
        let job = Job(parts: 1, pool: self) { _ in body() }
        if !enqueue(job, callerTakes: 0) { finish(job) }
        return job
    }

    /// Queues `job` and wakes (or starts) a worker for each part the caller will not run itself
    /// (it takes `callerTakes`); false when there is no thread at all.
    @discardableResult
    private func enqueue(_ job: Job, callerTakes: Int) -> Bool {
        condition.lock()
        queue.append(job)
        let wanted = job.parts - callerTakes
        let woken = min(wanted, waiting)
        for _ in 0..<woken { condition.signal() }
        var more = wanted - woken - starting
        // Under `ulimit -v` a thread's stack is address space the work itself may need: threads
        // are started only while plenty is left (the work runs on fewer, never fails for want of one).
        if more > 0, threads > 0, let room = AddressSpace.headroom, room < Workers.spareForThreads { more = 0 }
        while more > 0 && threads < limit {
            do { try Threads.start("ledger-worker") { [self] in work() } } catch { break }
            threads += 1
            starting += 1
            more -= 1
        }
        let anyone = threads > 0
        condition.unlock()
        return anyone
    }

    /// Claims the next part of the oldest queued job, under the lock.
    private func claim() -> (job: Job, part: Int, body: @Sendable (Int) -> Void)? {
        while let job = queue.first {
            if job.claimed < job.parts, let body = job.body {
                job.claimed += 1
                if job.claimed == job.parts { queue.removeFirst() }
                return (job, job.claimed - 1, body)
            }
            queue.removeFirst()
        }
        return nil
    }

    /// Counts a part of `job` done and drops its closure after the last, under the lock.
    private func done(_ job: Job) {
        job.finished += 1
        if job.finished == job.parts { job.body = nil }
    }

    private func work() {
        condition.lock()
        starting -= 1
        while true {
            let job: Job
            do {
                guard let claimed = claim() else {
                    waiting += 1
                    condition.wait()
                    waiting -= 1
                    continue
                }
                claimed.job.byWorkers += 1
                condition.unlock()
                claimed.body(claimed.part)
                job = claimed.job
            }
            // The closure is released above, before the waiter can return (`withoutActuallyEscaping`).
            condition.lock()
            done(job)
            job.workersDone.signal()
        }
    }

    /// Runs `job`'s unclaimed parts here, then waits for those workers run.
    fileprivate func finish(_ job: Job) {
        condition.lock()
        if job.waited {  // a second wait: the first one saw every part run
            condition.unlock()
            return
        }
        while job.claimed < job.parts, let body = job.body {
            job.claimed += 1
            let part = job.claimed - 1
            if job.claimed == job.parts, let i = queue.firstIndex(where: { $0 === job }) { queue.remove(at: i) }
            condition.unlock()
            body(part)
            condition.lock()
            done(job)
        }
        let workers = job.byWorkers
        job.waited = true
        condition.unlock()
        for _ in 0..<workers { job.workersDone.wait() }
    }
}
