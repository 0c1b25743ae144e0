import EscalationDomain
import Foundation
import Projections
import Testing
@testable import Ledger

/// CONTRACT.md section 8's two clocks: `--as-of` cuts by event time (`at`), `--known-at` by
/// recorded time or seq. Each view is compared with a second, independent ledger that was only
/// ever given the events inside the cut.
@Suite struct TwoClocksTests {
    static func field(_ line: String, _ key: String) -> String? {
        ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?[key] as? String
    }

    /// The scenario with its tickets imported newest first, so that the log's order is not time order.
    static func corpus() -> [String] {
        var s = Script()
        let lines = ProjectionTests.scenario(&s)
        let org = lines.filter { field($0, "ticket") == nil }
        var order: [String] = []
        var byTicket: [String: [String]] = [:]
        for l in lines {
            guard let t = field(l, "ticket") else { continue }
            if byTicket[t] == nil { order.append(t) }
            byTicket[t, default: []].append(l)
        }
        return org + order.reversed().flatMap { byTicket[$0]! }
    }

    struct TicketView: Equatable {
        var status: TicketState.Status, owner: String, escalations: Int, asks: Int, level: Level?, resolution: Resolution?
        var transfers: [String], callbacks: [String]
        init(_ t: TicketState) {
            status = t.status; owner = t.owner; escalations = t.escalations; asks = t.asks; level = t.level; resolution = t.resolution
            transfers = t.transfers.map { "\($0.from)>\($0.to) \($0.mode) \($0.at)" }
            callbacks = t.callbacks.map { "\($0.owner) due \($0.dueBy) done \($0.completedAt?.description ?? "-")" }
        }
    }

    /// Findings without the seq (the two ledgers number their events differently).
    static func shape(_ list: [Finding]) -> Set<String> { Set(list.map { "\($0.kind) \($0.ticket) \($0.staff) \($0.at) \($0.reason)" }) }

    @Test func asOfAnEventTimeEqualsALedgerOfOnlyTheEventsUpToIt() throws {
        let all = TwoClocksTests.corpus()
        let ledger = try Ledger.open(at: temporaryDirectory())
        #expect(try ledger.importStrings(all).refused.isEmpty)
        let clock = Timestamp(rfc3339: Script.time(20_000))!
        for minutes in [5.0, 25, 45, 125, 405, 425, 10_000] {
            let cut = Timestamp(rfc3339: Script.time(minutes))!
            let inside = all.filter { Timestamp(rfc3339: TwoClocksTests.field($0, "at")!)! <= cut }
            let witness = try Ledger.open(at: temporaryDirectory())
            #expect(try witness.importStrings(inside).refused.isEmpty)
            let point = try ledger.point(asOf: .time(cut), now: clock)
            let now = try witness.point(asOf: nil, now: clock)
            #expect(point.isHistorical && point.clock == clock)
            let findings = try ledger.withProjections(at: point) { try $0.findings(clock: clock) }
            #expect(TwoClocksTests.shape(findings) == TwoClocksTests.shape(try witness.withProjections(at: now) { try $0.findings(clock: clock) }),
                    "findings as of \(cut)")
            let cards = try ledger.withProjections(at: point) { try $0.scorecards(clock: clock) }
            #expect(cards == (try witness.withProjections(at: now) { try $0.scorecards(clock: clock) }), "scorecards as of \(cut)")
            for t in ["T1", "T2", "T3", "T4"] {
                let mine = try ledger.ticket(t, at: point).map { TicketView($0.state) }
                let theirs = try witness.ticket(t, at: now).map { TicketView($0.state) }
                #expect(mine == theirs, "ticket \(t) as of \(cut)")
                #expect(try ledger.ticketEvents(t, at: point).count == (try witness.ticketEvents(t, at: now).count))
            }
        }
    }

    @Test func knownAtASeqEqualsALedgerCutAtThatSeq() throws {
        let all = TwoClocksTests.corpus()
        let ledger = try Ledger.open(at: temporaryDirectory())
        #expect(try ledger.importStrings(all).refused.isEmpty)
        let clock = Timestamp(rfc3339: Script.time(20_000))!
        for k in [12, 20, 30, all.count] {
            let witness = try Ledger.open(at: temporaryDirectory())
            #expect(try witness.importStrings(Array(all.prefix(k))).refused.isEmpty)
            let point = try ledger.point(asOf: nil, knownAt: .seq(UInt64(k)), now: clock)
            let now = try witness.point(asOf: nil, now: clock)
            #expect(try ledger.withProjections(at: point) { try $0.findings(clock: clock) } == (try witness.withProjections(at: now) { try $0.findings(clock: clock) }))
            #expect(try ledger.withProjections(at: point) { try $0.scorecards(clock: clock) } == (try witness.withProjections(at: now) { try $0.scorecards(clock: clock) }))
        }
        // Both clocks at once: known at seq 30, as of minute 45.
        let both = try ledger.point(asOf: .time(Timestamp(rfc3339: Script.time(45))!), knownAt: .seq(30), now: clock)
        let witness = try Ledger.open(at: temporaryDirectory())
        let inside = all.prefix(30).filter { Timestamp(rfc3339: TwoClocksTests.field($0, "at")!)! <= Timestamp(rfc3339: Script.time(45))! }
        #expect(try witness.importStrings(Array(inside)).refused.isEmpty)
        #expect(TwoClocksTests.shape(try ledger.withProjections(at: both) { try $0.findings(clock: clock) })
                == TwoClocksTests.shape(try witness.withProjections(at: try witness.point(asOf: nil, now: clock)) { try $0.findings(clock: clock) }))
    }

    @Test func aCutBeforeTheFirstEventSaysSo() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        #expect(try ledger.importStrings(TwoClocksTests.corpus()).refused.isEmpty)
        let point = try ledger.point(asOf: .time(Timestamp(rfc3339: "2020-01-01T00:00:00Z")!), now: nil)
        #expect(point.clock == Timestamp(rfc3339: "2020-01-01T00:00:00Z")!)
        do {
            _ = try ledger.withProjections(at: point) { try $0.findings(clock: point.clock) }
            Issue.record("an empty cut answered like a clean record")
        } catch let e as EmptyCut {
            #expect(e.description.contains("nothing is recorded as of 2020-01-01T00:00:00Z") && e.description.contains("first event happened at"), "\(e)")
        }
        let known = try ledger.point(asOf: nil, knownAt: .seq(0), now: nil)
        #expect(throws: EmptyCut.self) { try ledger.withProjections(at: known) { try $0.scorecards(clock: known.clock) } }
    }
}
