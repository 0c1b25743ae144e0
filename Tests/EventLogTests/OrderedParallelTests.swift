import Foundation
import Synchronization
import Testing
@testable import EventLog

/// `Parallel.ordered`: items produced on several threads, consumed in order, at most a window
/// ahead, an error reported where a loop would meet it, and no producer left running.
@Suite struct OrderedParallelTests {
    struct Failure: Error, Equatable { let k: Int }

    /// Counts items produced but not yet consumed, and the most there ever were.
    final class InFlight: Sendable {
        let now = Mutex(0), most = Mutex(0), produced = Mutex(0)
        func produce() {
            produced.withLock { $0 += 1 }
            let n = now.withLock { $0 += 1; return $0 }
            most.withLock { $0 = max($0, n) }
        }
        func consume() { now.withLock { $0 -= 1 } }
    }

    @Test(arguments: [1, 2, 4])
    func itemsComeInOrderWithinTheWindow(workers: Int) throws {
        let flight = InFlight()
        var seen: [Int] = []
        try Parallel.ordered(count: 500, workers: workers, window: 3, produce: { k in
            flight.produce()
            if k % 7 == 0 { usleep(200) }  // out-of-order finishing
            return k * k
        }, consume: { v in
            flight.consume()
            seen.append(v)
            return true
        })
        #expect(seen == (0..<500).map { $0 * $0 })
        // The window's items waiting, and the one being consumed.
        #expect(flight.most.withLock { $0 } <= 3 + 1, "never more than the window produced ahead")
    }

    @Test func stoppingEarlyLeavesNoProducerRunning() throws {
        let flight = InFlight()
        var seen = 0
        try Parallel.ordered(count: 10_000, workers: 2, window: 4, produce: { k in flight.produce(); return k }, consume: { _ in
            seen += 1
            return seen < 10
        })
        let produced = flight.produced.withLock { $0 }
        #expect(seen == 10)
        #expect(produced <= 10 + 4, "produced \(produced): the window bounds the work thrown away")
        usleep(20_000)
        #expect(flight.produced.withLock { $0 } == produced, "nothing is produced after the call returns")
    }

    @Test func aProducersErrorComesAfterEverythingBeforeIt() {
        var seen: [Int] = []
        let error = #expect(throws: Failure.self) {
            try Parallel.ordered(count: 100, workers: 2, window: 8, produce: { k in
                if k == 37 || k == 60 { throw Failure(k: k) }
                return k
            }, consume: { v in seen.append(v); return true })
        }
        #expect(error == Failure(k: 37))
        #expect(seen == Array(0..<37))
    }

    @Test func aConsumersErrorStopsAtOnce() {
        let flight = InFlight()
        let error = #expect(throws: Failure.self) {
            try Parallel.ordered(count: 1_000, workers: 2, window: 2, produce: { k in flight.produce(); return k }, consume: { v in
                if v == 5 { throw Failure(k: v) }
                return true
            })
        }
        #expect(error == Failure(k: 5))
        #expect(flight.produced.withLock { $0 } <= 5 + 1 + 2)
    }

    @Test func nothingToDoCallsNothing() throws {
        var calls = 0
        try Parallel.ordered(count: 0, workers: 2, window: 2, produce: { k in k }, consume: { _ in calls += 1; return true })
        #expect(calls == 0)
    }

    /// The pull form: items taken one call at a time, in order, within the window; closed
    /// half-way, nothing more is produced, and `next()` then has nothing.
    @Test func aFeedGivesItemsInOrderAcrossCallsAndStopsWhenClosed() throws {
        let flight = InFlight()
        let feed = OrderedFeed(count: 1_000, workers: 2, window: 5) { k in
            flight.produce()
            if k % 5 == 0 { usleep(100) }
            return k + 1
        }
        for k in 0..<100 {
            #expect(try feed.next() == k + 1)
            flight.consume()
            #expect(flight.most.withLock { $0 } <= 5 + 1)
        }
        feed.close()
        let produced = flight.produced.withLock { $0 }
        #expect(produced <= 100 + 5 + 2, "produced \(produced) for 100 taken")
        usleep(20_000)
        #expect(flight.produced.withLock { $0 } == produced, "nothing is produced after close()")
        #expect(try feed.next() == nil)
    }

    /// An error is thrown by the `next()` that reaches it, after every item before it.
    @Test func aFeedThrowsAProducersErrorInItsPlace() throws {
        let feed = OrderedFeed(count: 50, workers: 2, window: 4) { k in
            if k == 20 { throw Failure(k: k) }
            return k
        }
        defer { feed.close() }
        for k in 0..<20 { #expect(try feed.next() == k) }
        #expect(throws: Failure(k: 20)) { try feed.next() }
    }
}

