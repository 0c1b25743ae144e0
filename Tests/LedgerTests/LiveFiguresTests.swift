import Compliance
import EscalationDomain
import Foundation
import Projections
import Simulation
import Testing
@testable import Ledger

/// The web view's live figures (LiveFigures) against the ledger's own answers: `ledger report`,
/// `ledger findings` and the checkpoint, at many deadline clocks and periods, on a simulated
/// contact centre, built once and then kept up to date through appends.
@Suite struct LiveFiguresTests {
    /// Every figure of a report that LiveFigures computes (not deEscalators, minimumRequests, sources).
    static func differences(_ a: Report, _ b: Report) -> [String] {
        var d: [String] = []
        func check<T: Equatable>(_ name: String, _ x: T, _ y: T) { if x != y { d.append("\(name): \(x) vs \(y)") } }
        check("from", a.from, b.from); check("to", a.to, b.to); check("clock", a.clock, b.clock)
        check("tickets", a.tickets, b.tickets); check("resolutions", a.resolutions, b.resolutions)
        check("unresolved", a.unresolved, b.unresolved); check("escalated", a.escalated, b.escalated)
        check("deEscalated", a.deEscalated, b.deEscalated); check("transfersAfterRequest", a.transfersAfterRequest, b.transfersAfterRequest)
        check("compliantTransfers", a.compliantTransfers, b.compliantTransfers); check("callbacksDue", a.callbacksDue, b.callbacksDue)
        check("callbacksOnTime", a.callbacksOnTime, b.callbacksOnTime); check("findings", a.findings, b.findings)
        check("weeks", a.weeks, b.weeks)
        return d
    }

    /// Compares every answer of `live` with the ledger's, at the log's head.
    static func compare(_ ledger: Ledger, _ live: LiveFigures, _ stage: String) throws {
        let head = try ledger.log.head().seq
        #expect(try live.refresh() == head, "\(stage): the figures reach the head")
        let far = Timestamp(rfc3339: "2100-01-01T00:00:00Z")!
        let whole = try ledger.report(from: nil, to: nil, at: try ledger.point(asOf: nil, now: far))
        let monday = try #require(whole.weeks.first?.start, "\(stage): tickets")
        let day: Int64 = 86_400_000_000
        func at(_ days: Double) -> Timestamp { monday.adding(microseconds: Int64(days * Double(day))) }
        // Deadline clocks from before the first ticket to after every deadline (debriefs 7 days,
        // follow-ups 14), through every day of the simulated weeks; periods of a day, open ones and the whole log.
        var clocks = [at(-1), far]
        for d in 0..<(7 * whole.weeks.count + 1) { clocks.append(at(Double(d) + 0.55)) }
        clocks += [at(Double(7 * whole.weeks.count) + 8), at(Double(7 * whole.weeks.count) + 15)]
        var periods: [(Timestamp?, Timestamp?)] = [(nil, nil), (at(2), nil), (nil, at(2).adding(microseconds: -1))]
        for d in 0..<(7 * whole.weeks.count) { periods.append((at(Double(d)), at(Double(d + 1)).adding(microseconds: -1_000_000))) }
        var kindsSeen = Set<[Finding.Kind: Int]>()
        for clock in clocks {
            for (from, to) in periods {
                let expected = try ledger.report(from: from, to: to, at: try ledger.point(asOf: nil, now: clock))
                let (got, seq) = live.report(from: from, to: to, clock: clock)
                #expect(seq == head)
                let d = differences(got, expected)
                #expect(d.isEmpty, "\(stage): report from \(String(describing: from)) to \(String(describing: to)) at \(clock): \(d)")
                if from == nil && to == nil { kindsSeen.insert(got.findings) }
            }
            for kind in [nil] + Finding.Kind.allCases {
                let expected = try ledger.findings(at: try ledger.point(asOf: nil, now: clock), kind: kind, staff: nil, ticket: nil).list
                let (got, seq) = live.findings(clock: clock, kind: kind)
                #expect(seq == head)
                #expect(got == expected, "\(stage): findings of \(kind?.rawValue ?? "every kind") at \(clock): \(got.count) vs \(expected.count)")
            }
        }
        #expect(kindsSeen.count >= 3, "\(stage): the clocks cross deadlines (the findings by kind change): \(kindsSeen.count)")
        let (mine, theirs) = (try live.checkpoint().checkpoint, try ledger.checkpoint().checkpoint)
        #expect(mine.treeSize == Int(head) && mine.treeSize == theirs.treeSize && mine.rootHash == theirs.rootHash && mine.origin == theirs.origin,
                "\(stage): the checkpoint")
    }

    @Test("equal to ledger report, ledger findings and the checkpoint at every clock and period, built once and then through appends")
    func equalTheLedgersAnswers() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        let lines = Array(Simulator(seed: 23, calls: 2_000)).map { String(decoding: $0, as: UTF8.self) }
        let first = lines.count * 6 / 10
        // (The simulator writes a few lines the rules refuse, as a contact centre does; they are left out.)
        _ = try ledger.importStrings(Array(lines[..<first]))
        let live = LiveFigures(ledger: ledger)
        try LiveFiguresTests.compare(ledger, live, "built")
        // Appends in three batches (tickets opened, others changed, deadlines added), each followed by a refresh.
        var start = first
        for (i, end) in [first + 500, first + 2_000, lines.count].enumerated() {
            let batch = Array(lines[start..<min(end, lines.count)])
            #expect(try ledger.importStrings(batch).appended > 0)
            try LiveFiguresTests.compare(ledger, live, "after batch \(i + 1)")
            start = min(end, lines.count)
        }
        // Tickets of a later week (the simulation's calls fill one): a transfer before two asks, a callback.
        var t = Script()
        let later: [String] = ["LT-1", "LT-2"].enumerated().flatMap { i, id -> [String] in
            let m = 10 * 24 * 60 + Double(i) * 90  // ten days after the simulation's first morning
            return [t.line("callOpened", m, actor: "ag-0001", ticket: id, ["agent": "ag-0001", "customer": ["id": "lt-\(i)", "name": "L", "phone": "1"], "issue": "late"]),
                    t.line("escalationRequested", m + 1, actor: "ag-0001", ticket: id, ["requestedBy": "customer", "scenario": "immediate", "reason": "refusedRecovery", "level": "supervisor", "goal": "now"]),
                    t.line("transferred", m + 2, actor: "ag-0001", ticket: id, ["from": "ag-0001", "to": "sup-001", "mode": "warm", "announcedName": "S", "announcedExtension": "1"]),
                    t.line("callbackScheduled", m + 3, actor: "sup-001", ticket: id, ["owner": "sup-001", "dueBy": Script.time(m + 600)])]
        }
        #expect(try ledger.importStrings(later).refused.isEmpty)
        try LiveFiguresTests.compare(ledger, live, "after a later week's tickets")
        #expect(live.report(from: nil, to: nil, clock: Timestamp(rfc3339: "2100-01-01T00:00:00Z")!).report.weeks.count >= 2)
        // A staff event changes no ticket; the figures move to the new head all the same.
        let before = live.report(from: nil, to: nil, clock: Timestamp(rfc3339: "2100-01-01T00:00:00Z")!).report
        var s = Script(counter: 100)
        #expect(try ledger.importStrings([s.line("staffEnrolled", 0, actor: "system", ["staff": "zz-live", "name": "Zed", "role": "agent"])]).refused.isEmpty)
        try LiveFiguresTests.compare(ledger, live, "after a staff event")
        #expect(LiveFiguresTests.differences(before, live.report(from: nil, to: nil, clock: Timestamp(rfc3339: "2100-01-01T00:00:00Z")!).report).isEmpty)
    }
}
