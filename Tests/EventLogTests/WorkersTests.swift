import Foundation
import LMDB
import Testing
@testable import EventLog

/// The worker pool that replaces libdispatch's: every part runs exactly once, on workers or on
/// the waiting thread, and work finishes when the system gives no thread at all.
@Suite struct WorkersTests {
    /// Counts each part's runs and the threads that ran them.
    final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var runs: [Int: Int] = [:]
        private(set) var threads = Set<UInt>()
        func ran(_ part: Int) {
            lock.lock(); runs[part, default: 0] += 1; threads.insert(UInt(pthread_self())); lock.unlock()
        }
    }

    @Test(arguments: [0, 1])
    func everyPartRunsOnceWhateverTheThreads(limit: Int) {
        let pool = Workers(limit: limit)
        for parts in [1, 2, 7, 64] {
            let tally = Tally()
            pool.run(parts: parts) { part in
                // Nested work, as an export's rendering job cuts its slice into parts.
                pool.run(parts: 3) { _ in }
                tally.ran(part)
            }
            #expect(tally.runs == Dictionary(uniqueKeysWithValues: (0..<parts).map { ($0, 1) }), "limit \(limit), \(parts) parts")
        }
    }

    @Test func withNoThreadToBeHadADetachedJobRunsBeforeDetachReturns() {
        let pool = Workers(limit: 0)
        let tally = Tally()
        let job = pool.detach { tally.ran(0) }
        #expect(tally.runs == [0: 1])
        job.wait()
        #expect(tally.runs == [0: 1])
        #expect(tally.threads == [UInt(pthread_self())])
    }

    @Test func waitingForADetachedJobRunsItOnceAndReturnsOnlyWhenItIsDone() {
        let pool = Workers(limit: 2)
        let started = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        // Both workers busy: the next job waits in the queue until its waiter claims it.
        let blockers = (0..<2).map { _ in
            let job = pool.detach { started.signal(); release.wait() }
            started.wait()
            return job
        }
        let tally = Tally()
        let queued = pool.detach { tally.ran(0) }
        queued.wait()
        #expect(tally.runs == [0: 1])
        #expect(tally.threads == [UInt(pthread_self())], "the waiter ran the job no worker could take")
        release.signal(); release.signal()
        for b in blockers { b.wait() }
        queued.wait()
        #expect(tally.runs == [0: 1])
    }

    @Test func partsRunOnSeveralThreadsWhenTheSystemGivesThem() {
        let pool = Workers(limit: 4)
        let tally = Tally()
        let barrier = DispatchGroup()
        for _ in 0..<3 { barrier.enter() }
        pool.run(parts: 3) { part in
            barrier.leave()
            _ = barrier.wait(timeout: .now() + 10)  // each part waits for all three to have started
            tally.ran(part)
        }
        #expect(tally.runs.count == 3)
        #expect(tally.threads.count == 3)
    }

    @Test func aThreadTheSystemRefusesIsAnErrorNamingIt() {
        // A stack larger than the address space cannot be mapped.
        #expect {
            try Threads.start("refused-one", stackSize: 1 << 52) { Issue.record("the refused thread ran") }
        } throws: { error in
            "\(error)".contains("start a thread (refused-one)")
        }
        let ran = DispatchSemaphore(value: 0)
        #expect(throws: Never.self) { try Threads.start("accepted-one") { ran.signal() } }
        #expect(ran.wait(timeout: .now() + 30) == .success)
    }
}
