import Foundation
import LMDB
import Testing
@testable import EventLog

@Suite struct AppendTests {
    @Test func appendsAreGaplessVersionedAndChained() async throws {
        let log = try EventLog(path: temporaryDirectory())
        let report = try await log.append([draft(1, stream: "a"), draft(2, stream: "b"), draft(3, stream: "a")])
        let positions = report.outcomes.compactMap { if case .appended(let p) = $0 { return p } else { return nil } }
        #expect(positions.map(\.seq) == [1, 2, 3])
        #expect(positions.map(\.version) == [1, 1, 2])
        let verify = try log.verify()
        #expect(verify == VerifyResult(ok: true, checked: 3, firstBadSeq: nil, problem: nil))
        let head = try log.head()
        #expect(head.seq == 3 && head.streams == 2)
        #expect(try log.events().last?.hash == head.hash)
    }

    @Test func sameIdSameContentIsADuplicateOtherContentIsRefused() async throws {
        let log = try EventLog(path: temporaryDirectory())
        _ = try await log.append([draft(1)])
        let again = try await log.append([draft(1)])
        guard case .duplicate(let seq) = again.outcomes[0] else { Issue.record("expected duplicate"); return }
        #expect(seq == 1)
        let other = try await log.append([draft(1, body: "{\"n\":99}")])
        guard case .refused(let error) = other.outcomes[0] else { Issue.record("expected refusal"); return }
        #expect((error as? LogRefusal)?.kind == .duplicateId)
        #expect(try log.head().seq == 1)
    }

    @Test func expectedVersionConflictIsRefused() async throws {
        let log = try EventLog(path: temporaryDirectory())
        _ = try await log.append([draft(1, stream: "t", expected: 0), draft(2, stream: "t", expected: 1)])
        let stale = try await log.append([draft(3, stream: "t", expected: 1)])
        guard case .refused(let error) = stale.outcomes[0] else { Issue.record("expected conflict"); return }
        #expect((error as? LogRefusal)?.kind == .conflict)
        #expect(try log.head().seq == 2)
    }

    @Test func failingAtomicBatchLeavesNothing() async throws {
        let log = try EventLog(path: temporaryDirectory())
        _ = try await log.append([draft(1)])
        let before = try log.head()
        await #expect(throws: BatchRefused.self) {
            try await log.append([draft(2), draft(3), draft(4)], mode: .atomic, hook: RefuseAt(indexes: [2]))
        }
        #expect(try log.head() == before)
        #expect(try log.environment.read { txn in try log.seq(of: RecordID(high: 0xABCD, low: 2), in: txn) } == nil)
        // Without atomic, the others land.
        let report = try await log.append([draft(2), draft(3), draft(4)], hook: RefuseAt(indexes: [1]))
        #expect(report.appended == 2)
        #expect(try log.verify().ok)
    }

    @Test func atomicFailureInAGroupDoesNotTouchOtherRequests() async throws {
        let log = try EventLog(path: temporaryDirectory())
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<16 {
                group.addTask {
                    do {
                        _ = try await log.append([draft(UInt64(100 + i * 2)), draft(UInt64(101 + i * 2))],
                                                 mode: .atomic, hook: i % 2 == 0 ? RefuseAt(indexes: [1]) : nil)
                        return true
                    } catch is BatchRefused { return false }
                }
            }
            var ok = 0
            for try await r in group where r { ok += 1 }
            #expect(ok == 8)
        }
        #expect(try log.head().seq == 16)
        #expect(try log.verify().ok)
    }

    @Test func recordedAtNeverDecreasesEvenWhenTheClockDoes() throws {
        final class Clock: @unchecked Sendable { var t: Int64 = 1_000_000 }
        let clock = Clock()
        let log = try EventLog(path: temporaryDirectory(), clock: { clock.t })
        _ = try log.appendSync([draft(1)])
        clock.t = 5  // the wall clock went backwards
        _ = try log.appendSync([draft(2)])
        let times = try log.events().map(\.recordedAt)
        #expect(times == [1_000_000, 1_000_000])
        clock.t = 2_000_000
        _ = try log.appendSync([draft(3)])
        #expect(try log.seq(asOfTime: 1_500_000) == 2)
        #expect(try log.seq(asOfTime: 2_000_000) == 3)
        #expect(try log.seq(asOfTime: 10) == 0)
    }

    @Test func streamReadsForwardBackwardAndAsOf() throws {
        let log = try EventLog(path: temporaryDirectory())
        _ = try log.appendSync((1...10).map { draft($0, stream: $0 % 2 == 0 ? "even" : "odd") })
        #expect(try log.stream("even").map(\.version) == [1, 2, 3, 4, 5])
        #expect(try log.stream("even", from: 3).map(\.seq) == [6, 8, 10])
        #expect(try log.stream("even", from: 4, direction: .backward).map(\.seq) == [8, 6, 4, 2])
        #expect(try log.stream("even", asOf: 7).map(\.seq) == [2, 4, 6])
        #expect(try log.stream("odd", direction: .backward, limit: 2).map(\.seq) == [9, 7])
        #expect(try log.stream("none").isEmpty)
        #expect(try log.events(from: 4, through: 6).map(\.seq) == [4, 5, 6])
    }

    @Test func concurrentDurableAppendsAreGroupCommitted() async throws {
        let log = try EventLog(path: temporaryDirectory())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<64 { group.addTask { _ = try await log.append([draft(UInt64(i + 1))]) } }
            try await group.waitForAll()
        }
        let stats = log.commitStatistics
        #expect(stats.requests == 64)
        #expect(stats.commits < 64, "64 concurrent appends should share commits, got \(stats.commits)")
        #expect(try log.head().seq == 64)
        #expect(try log.verify().ok)
    }

    @Test func aMillionEventsFromAOneMebibyteMap() throws {
        var options = Environment.Options()
        options.mapSize = 1 << 20
        let log = try EventLog(path: temporaryDirectory(), options: options)
        let batch = 20_000
        for b in 0..<(1_000_000 / batch) {
            let report = try log.appendSync((0..<batch).map { draft(UInt64(b * batch + $0 + 1), stream: "s\($0 % 100)") })
            #expect(report.appended == batch)
        }
        #expect(try log.head().seq == 1_000_000)
        #expect(log.environment.mapSize > 1 << 20)
        #expect(try log.verify().ok)
    }

    /// A full map is the transaction's, not an event's: an atomic batch grows the map and
    /// commits (it was once reported as a refusal of the event that met MDB_MAP_FULL).
    @Test func anAtomicBatchLargerThanTheMapGrowsIt() throws {
        var options = Environment.Options()
        options.mapSize = 1 << 20
        let log = try EventLog(path: temporaryDirectory(), options: options)
        let report = try log.appendSync((1...20_000).map { draft(UInt64($0), stream: "s\($0 % 50)") }, mode: .atomic)
        #expect(report.appended == 20_000)
        #expect(log.environment.mapSize > 1 << 20)
        #expect(try log.head().seq == 20_000)
        #expect(try log.verify().ok)
    }

    /// Stream heads and ids are kept in memory for the whole commit and written at its end: an
    /// atomic request refused in the middle of a commit leaves none of its heads or ids behind
    /// for the requests after it.
    @Test func aRefusedAtomicRequestLeavesNothingForTheRestOfItsCommit() throws {
        let log = try EventLog(path: temporaryDirectory())
        let gate = Gate()
        let first = Latch<Result<AppendReport, any Error>>()
        log.appendDetached([draft(1)], hook: gate) { first.set($0) }
        gate.waitUntilHeld()
        let before = log.commitStatistics
        // Refused whole: its second draft expects version 5 of "s".
        let refused = Latch<Result<AppendReport, any Error>>()
        log.appendDetached([draft(2), draft(3, expected: 5)], mode: .atomic) { refused.set($0) }
        // Appended after it in the same commit: version 2 of "s", and id 2 is new.
        let after = Latch<Result<AppendReport, any Error>>()
        log.appendDetached([draft(4, expected: 1), draft(2), draft(4)]) { after.set($0) }
        // Give both requests time to queue behind the held one.
        Thread.sleep(forTimeInterval: 0.2)
        gate.open()
        #expect(try first.wait().get().appended == 1)
        #expect(throws: BatchRefused.self) { _ = try refused.wait().get() }
        let report = try after.wait().get()
        let positions = report.outcomes.compactMap { if case .appended(let p) = $0 { return p } else { return nil } }
        #expect(positions.map(\.version) == [2, 3])
        guard case .duplicate(let seq) = report.outcomes[2] else { Issue.record("id 4 again is a duplicate"); return }
        #expect(seq == positions[0].seq)
        // The two queued requests made one commit.
        #expect(log.commitStatistics.commits - before.commits == 2)
        #expect(try log.environment.read { try log.streamVersion("s", in: $0) } == 3)
        #expect(try log.head().seq == 3)
        // verify checks `streams`, `stream_links` and `ids` against the events.
        #expect(try log.verify().ok)
    }

    /// A transaction that meets MDB_MAP_FULL runs again from its start: every hook is told
    /// (`begin`), so that what it kept from the failed attempt is dropped.
    @Test func aRerunTransactionBeginsEachHookAgain() throws {
        final class Counting: AppendHook, @unchecked Sendable {
            let blobs: Database
            var attempts = 0, admitted = 0
            init(_ blobs: Database) { self.blobs = blobs }
            func begin(in txn: WriteTransaction) throws { attempts += 1; admitted = 0 }
            func admit(_ index: Int, at position: Position, in txn: WriteTransaction) throws {
                admitted += 1
                // More than the log can foresee from the drafts: the map fills.
                try txn.put(blobs, key: BigEndianKey.bytes(position.seq), value: [UInt8](repeating: 1, count: 64 << 10))
            }
            func finish(in txn: WriteTransaction) throws {
                try txn.put(blobs, key: Array("admitted".utf8), value: BigEndianKey.bytes(UInt64(admitted)))
            }
        }
        var options = Environment.Options()
        options.mapSize = 1 << 20
        let log = try EventLog(path: temporaryDirectory(), options: options)
        let hook = Counting(try log.environment.openDatabase("blobs"))
        let report = try log.appendSync((1...50).map { draft(UInt64($0)) }, hook: hook)
        #expect(report.appended == 50)
        #expect(hook.attempts >= 2, "the map filled and the transaction ran again")
        let admitted = try log.environment.read { try $0.get(hook.blobs, key: Array("admitted".utf8)).map { $0.withUnsafeBytes { BigEndianKey.uint64($0) } } }
        #expect(admitted == 50, "the hook counted this attempt's events only")
        #expect(try log.verify().ok)
    }

    @Test func readOnlyLogRefusesAppends() throws {
        let dir = temporaryDirectory()
        do { _ = try EventLog(path: dir).appendSync([draft(1)]) }
        var options = Environment.Options()
        options.readOnly = true
        let ro = try EventLog(path: dir, options: options)
        #expect(try ro.head().seq == 1)
        #expect(throws: LMDBError.self) { _ = try ro.appendSync([draft(2)]) }
        #expect(try ro.head().seq == 1)
    }
}
