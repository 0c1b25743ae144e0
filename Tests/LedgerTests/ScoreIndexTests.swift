import EscalationDomain
import Foundation
import Projections
import Simulation
import Testing
@testable import Ledger

/// The stored projection answers scorecards from its scorecard index (docs/FORMAT.md): it must
/// equal a fold of every accountable ticket, at every clock, however the events arrived.
@Suite struct ScoreIndexTests {
    @Test func theScorecardIndexEqualsAFoldOfTheTicketsAtEveryClock() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        ledger.projector.chunkSize = 700  // many chunks: tickets change across flushes
        let lines = Array(Simulator(seed: 11, calls: 1_500)).map { String(decoding: $0, as: UTF8.self) }
        let times = lines.compactMap { line -> Timestamp? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let at = o["at"] as? String else { return nil }
            return Timestamp(rfc3339: at)
        }
        let first = try #require(times.min()), last = try #require(times.max())
        // Three imports, each followed by a catch-up: the index is kept across transactions.
        let third = lines.count / 3
        for part in [lines[..<third], lines[third..<(2 * third)], lines[(2 * third)...]] {
            _ = try ledger.importStrings(Array(part))
            try ledger.projector.catchUp()
        }
        let span = last.microsecondsSinceEpoch - first.microsecondsSinceEpoch
        var clocks = (0...10).map { Timestamp(microsecondsSinceEpoch: first.microsecondsSinceEpoch + span * Int64($0) / 10) }
        clocks.append(last.adding(days: 60))
        var sawDeadlineFindings = false
        for clock in clocks {
            let (indexed, folded) = try ledger.projector.read { (try $0.scorecards(clock: clock), try $0.foldedScorecards(clock: clock)) }
            #expect(indexed == folded, "scorecards at \(clock)")
            #expect(indexed.count > 10)
            if indexed.contains(where: { $0.callbacksOverdue > 0 || ($0.findings[.noDebrief] ?? 0) > 0 }) { sawDeadlineFindings = true }
        }
        #expect(sawDeadlineFindings, "the corpus has deadlines that pass: the test compares something")
        // A replay of the whole log in memory (no index) agrees, and so does a rebuild from scratch.
        let head = try ledger.log.head().seq
        let end = last.adding(days: 60)
        let incremental = try ledger.projector.read { try $0.scorecards(clock: end) }
        #expect(try ledger.projector.replay(through: head).scorecards(clock: end) == incremental)
        let digest = try ledger.projector.digest()
        try ledger.projector.rebuild()
        #expect(try ledger.projector.digest() == digest, "a rebuild writes the same index as the increments")
        #expect(try ledger.projector.read { try $0.scorecards(clock: end) } == incremental)
    }

    @Test func aLateDebriefRemovesTheDeadlineFromTheIndex() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        _ = try ledger.importStrings(ProjectionTests.scenario(&s))
        try ledger.projector.catchUp()
        let later = Timestamp(rfc3339: Script.time(60 * 24 * 30))!
        let before = try ledger.projector.read { try $0.scorecards(clock: later, staff: "tl1") }
        // T1 and T2 were escalated and resolved with no debrief: tl1, the superior at resolution, owes two.
        #expect(before.first?.findings[.noDebrief] == 2)
        #expect(before == (try ledger.projector.read { try $0.foldedScorecards(clock: later, staff: "tl1") }))
        // A debrief recorded now, with an event time inside the deadline, settles it.
        _ = try ledger.importStrings([s.line("debriefHeld", 200, actor: "tl1", ticket: "T2", ["agent": "a1", "coach": "tl1", "lessons": "y"])])
        try ledger.projector.catchUp()
        let after = try ledger.projector.read { try $0.scorecards(clock: later, staff: "tl1") }
        #expect(after.first?.findings[.noDebrief] == 1)
        #expect(after == (try ledger.projector.read { try $0.foldedScorecards(clock: later, staff: "tl1") }))
    }
}
