import EscalationDomain
import Foundation
import Projections
import Testing
@testable import Ledger

/// Every finding of CONTRACT.md section 5: a case that raises it and a near case that does not.
@Suite struct FindingTests {
    let ledger: Ledger
    var s = Script()

    init() throws {
        ledger = try Ledger.open(at: temporaryDirectory())
        _ = try ledger.importStrings(s.organisation())
    }

    mutating func request(_ t: String, _ m: Double, level: String = "supervisor") -> String {
        s.line("escalationRequested", m, actor: "a1", ticket: t,
               ["requestedBy": "customer", "scenario": "midConversation", "reason": "noProgress", "level": level, "goal": "refund"])
    }
    mutating func ask(_ t: String, _ m: Double, _ technique: String = "askPermission", outcome: String = "declined") -> String {
        s.line("deEscalationAttempted", m, actor: "a1", ticket: t, ["agent": "a1", "technique": technique, "outcome": outcome])
    }
    mutating func transfer(_ t: String, _ m: Double, from: String = "a1", to: String = "s1", mode: String = "warm", announced: Bool = true) -> String {
        var f: [String: Any] = ["from": from, "to": to, "mode": mode]
        if announced { f["announcedName"] = "Sam"; f["announcedExtension"] = "2774" }
        return s.line("transferred", m, actor: from, ticket: t, f)
    }
    mutating func resolve(_ t: String, _ m: Double, by: String = "a1", resolution: String = "resolvedByEscalation") -> String {
        s.line("ticketResolved", m, actor: by, ticket: t, ["by": by, "resolution": resolution])
    }

    /// Findings of one ticket at a clock `minutes` after the base.
    func findings(_ lines: [String], ticket: String, clockMinutes: Double = 60) throws -> [Finding] {
        let report = try ledger.importStrings(lines)
        #expect(report.refused.isEmpty, "\(report.refused)")
        let clock = Timestamp(rfc3339: Script.time(clockMinutes))!
        let point = try ledger.point(asOf: nil, now: clock)
        return try ledger.withProjections(at: point) { try $0.findings(clock: clock, ticket: ticket) }
    }

    @Test mutating func transferBeforeTwoAsks() throws {
        let raised = try findings([s.open("T1", 1), request("T1", 2), ask("T1", 3), transfer("T1", 4)], ticket: "T1")
        #expect(raised == [Finding(kind: .transferBeforeTwoAsks, ticket: "T1", staff: "a1", seq: 11, at: Timestamp(rfc3339: Script.time(4))!,
                                   reason: "transferred to s1 after 1 declined ask (2 required)")])
        #expect(raised.first?.id == "T1/11/transferBeforeTwoAsks")
        let near = try findings([s.open("T2", 1), request("T2", 2), ask("T2", 3), ask("T2", 4, "offerHelp"), transfer("T2", 5)], ticket: "T2")
        #expect(near.isEmpty)
        // An accepted ask or another technique does not count as a declined ask.
        let mixed = try findings([s.open("T3", 1), request("T3", 2), ask("T3", 3, outcome: "accepted"), ask("T3", 4, "empathize"), transfer("T3", 5)], ticket: "T3")
        #expect(mixed.map(\.kind) == [.transferBeforeTwoAsks])
    }

    @Test mutating func requestDeclined() throws {
        let raised = try findings([s.open("T1", 1), request("T1", 2), ask("T1", 3, "empathize"),
                                   s.line("requestDeclined", 4, actor: "tl1", ticket: "T1", ["by": "tl1", "reason": "not needed"])], ticket: "T1")
        #expect(raised.map(\.kind) == [.requestDeclined])
        #expect(raised.first?.staff == "tl1")
        let near = try findings([s.open("T2", 1), request("T2", 2),
                                 s.line("requestDeclined", 3, actor: "tl1", ticket: "T2", ["by": "tl1", "reason": "x"])], ticket: "T2")
        #expect(near.isEmpty)
    }

    @Test mutating func unavailableWithoutAlternative() throws {
        let unavailable = { (s: inout Script, t: String, m: Double) in
            s.line("supervisorAvailability", m, actor: "a1", ticket: t, ["supervisor": "s1", "available": false])
        }
        let raised = try findings([s.open("T1", 1), request("T1", 2), ask("T1", 3), ask("T1", 4), unavailable(&s, "T1", 5),
                                   transfer("T1", 6, to: "m1")], ticket: "T1")
        #expect(raised.map(\.kind) == [.unavailableWithoutAlternative])
        #expect(raised.first?.staff == "a1")
        let near = try findings([s.open("T2", 1), request("T2", 2), ask("T2", 3), ask("T2", 4), unavailable(&s, "T2", 5),
                                 s.line("alternativeOffered", 6, actor: "a1", ticket: "T2", ["agent": "a1", "kind": "supervisorCallback", "accepted": true]),
                                 resolve("T2", 7)], ticket: "T2")
        #expect(near.allSatisfy { $0.kind != .unavailableWithoutAlternative })
        // Still open and no transfer yet: nothing to flag.
        let pending = try findings([s.open("T3", 1), unavailable(&s, "T3", 2)], ticket: "T3")
        #expect(pending.isEmpty)
    }

    @Test mutating func unannouncedTransfer() throws {
        let blind = try findings([s.open("T1", 1), transfer("T1", 2, mode: "blind")], ticket: "T1")
        #expect(blind.map(\.kind) == [.unannouncedTransfer])
        let missing = try findings([s.open("T2", 1),
                                    s.line("transferred", 2, actor: "a1", ticket: "T2", ["from": "a1", "to": "s1", "mode": "warm", "announcedName": "Sam"])], ticket: "T2")
        #expect(missing.map(\.kind) == [.unannouncedTransfer])
        let near = try findings([s.open("T3", 1), transfer("T3", 2, mode: "conference")], ticket: "T3")
        #expect(near.isEmpty)
    }

    @Test mutating func callbackOverdueAndByOther() throws {
        let lines = [s.open("T1", 1), s.line("callbackScheduled", 2, actor: "a1", ticket: "T1", ["owner": "s1", "dueBy": Script.time(120)])]
        #expect(try findings(lines, ticket: "T1", clockMinutes: 119).isEmpty)
        #expect(try findings([], ticket: "T1", clockMinutes: 121).map(\.kind) == [.callbackOverdue])
        // Completed late: kept.
        let late = try findings([s.line("callbackCompleted", 130, actor: "s1", ticket: "T1", ["by": "s1", "reached": true])], ticket: "T1", clockMinutes: 200)
        #expect(late.map(\.kind) == [.callbackOverdue])
        #expect(late.first?.staff == "s1")
        // A deadline finding concerns the deadline, and says what happened.
        #expect(late.first?.at == Timestamp(rfc3339: Script.time(120)))
        #expect(late.first?.reason == "callback due \(Script.time(120)) completed late, at \(Script.time(130))", "\(String(describing: late.first?.reason))")
        // Completed on time by someone else: callbackByOther, not overdue.
        let other = try findings([s.open("T2", 1), s.line("callbackScheduled", 2, actor: "a1", ticket: "T2", ["owner": "s1", "dueBy": Script.time(120)]),
                                  s.line("callbackCompleted", 60, actor: "m1", ticket: "T2", ["by": "m1", "reached": true])], ticket: "T2", clockMinutes: 500)
        #expect(other.map(\.kind) == [.callbackByOther])
        #expect(other.first?.staff == "s1")
        let near = try findings([s.open("T3", 1), s.line("callbackScheduled", 2, actor: "a1", ticket: "T3", ["owner": "s1", "dueBy": Script.time(120)]),
                                 s.line("callbackCompleted", 60, actor: "s1", ticket: "T3", ["by": "s1", "reached": true])], ticket: "T3", clockMinutes: 500)
        #expect(near.isEmpty)
    }

    @Test mutating func noDebrief() throws {
        let day = 24.0 * 60
        let lines = [s.open("T1", 1), request("T1", 2), ask("T1", 3), ask("T1", 4), resolve("T1", 10, resolution: "resolvedByAgent")]
        #expect(try findings(lines, ticket: "T1", clockMinutes: 10 + 7 * day - 1).isEmpty)
        let raised = try findings([], ticket: "T1", clockMinutes: 10 + 7 * day + 1)
        #expect(raised.map(\.kind) == [.noDebrief])
        #expect(raised.first?.staff == "tl1")  // the opening agent's superior
        let near = try findings([s.open("T2", 1), request("T2", 2), resolve("T2", 10, resolution: "resolvedByAgent"),
                                 s.line("debriefHeld", 10 + 6 * day, actor: "tl1", ticket: "T2", ["agent": "a1", "coach": "tl1", "lessons": "x"])],
                                ticket: "T2", clockMinutes: 30 * day)
        #expect(near.isEmpty)
        // Not escalated: no debrief owed.
        let plain = try findings([s.open("T3", 1), resolve("T3", 10, resolution: "resolvedByAgent")], ticket: "T3", clockMinutes: 30 * day)
        #expect(plain.isEmpty)
    }

    @Test mutating func followUpMissing() throws {
        let day = 24.0 * 60
        let lines = [s.open("T1", 1), request("T1", 2), ask("T1", 3), ask("T1", 4), transfer("T1", 5)]
        #expect(try findings(lines, ticket: "T1", clockMinutes: 5 + 14 * day - 1).isEmpty)
        let raised = try findings([], ticket: "T1", clockMinutes: 5 + 14 * day + 1)
        #expect(raised.map(\.kind) == [.followUpMissing])
        #expect(raised.first?.staff == "tl1")
        let near = try findings([s.open("T2", 1), request("T2", 2), ask("T2", 3), ask("T2", 4), transfer("T2", 5),
                                 s.line("feedbackGiven", 5 + 13 * day, actor: "tl1", ticket: "T2", ["agent": "a1", "by": "tl1", "text": "x"])],
                                ticket: "T2", clockMinutes: 40 * day)
        #expect(near.isEmpty)
        // A transfer to a team lead does not reach a supervisor.
        let low = try findings([s.open("T3", 1), request("T3", 2), ask("T3", 3), ask("T3", 4), transfer("T3", 5, to: "tl1")], ticket: "T3", clockMinutes: 40 * day)
        #expect(low.isEmpty)
    }

    @Test mutating func idsTimesAndReasonsAreTheSameInEveryView() throws {
        let lines = [s.open("T1", 1), request("T1", 2), ask("T1", 3), transfer("T1", 4, mode: "blind", announced: false),
                     s.line("callbackScheduled", 5, actor: "s1", ticket: "T1", ["owner": "s1", "dueBy": Script.time(60)])]
        let clock = Timestamp(rfc3339: Script.time(10_000))!
        let stored = try findings(lines, ticket: "T1", clockMinutes: 10_000)
        #expect(Set(stored.map(\.kind)) == [.transferBeforeTwoAsks, .unannouncedTransfer, .callbackOverdue])
        #expect(Set(stored.map(\.id)).count == stored.count)
        #expect(stored.allSatisfy { !$0.reason.isEmpty && $0.id == "\($0.ticket)/\($0.seq)/\($0.kind.rawValue)" })
        // A replay of the log and a historical view of the ticket give the very same findings.
        let head = try ledger.log.head().seq
        #expect(try ledger.projector.replay(through: head).findings(clock: clock, ticket: "T1") == stored)
        let asOf = try #require(try ledger.projector.ticket("T1", asOf: head))
        #expect(asOf.findings(clock: clock) == stored)
        // After a replay of the stored projections, still the same.
        try ledger.projector.rebuild()
        let point = try ledger.point(asOf: nil, now: clock)
        #expect(try ledger.withProjections(at: point) { try $0.findings(clock: clock, ticket: "T1") } == stored)
    }
}
