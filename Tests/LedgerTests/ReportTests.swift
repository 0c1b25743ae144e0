import EscalationDomain
import Foundation
import Projections
import Testing
@testable import Ledger

/// `ledger report` on the hand-built scenario of ProjectionTests, every figure worked out by hand.
@Suite struct ReportTests {
    @Test func figuresWorkedOutByHand() throws {
        let ledger = try Ledger.open(at: temporaryDirectory())
        var s = Script()
        #expect(try ledger.importStrings(ProjectionTests.scenario(&s)).refused.isEmpty)
        let clock = Timestamp(rfc3339: Script.time(600))!
        let r = try ledger.report(from: nil, to: nil, at: try ledger.point(asOf: nil, now: clock), minimumRequests: 1)
        // T1 de-escalated by a1; T2 blind transfer after one ask, resolved by s1; T3 callback late, resolved;
        // T4 no request, callback due at 100 never completed.
        #expect(r.tickets == 4)
        #expect(r.resolutions == ["resolvedByAgent": 1, "resolvedByEscalation": 2])
        #expect(r.unresolved == ["awaitingCallback": 1])
        #expect(r.escalated == 3 && r.escalationRate == 0.75)
        #expect(r.deEscalated == 1 && r.deEscalationRate == 1.0 / 3.0)
        #expect(r.transfersAfterRequest == 1 && r.compliantTransfers == 0 && r.twoAskCompliance == 0)
        #expect(r.callbacksDue == 2 && r.callbacksOnTime == 0 && r.callbackOnTimeRate == 0)
        #expect(r.findings == [.transferBeforeTwoAsks: 1, .unannouncedTransfer: 1, .callbackOverdue: 2])
        #expect(r.perThousandCalls(.callbackOverdue) == 500)
        #expect(r.deEscalators == [Report.Agent(staff: "a1", ticketsWithRequest: 2, deEscalated: 1),
                                   Report.Agent(staff: "a2", ticketsWithRequest: 1, deEscalated: 0)])
        // s1's time: 1.5 h on T2 (a1's), 6.25 h on T3 (a2's), at 60 an hour.
        #expect(r.sources.map(\.staff) == ["a2", "a1"])
        #expect(abs(r.sources[0].cost - 375) < 1e-9 && abs(r.sources[1].cost - 90) < 1e-9)
        #expect(r.weeks.count == 1 && r.weeks[0].tickets == 4 && r.weeks[0].escalated == 3 && r.weeks[0].findings == 4)
        #expect(r.weeks[0].start <= Timestamp(rfc3339: Script.time(0))! && Ledger.weekStart(r.weeks[0].start) == r.weeks[0].start)
        // A period holding only T3 and T4 (opened at minutes 40 and 50).
        let late = try ledger.report(from: Timestamp(rfc3339: Script.time(35))!, to: Timestamp(rfc3339: Script.time(55))!,
                                     at: try ledger.point(asOf: nil, now: clock), minimumRequests: 1)
        #expect(late.tickets == 2 && late.escalated == 1 && late.findings == [.callbackOverdue: 2])
        // Monday 00:00 UTC: 2026-03-02 was a Monday.
        #expect(Ledger.weekStart(Timestamp(rfc3339: "2026-03-04T10:00:00Z")!) == Timestamp(rfc3339: "2026-03-02T00:00:00Z")!)
        #expect(Ledger.weekStart(Timestamp(rfc3339: "2026-03-02T00:00:00Z")!) == Timestamp(rfc3339: "2026-03-02T00:00:00Z")!)
    }
}
