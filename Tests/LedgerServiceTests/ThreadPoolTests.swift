import Foundation
import Testing
@testable import LedgerService

/// The service's pool for appends waiting for their commit: a job that blocks never holds back the
/// next one while the pool is under its limit, and the limit holds.
@Suite struct ThreadPoolTests {
    /// A gate jobs wait at until it opens.
    final class Gate: @unchecked Sendable {
        private let condition = NSCondition()
        private var open = false
        private var passed = 0
        func wait() {
            condition.lock()
            while !open { condition.wait() }
            passed += 1
            condition.unlock()
        }
        func release() {
            condition.lock()
            open = true
            condition.broadcast()
            condition.unlock()
        }
        var count: Int { condition.lock(); defer { condition.unlock() }; return passed }
    }

    @Test("twenty jobs blocked (appends waiting for a commit) do not hold back the next")
    func blockedJobsDoNotHoldBackTheNext() {
        let pool = ThreadPool(limit: 64, name: "test-blocking")
        let gate = Gate()
        let started = DispatchSemaphore(value: 0)
        for _ in 0..<20 { pool.submit { started.signal(); gate.wait() } }
        for _ in 0..<20 { #expect(started.wait(timeout: .now() + 60) == .success) }
        let next = DispatchSemaphore(value: 0)
        pool.submit { next.signal() }
        #expect(next.wait(timeout: .now() + 60) == .success, "the job after twenty blocked ones ran while they were blocked")
        gate.release()
        for _ in 0..<600 where gate.count < 20 { usleep(100_000) }
        #expect(gate.count == 20)
        #expect(pool.counts.started == 21)
    }

    /// What the jobs ran, guarded.
    final class Ran: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [Int] = []
        func add(_ i: Int) { lock.lock(); list.append(i); lock.unlock() }
        var all: [Int] { lock.lock(); defer { lock.unlock() }; return list }
    }

    @Test("at its limit the pool queues jobs and runs each once a thread is free")
    func theLimitHolds() {
        let pool = ThreadPool(limit: 3, name: "test-limited")
        let gate = Gate()
        let ran = Ran()
        let done = DispatchSemaphore(value: 0)
        for i in 0..<9 {
            pool.submit {
                if i < 3 { gate.wait() }
                ran.add(i)
                done.signal()
            }
        }
        usleep(200_000)
        #expect(pool.counts.started == 3, "three threads, the limit, however many jobs wait")
        #expect(ran.all.isEmpty, "the three threads are all blocked: nothing else ran")
        gate.release()
        for _ in 0..<9 { #expect(done.wait(timeout: .now() + 60) == .success) }
        #expect(ran.all.sorted() == Array(0..<9))
        #expect(pool.counts.started == 3)
    }

    @Test("a thread that has finished its job takes the next: a pool used one job at a time keeps one thread")
    func idleThreadsAreReused() {
        let pool = ThreadPool(limit: 64, name: "test-reuse")
        for _ in 0..<50 {
            let done = DispatchSemaphore(value: 0)
            pool.submit { done.signal() }
            #expect(done.wait(timeout: .now() + 60) == .success)
            // Wait until the thread is back waiting, so that the next job finds it idle.
            for _ in 0..<6_000 where pool.counts.idle == 0 { usleep(1_000) }
        }
        #expect(pool.counts.started == 1)
    }
}
