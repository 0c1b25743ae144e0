import EscalationDomain
import Foundation
@testable import Projections
import Simulation
import Testing
@testable import Ledger

@Suite struct ProjectionTests {
    /// A hand-built scenario whose scorecard figures are worked out by hand below.
    static func scenario(_ s: inout Script) -> [String] {
        var lines = s.organisation()
        let req = { (s: inout Script, t: String, m: Double, by: String) in
            s.line("escalationRequested", m, actor: by, ticket: t,
                   ["requestedBy": "customer", "scenario": "immediate", "reason": "policyException", "level": "supervisor", "goal": "discount"])
        }
        let ask = { (s: inout Script, t: String, m: Double, agent: String) in
            s.line("deEscalationAttempted", m, actor: agent, ticket: t, ["agent": agent, "technique": "askPermission", "outcome": "declined"])
        }
        // T1 (a1): request, two declined asks, then resolved by the agent: de-escalated.
        lines += [s.open("T1", 0, agent: "a1"), req(&s, "T1", 1, "a1"), ask(&s, "T1", 2, "a1"), ask(&s, "T1", 3, "a1"),
                  s.line("ticketResolved", 10, actor: "a1", ticket: "T1", ["by": "a1", "resolution": "resolvedByAgent", "satisfied": true])]
        // T2 (a1): request, one ask, blind transfer to s1 (two findings), s1 resolves after 90 minutes.
        lines += [s.open("T2", 20, agent: "a1"), req(&s, "T2", 21, "a1"), ask(&s, "T2", 22, "a1"),
                  s.line("transferred", 30, actor: "a1", ticket: "T2", ["from": "a1", "to": "s1", "mode": "blind"]),
                  s.line("ticketResolved", 120, actor: "s1", ticket: "T2", ["by": "s1", "resolution": "resolvedByEscalation"])]
        // T3 (a2): request, callback owned by s1 due at 300, completed late at 400 by s1; resolved at 420.
        lines += [s.open("T3", 40, agent: "a2"), req(&s, "T3", 41, "a2"),
                  s.line("callbackScheduled", 45, actor: "a2", ticket: "T3", ["owner": "s1", "dueBy": Script.time(300)]),
                  s.line("callbackCompleted", 400, actor: "s1", ticket: "T3", ["by": "s1", "reached": true]),
                  s.line("ticketResolved", 420, actor: "a2", ticket: "T3", ["by": "a2", "resolution": "resolvedByEscalation"]),
                  s.line("feedbackGiven", 430, actor: "tl1", ticket: "T3", ["agent": "a2", "by": "tl1", "text": "ask twice"]),
                  s.line("debriefHeld", 440, actor: "tl1", ticket: "T3", ["agent": "a2", "coach": "tl1", "lessons": "x"])]
        // T4 (a2): no escalation, open callback owned by a2 due at 100, never completed.
        lines += [s.open("T4", 50, agent: "a2"),
                  s.line("callbackScheduled", 51, actor: "a2", ticket: "T4", ["owner": "a2", "dueBy": Script.time(100)])]
        return lines
    }

    @Test func scorecardsMatchFiguresWorkedOutByHand() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        let report = try ledger.importStrings(ProjectionTests.scenario(&s))
        #expect(report.refused.isEmpty, "\(report.refused)")
        let clock = Timestamp(rfc3339: Script.time(600))!  // 10 hours in: before any 7- or 14-day deadline
        let cards = try ledger.withProjections(at: try ledger.point(asOf: nil, now: clock)) { try $0.scorecards(clock: clock) }
        let byStaff = Dictionary(uniqueKeysWithValues: cards.map { ($0.staff, $0) })
        let a1 = try #require(byStaff["a1"])
        #expect(a1.counters.callsOpened == 2)
        #expect(a1.counters.escalationRequests == 2)
        #expect(a1.counters.deEscalationAttempts == 3)
        #expect(a1.counters.deEscalated == 1)            // T1 only
        #expect(a1.deEscalationRate == 0.5)               // 1 of 2 tickets with a request
        #expect(a1.counters.transfersOut == 1)
        #expect(a1.twoAskCompliance == 0)                 // its one transfer came after one ask
        #expect(a1.findings == [.transferBeforeTwoAsks: 1, .unannouncedTransfer: 1])
        #expect(a1.counters.supervisorLoad == 1)          // T2 reached s1
        // s1 on T2 from the transfer (minute 30) to resolution (120): 1.5 h at 60 = 90.
        #expect(abs(a1.counters.escalationCost - 90) < 1e-9)
        let a2 = try #require(byStaff["a2"])
        #expect(a2.counters.callsOpened == 2)
        #expect(a2.counters.deEscalated == 0)
        #expect(a2.deEscalationRate == 0)
        #expect(a2.twoAskCompliance == nil)
        #expect(a2.counters.feedbackReceived == 1 && a2.counters.debriefs == 1)
        #expect(a2.counters.callbacksOwed == 1)
        #expect(a2.callbacksOverdue == 1)                 // T4's, due at 100, open at 600
        #expect(a2.findings == [.callbackOverdue: 1])
        #expect(a2.counters.supervisorLoad == 1)          // T3's callback owned by s1
        // s1 on T3 from the callback scheduled at 45 to resolution at 420: 6.25 h at 60 = 375.
        #expect(abs(a2.counters.escalationCost - 375) < 1e-9)
        let s1 = try #require(byStaff["s1"])
        #expect(s1.counters.callbacksOwed == 1 && s1.counters.callbacksLate == 1 && s1.counters.callbacksOnTime == 0)
        #expect(s1.callbacksOverdue == 0)                 // completed (late): not open any more
        #expect(s1.findings == [.callbackOverdue: 1])     // kept though completed later
        #expect(byStaff["tl1"]?.findingsTotal == 0)       // no deadline has passed yet
        // Thirty days on, the superior owes debriefs and follow-ups.
        let later = Timestamp(rfc3339: Script.time(30 * 24 * 60))!
        let tl1 = try ledger.withProjections(at: try ledger.point(asOf: nil, now: later)) { try $0.scorecards(clock: later, staff: "tl1") }
        // noDebrief: T1 and T2 (T3 had one); followUpMissing: T2 (a1 got no feedback); T3 got feedback in time.
        #expect(tl1.first?.findings == [.noDebrief: 2, .followUpMissing: 1])
    }

    @Test func asOfViewEqualsAFreshReplayCutThere() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        _ = try ledger.importStrings(ProjectionTests.scenario(&s))
        let head = try ledger.log.head().seq
        for cut in stride(from: UInt64(8), through: head, by: 3) {
            let replay = try ledger.projector.replay(through: cut)
            for t in ["T1", "T2", "T3", "T4"] {
                let folded = try ledger.projector.ticket(t, asOf: cut)
                #expect(folded == replay.ticket(t), "ticket \(t) as of \(cut)")
            }
            let point = try ledger.point(asOf: .seq(cut), now: nil)
            let viaLedger = try ledger.withProjections(at: point) { try $0.scorecards(clock: point.clock) }
            #expect(viaLedger == (try replay.scorecards(clock: point.clock)))
        }
        // The head view from the stored projection equals a full replay.
        let clock = Timestamp(rfc3339: Script.time(10_000))!
        let stored = try ledger.withProjections(at: try ledger.point(asOf: nil, now: clock)) { try $0.findings(clock: clock) }
        #expect(stored == (try ledger.projector.replay(through: head).findings(clock: clock)))
        #expect(!stored.isEmpty)
    }

    @Test func knownAtATimeCutsByRecordedAt() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        _ = try ledger.importStrings(s.organisation() + [s.open("T1", 1)])
        let between = Timestamp.now()
        usleep(2000)
        _ = try ledger.importStrings([s.line("ticketResolved", 2, actor: "a1", ticket: "T1", ["by": "a1", "resolution": "resolvedByAgent"])])
        let then = try ledger.ticket("T1", at: try ledger.point(asOf: nil, knownAt: .time(between), now: nil))
        #expect(then?.state.status == .open)
        // --as-of that time is event time: the resolution happened (minute 2) long before it.
        #expect(try ledger.ticket("T1", at: try ledger.point(asOf: .time(between), now: nil))?.state.status == .resolved)
        let now = try ledger.ticket("T1", at: try ledger.point(asOf: nil, now: nil))
        #expect(now?.state.status == .resolved)
    }

    @Test func rebuildsAreIdenticalAndEqualTheIncrementalProjection() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        let lines = ProjectionTests.scenario(&s)
        // Incremental: catch up after every few lines, with a small chunk size.
        ledger.projector.chunkSize = 3
        for chunk in stride(from: 0, to: lines.count, by: 4) {
            _ = try ledger.importStrings(Array(lines[chunk..<min(chunk + 4, lines.count)]))
            try ledger.projector.catchUp()
        }
        let incremental = try ledger.projector.digest()
        try ledger.projector.rebuild()
        let first = try ledger.projector.digest()
        ledger.projector.chunkSize = 100_000
        try ledger.projector.rebuild()
        #expect(try ledger.projector.digest() == first)
        #expect(first == incremental)
        #expect(try ledger.projector.checkpoint() == (try ledger.log.head().seq))
    }

    /// A chunk of several full slices decodes each on another thread while the previous one is
    /// folded: the result must be what inline decoding of short chunks gives, byte for byte.
    @Test func aRebuildDecodingAheadEqualsCatchUpsInShortChunks() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        let lines = Array(Simulator(seed: 31, calls: 2_500)).map { String(decoding: $0, as: UTF8.self) }
        _ = try ledger.importStrings(lines)
        let head = try ledger.log.head().seq
        #expect(head > 2 * UInt64(Projector.sliceSize) + 100, "two full slices and a partial one")
        // Each chunk reads its own events (no read-ahead across chunks, tested below).
        ledger.projector.readsAhead = false
        ledger.projector.chunkSize = Projector.sliceSize - 1  // every slice short: decoded inline
        try ledger.projector.catchUp()
        let inline = try ledger.projector.digest()
        ledger.projector.chunkSize = 100_000
        try ledger.projector.rebuild()
        #expect(try ledger.projector.checkpoint() == head)
        #expect(try ledger.projector.digest() == inline)
    }

    /// A rebuild reads slices ahead across its chunks (``Projector/SliceFeed``), cut at the
    /// chunks' edges (here 5,000 events: a slice of 4,096 and one of 904 each): the result is
    /// what inline decoding of short chunks gives, byte for byte; so is a catch-up of a lag of
    /// several chunks, which reads ahead the same way.
    @Test func aRebuildReadingAheadAcrossChunksEqualsInlineCatchUps() throws {
        let lines = Array(Simulator(seed: 43, calls: 3_500)).map { String(decoding: $0, as: UTF8.self) }
        let ledger = try Ledger.open(at: temporaryDirectory())
        _ = try ledger.importStrings(lines)
        let head = try ledger.log.head().seq
        #expect(head > 12_000, "three chunks of 5,000 at least in part")
        ledger.projector.readsAhead = false
        ledger.projector.chunkSize = Projector.sliceSize - 1  // every chunk read and decoded inline
        try ledger.projector.catchUp()
        let inline = try ledger.projector.digest()
        ledger.projector.readsAhead = true
        ledger.projector.chunkSize = 5_000
        try ledger.projector.rebuild()
        #expect(try ledger.projector.checkpoint() == head)
        #expect(try ledger.projector.digest() == inline)
        // A catch-up of the whole log (another ledger: its pseudonyms are its own) reads ahead too.
        let other = try Ledger.open(at: temporaryDirectory())
        _ = try other.importStrings(lines)
        other.projector.chunkSize = 5_000
        #expect(try other.projector.catchUp() == head)
        let caughtUp = try other.projector.digest()
        other.projector.readsAhead = false
        other.projector.chunkSize = Projector.sliceSize - 1
        try other.projector.rebuild()
        #expect(try other.projector.digest() == caughtUp)
    }

    /// Events appended while a rebuild runs (between its chunks) lie beyond what it read ahead:
    /// its last chunk reads them itself, and the projection it swaps in reaches the new head.
    @Test func eventsAppendedDuringARebuildAreFoldedByIt() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        let lines = Array(Simulator(seed: 47, calls: 3_000)).map { String(decoding: $0, as: UTF8.self) }
        let early = lines.count * 3 / 4
        _ = try ledger.importStrings(Array(lines[..<early]))
        ledger.projector.chunkSize = 4_000
        var appended = false
        try ledger.projector.rebuild { _, _ in
            guard !appended else { return }
            appended = true
            _ = try? ledger.importStrings(Array(lines[early...]))
        }
        #expect(appended)
        let head = try ledger.log.head().seq
        #expect(try ledger.projector.checkpoint() == head)
        let during = try ledger.projector.digest()
        try ledger.projector.rebuild()
        #expect(try ledger.projector.digest() == during)
    }

    /// A chunk folded again (its transaction retried after the map grew) finds its slices taken
    /// already: the feed gives it none, and the next chunk's slices come after the earlier ones
    /// are dropped.
    @Test func aSliceFeedGivesOnlySlicesThatStartWhereTheChunkDoes() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        let lines = Array(Simulator(seed: 53, calls: 4_000)).map { String(decoding: $0, as: UTF8.self) }
        _ = try ledger.importStrings(lines)
        let head = try ledger.log.head().seq
        #expect(head > 15_000)
        let feed = Projector.SliceFeed(ledger.log, from: 1, through: head, chunkSize: 5_000)
        defer { feed.close() }
        /// The seqs of the slice the feed gives a chunk starting at `from`, and where it ends.
        func take(_ from: UInt64, _ through: UInt64) throws -> (seqs: [UInt64], through: UInt64)? {
            guard let (slice, end) = try feed.take(from: from, through: through) else { return nil }
            // A slice holds its events last first.
            let seqs: [UInt64] = slice.positions.map { p in p.seq }
            #expect(seqs == seqs.sorted(by: >))
            return (seqs.reversed(), end)
        }
        let first = try #require(try take(1, 5_000))
        #expect(first.through == 4_096)
        #expect(first.seqs == Array(1...4_096))
        let second = try #require(try take(4_097, 5_000))
        #expect(second.through == 5_000)
        #expect(second.seqs == Array(4_097...5_000))
        let again = try take(1, 5_000)
        #expect(again == nil, "a chunk folded again reads itself")
        // The slices of 5,001...10,000 are never taken: dropped on the way to 10,001.
        let third = try #require(try take(10_001, 15_000))
        #expect(third.through == 14_096)
        #expect(third.seqs.first == 10_001)
        let past = try take(14_097, 14_500)
        #expect(past == nil, "a slice ending past the chunk is not given")
    }

    /// A stored event that does not decode, in a slice decoded on the other thread: the rebuild
    /// fails with the decoder's error (no crash, nothing swapped in) and the active projection stays.
    @Test func aRebuildMeetingAnUndecodableEventFailsCleanly() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        let lines = Array(Simulator(seed: 41, calls: 2_500)).map { String(decoding: $0, as: UTF8.self) }
        _ = try ledger.importStrings(lines)
        try ledger.projector.catchUp()
        let before = try ledger.projector.digest()
        let seq = UInt64(Projector.sliceSize + 10)
        let events = try ledger.log.environment.openDatabase("events")
        try ledger.log.environment.write { txn in
            let key = (0..<8).map { UInt8(truncatingIfNeeded: seq >> (56 - 8 * $0)) }
            var record = try #require(try txn.get(events, key: key))
            let streamLength = Int(record[41]) << 8 | Int(record[42])
            #expect(record[43 + streamLength] == UInt8(ascii: "{"))
            record[43 + streamLength] = UInt8(ascii: "X")
            try txn.put(events, key: key, value: record)
        }
        #expect(throws: (any Error).self) { try ledger.projector.rebuild() }
        #expect(try ledger.projector.digest() == before)
    }

    /// A follower folds in read snapshots while imports hold the writer lock, and writes a chunk
    /// only where the projection still is: what it leaves equals a rebuild, byte for byte.
    @Test func aProjectionFollowingImportsEqualsARebuild() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        let lines = Array(Simulator(seed: 37, calls: 2_000)).map { String(decoding: $0, as: UTF8.self) }
        ledger.projector.chunkSize = 1_500  // several chunks, each written after the import moved on
        let follower = ProjectionFollower(ledger.projector)
        let half = lines.count / 2
        for part in stride(from: 0, to: half, by: 700) {
            _ = try ledger.importStrings(Array(lines[part..<min(part + 700, half)]))
        }
        // The follower alone brings the projection up to the head.
        let firstHead = try ledger.log.head().seq
        let deadline = Date(timeIntervalSinceNow: 60)
        while try ledger.projector.checkpoint() < firstHead && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(try ledger.projector.checkpoint() == firstHead)
        // Then catch-ups of the usual kind race it for the same chunks.
        for part in stride(from: half, to: lines.count, by: 700) {
            _ = try ledger.importStrings(Array(lines[part..<min(part + 700, lines.count)]))
            try ledger.projector.catchUp()
        }
        follower.stop()
        #expect(follower.failure == nil)
        try ledger.projector.catchUp()
        let head = try ledger.log.head().seq
        #expect(try ledger.projector.checkpoint() == head)
        let followed = try ledger.projector.digest()
        try ledger.projector.rebuild()
        #expect(try ledger.projector.digest() == followed)
        // A chunk folded from a checkpoint the projection has left is not written.
        let before = try ledger.projector.digest()
        #expect(try ledger.projector.catchUpBeside() == 0)
        #expect(try ledger.projector.digest() == before)
    }

    /// An import's follower folds whole chunks only (fewer rewrites of the same tickets' pages);
    /// the catch-up after it folds the rest, and the result equals a rebuild.
    @Test func anImportsFollowerFoldsWholeChunksOnly() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        let lines = Array(Simulator(seed: 41, calls: 1_500)).map { String(decoding: $0, as: UTF8.self) }
        ledger.projector.chunkSize = 2_000
        let follower = ProjectionFollower(ledger.projector, wholeChunks: true)
        _ = try ledger.importStrings(Array(lines[0..<1_500]))
        // Fewer than a chunk pending: the follower leaves them (it looks every 50 ms).
        Thread.sleep(forTimeInterval: 0.3)
        #expect(try ledger.projector.checkpoint() == 0)
        _ = try ledger.importStrings(Array(lines[1_500...]))
        let head = try ledger.log.head().seq
        #expect(head >= 4_000)
        let deadline = Date(timeIntervalSinceNow: 60)
        while try ledger.projector.checkpoint() < head / 2_000 * 2_000 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        follower.stop()
        #expect(follower.failure == nil)
        let followed = try ledger.projector.checkpoint()
        #expect(followed == head / 2_000 * 2_000, "the follower stopped at \(followed) of \(head)")
        try ledger.projector.catchUp()
        #expect(try ledger.projector.checkpoint() == head)
        let digest = try ledger.projector.digest()
        try ledger.projector.rebuild()
        #expect(try ledger.projector.digest() == digest)
    }

    @Test func erasureLeavesTheChainVerifiableAndTheFieldsUnreadable() throws {
        let dir = temporaryDirectory()
        var s = Script()
        do {
            let ledger = try Ledger.open(at: dir)
            _ = try ledger.importStrings(s.organisation() + [s.open("T1", 1, customer: "c42"), s.open("T2", 2, customer: "c43")])
            let before = try ledger.ticketEvents("T1", at: try ledger.point(asOf: nil, now: nil), view: .revealed)
            let shown = String(decoding: before[0].json, as: UTF8.self)
            #expect(shown.contains("Jane Roe") && shown.contains("c42"))
            // The stored bytes never hold the personal data in clear.
            let stored = String(decoding: before[0].record.payload, as: UTF8.self)
            #expect(!stored.contains("Jane Roe") && !stored.contains("+1 555 0100") && !stored.contains("\"c42\""))
            let report = try ledger.importStrings([s.line("personalDataErased", 3, actor: "m1", ["customer": "c42"])])
            #expect(report.appended == 1)
        }
        let ledger = try Ledger.open(at: dir)
        #expect(try ledger.log.verify().ok)
        let after = try ledger.ticketEvents("T1", at: try ledger.point(asOf: nil, now: nil), view: .revealed)
        let shown = String(decoding: after[0].json, as: UTF8.self)
        #expect(!shown.contains("Jane Roe") && !shown.contains("\"c42\""))
        #expect(shown.contains(Ledger.erased))
        // The other customer is untouched.
        let other = String(decoding: try ledger.ticketEvents("T2", at: try ledger.point(asOf: nil, now: nil), view: .revealed)[0].json, as: UTF8.self)
        #expect(other.contains("Jane Roe") && other.contains("c43"))
    }
}

extension ProjectionTests {
    @Test func aNewCallAfterAnErasureInTheBatchBeforeGetsAFreshKey() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        _ = try ledger.importStrings(s.organisation())
        // Batches of two lines: the erasure commits in one batch while the next is prepared.
        let lines = [s.open("T1", 1, customer: "c9"), s.line("noteLogged", 2, actor: "a1", ticket: "T1", ["author": "a1", "text": "x"]),
                     s.line("personalDataErased", 3, actor: "m1", ["customer": "c9"]), s.line("noteLogged", 4, actor: "a1", ticket: "T1", ["author": "a1", "text": "y"]),
                     s.open("T2", 5, customer: "c9"), s.line("noteLogged", 6, actor: "a1", ticket: "T2", ["author": "a1", "text": "z"])]
        let report = try ledger.importLines(lines.map { Array($0.utf8) }, batchSize: 2)
        #expect(report.appended == lines.count)
        let point = try ledger.point(asOf: nil, now: nil)
        let old = String(decoding: try ledger.ticketEvents("T1", at: point, view: .revealed)[0].json, as: UTF8.self)
        let new = String(decoding: try ledger.ticketEvents("T2", at: point, view: .revealed)[0].json, as: UTF8.self)
        #expect(old.contains(Ledger.erased) && !old.contains("Jane Roe"))
        #expect(new.contains("Jane Roe") && new.contains("\"c9\""), "the new call's data is sealed under a fresh key")
    }
}

extension ProjectionTests {
    @Test func asOfViewsUseEachStaffMembersStateAtTheTimeWhateverTheQueryOrder() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        let req = { (s: inout Script, t: String, m: Double) in
            s.line("escalationRequested", m, actor: "a1", ticket: t,
                   ["requestedBy": "customer", "scenario": "immediate", "reason": "other", "level": "supervisor", "goal": "x"])
        }
        var lines = s.organisation()
        lines += [s.open("T1", 1), req(&s, "T1", 2),
                  s.line("transferred", 3, actor: "a1", ticket: "T1", ["from": "a1", "to": "s1", "mode": "warm", "announcedName": "Sam", "announcedExtension": "2774"])]
        lines += [s.line("staffReassigned", 4, actor: "system", ["staff": "a1", "reportsTo": "m1"])]
        lines += [s.open("T2", 5), req(&s, "T2", 6),
                  s.line("transferred", 7, actor: "a1", ticket: "T2", ["from": "a1", "to": "s1", "mode": "warm", "announcedName": "Sam", "announcedExtension": "2774"])]
        #expect(try ledger.importStrings(lines).refused.isEmpty)
        let head = try ledger.log.head().seq
        let later = Timestamp(rfc3339: Script.time(60 * 24 * 30))!
        // Newest first (the staff history is read through the head), then older cuts.
        for cut in stride(from: head, through: 8, by: -1) {
            let replay = try ledger.projector.replay(through: cut)
            for t in ["T1", "T2"] {
                let folded = try ledger.projector.ticket(t, asOf: cut)
                #expect(folded == replay.ticket(t), "\(t) as of \(cut)")
            }
        }
        // The follow-up is owed by the opener's superior when the ticket reached a supervisor.
        #expect(try ledger.projector.ticket("T1", asOf: head)?.findings(clock: later).first { $0.kind == .followUpMissing }?.staff == "tl1")
        #expect(try ledger.projector.ticket("T2", asOf: head)?.findings(clock: later).first { $0.kind == .followUpMissing }?.staff == "m1")
    }
}

/// Issue 9: identity is byte equality. An NFD spelling of an identifier is refused, so it can
/// never merge with the NFC one, and the incremental projection equals a rebuild on a corpus
/// that tries both spellings.
@Suite struct NormalisationProjectionTests {
    @Test func nfdSpellingsAreRefusedAndIncrementalEqualsRebuild() throws {
        let nfc = "ag-\u{E9}", nfd = "ag-e\u{301}"  // the same name to Swift's String ==, not to the bytes
        #expect(nfc == nfd && Array(nfc.utf8) != Array(nfd.utf8))
        let ledger = try Ledger.open(at: temporaryDirectory())
        ledger.projector.chunkSize = 2
        var s = Script()
        var lines = s.organisation()
        lines.append(s.line("staffEnrolled", 0, actor: "system", ["staff": nfc, "name": "NFC", "role": "agent", "reportsTo": "tl1"]))
        lines.append(s.line("staffEnrolled", 0, actor: "system", ["staff": nfd, "name": "NFD", "role": "agent", "reportsTo": "tl1"]))
        for t in 0..<6 {
            let agent = t % 2 == 0 ? nfc : nfd
            lines += [s.open("N\(t)", Double(t), agent: agent),
                      s.line("ticketResolved", Double(t) + 0.5, actor: agent, ticket: "N\(t)", ["by": agent, "resolution": "resolvedByAgent"])]
        }
        var refused: [Refusal] = []
        for chunk in stride(from: 0, to: lines.count, by: 3) {
            refused += try ledger.importStrings(Array(lines[chunk..<min(chunk + 3, lines.count)])).refused
            try ledger.projector.catchUp()
        }
        // Every line naming the NFD spelling is refused with schema; the NFC member has their three calls.
        #expect(refused.count == 1 + 6 && refused.allSatisfy { $0.rule == "schema" || $0.rule == "unknownTicket" }, "\(refused)")
        #expect(refused.contains { $0.rule == "schema" && $0.field == "staff" })
        let clock = Timestamp(rfc3339: Script.time(100))!
        let cards = try ledger.withProjections(at: try ledger.point(asOf: nil, now: clock)) { try $0.scorecards(clock: clock) }
        #expect(cards.filter { $0.staff == nfc }.map(\.counters.callsOpened) == [3])
        #expect(!cards.contains { Array($0.staff.utf8) == Array(nfd.utf8) })
        let incremental = try ledger.projector.digest()
        try ledger.projector.rebuild()
        #expect(try ledger.projector.digest() == incremental)
    }
}
