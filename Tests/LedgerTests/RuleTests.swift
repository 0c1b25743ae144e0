import EscalationDomain
import EventLog
import Foundation
import LMDB
import Testing
@testable import Ledger

/// Holds the log's writer inside a transaction until ``open()``, so that requests submitted
/// meanwhile are committed together.
final class WriterGate: AppendHook, @unchecked Sendable {
    private let entered = DispatchSemaphore(value: 0)
    private let released = DispatchSemaphore(value: 0)
    func begin(in txn: WriteTransaction) throws { entered.signal(); released.wait() }
    func admit(_ index: Int, at position: Position, in txn: WriteTransaction) throws {}
    func waitUntilHeld() { entered.wait() }
    func open() { released.signal() }
}

/// Every rule of CONTRACT.md section 4: an accepted case and a refused case, and a refusal changes nothing.
@Suite struct RuleTests {
    let ledger: Ledger
    var s = Script()

    init() throws {
        ledger = try Ledger.open(at: temporaryDirectory())
        let org = s.organisation()
        #expect(try ledger.importStrings(org).appended == org.count)
    }

    /// Imports one line and returns its refusal, if any; checks a refusal appended nothing.
    func attempt(_ line: String) throws -> Refusal? {
        let before = try ledger.log.head()
        let report = try ledger.importStrings([line])
        if let r = report.refused.first {
            #expect(try ledger.log.head() == before, "a refused event must change nothing")
            return r
        }
        #expect(report.appended + report.duplicates == 1)
        return nil
    }

    @Test mutating func schema() throws {
        let r = try attempt(#"{"id":"00000000-0000-4000-8000-0000000000ff","type":"callOpened","at":"2026-03-02T09:00:00Z","actor":"a1","channel":"ask:x","ticket":"T1","agent":"a1","customer":{"id":"c1"},"issue":"x","mood":"angry"}"#)
        #expect(r?.rule == "schema")
        #expect(r?.field == "mood")
        #expect(r?.line == 1)
        #expect(try attempt(s.open("T1", 1)) == nil)
    }

    @Test mutating func directMessage() throws {
        let r = try attempt(s.line("callOpened", 1, actor: "a1", ticket: "T1", channel: "dm:a1",
                                   ["agent": "a1", "customer": ["id": "c1"], "issue": "x"]))
        #expect(r?.rule == "directMessage")
        #expect(r?.field == "channel")
        #expect(try attempt(s.open("T1", 1)) == nil)
    }

    @Test mutating func unknownStaff() throws {
        #expect(try attempt(s.open("T1", 1, agent: "ghost"))?.rule == "unknownStaff")
        #expect(try attempt(s.line("escalationRequested", 1, actor: "system", ticket: "T1",
                                   ["requestedBy": "customer", "scenario": "immediate", "reason": "other", "level": "supervisor", "goal": "x"]))?.rule == "unknownStaff")
        #expect(try attempt(s.open("T1", 1)) == nil)
        let r = try attempt(s.line("transferred", 2, actor: "a1", ticket: "T1", ["from": "a1", "to": "nobody", "mode": "warm"]))
        #expect(r?.rule == "unknownStaff")
        #expect(r?.field == "to")
    }

    @Test mutating func unknownTicketAndTicketExists() throws {
        let request = s.line("escalationRequested", 1, actor: "a1", ticket: "T9",
                             ["requestedBy": "customer", "scenario": "immediate", "reason": "other", "level": "supervisor", "goal": "x"])
        #expect(try attempt(request)?.rule == "unknownTicket")
        #expect(try attempt(s.open("T9", 1)) == nil)
        #expect(try attempt(s.open("T9", 2))?.rule == "ticketExists")
        #expect(try attempt(s.line("escalationRequested", 3, actor: "a1", ticket: "T9",
                                   ["requestedBy": "customer", "scenario": "immediate", "reason": "other", "level": "supervisor", "goal": "x"])) == nil)
    }

    @Test mutating func ticketClosed() throws {
        #expect(try attempt(s.open("T1", 1)) == nil)
        #expect(try attempt(s.line("ticketResolved", 2, actor: "a1", ticket: "T1", ["by": "a1", "resolution": "resolvedByAgent"])) == nil)
        let r = try attempt(s.line("transferred", 3, actor: "a1", ticket: "T1", ["from": "a1", "to": "s1", "mode": "warm"]))
        #expect(r?.rule == "ticketClosed")
        #expect(try attempt(s.line("debriefHeld", 4, actor: "tl1", ticket: "T1", ["agent": "a1", "coach": "tl1", "lessons": "ask twice"])) == nil)
        #expect(try attempt(s.line("noteLogged", 5, actor: "a1", ticket: "T1", ["author": "a1", "text": "closed out"])) == nil)
        #expect(try attempt(s.line("ticketReopened", 6, actor: "a1", ticket: "T1", ["by": "a1", "reason": "customer called back"])) == nil)
        #expect(try attempt(s.line("transferred", 7, actor: "a1", ticket: "T1", ["from": "a1", "to": "s1", "mode": "warm"])) == nil)
    }

    @Test mutating func notOwner() throws {
        #expect(try attempt(s.open("T1", 1)) == nil)
        #expect(try attempt(s.line("noteLogged", 2, actor: "a2", ticket: "T1", ["author": "a2", "text": "x"]))?.rule == "notOwner")
        #expect(try attempt(s.line("noteLogged", 2, actor: "a1", ticket: "T1", ["author": "a1", "text": "x"])) == nil)
        #expect(try attempt(s.line("transferred", 3, actor: "a1", ticket: "T1",
                                   ["from": "a1", "to": "s1", "mode": "warm", "announcedName": "Sam", "announcedExtension": "2774"])) == nil)
        // Seed 002: the person referred to writes the further notes.
        #expect(try attempt(s.line("noteLogged", 4, actor: "a1", ticket: "T1", ["author": "a1", "text": "x"]))?.rule == "notOwner")
        #expect(try attempt(s.line("noteLogged", 4, actor: "s1", ticket: "T1", ["author": "s1", "text": "x"])) == nil)
    }

    @Test mutating func notDirectSuperior() throws {
        #expect(try attempt(s.open("T1", 1)) == nil)
        let r = try attempt(s.line("feedbackGiven", 2, actor: "s1", ticket: "T1", ["agent": "a1", "by": "s1", "text": "x"]))
        #expect(r?.rule == "notDirectSuperior")
        #expect(r?.field == "by")
        #expect(try attempt(s.line("sanctionIssued", 2, actor: "m1", ticket: "T1", ["agent": "a1", "by": "m1", "severity": "coaching", "reason": "x"]))?.rule == "notDirectSuperior")
        #expect(try attempt(s.line("feedbackGiven", 3, actor: "tl1", ticket: "T1", ["agent": "a1", "by": "tl1", "text": "x"])) == nil)
        // At that moment: after a reassignment the new superior is the one.
        #expect(try attempt(s.line("staffReassigned", 4, actor: "system", ["staff": "a1", "reportsTo": "s1"])) == nil)
        #expect(try attempt(s.line("feedbackGiven", 5, actor: "tl1", ticket: "T1", ["agent": "a1", "by": "tl1", "text": "x"]))?.rule == "notDirectSuperior")
        #expect(try attempt(s.line("sanctionIssued", 5, actor: "s1", ticket: "T1", ["agent": "a1", "by": "s1", "severity": "coaching", "reason": "x"])) == nil)
    }

    @Test mutating func selfTransfer() throws {
        #expect(try attempt(s.open("T1", 1)) == nil)
        #expect(try attempt(s.line("transferred", 2, actor: "a1", ticket: "T1", ["from": "a1", "to": "a1", "mode": "warm"]))?.rule == "selfTransfer")
        let r = try attempt(s.line("transferred", 2, actor: "a2", ticket: "T1", ["from": "a2", "to": "s1", "mode": "warm"]))
        #expect(r?.rule == "selfTransfer")
        #expect(r?.field == "from")
        #expect(try attempt(s.line("transferred", 2, actor: "a1", ticket: "T1", ["from": "a1", "to": "s1", "mode": "warm"])) == nil)
    }

    @Test mutating func callbacks() throws {
        #expect(try attempt(s.open("T1", 1)) == nil)
        #expect(try attempt(s.line("callbackCompleted", 2, actor: "s1", ticket: "T1", ["by": "s1", "reached": true]))?.rule == "noCallbackScheduled")
        let past = try attempt(s.line("callbackScheduled", 3, actor: "a1", ticket: "T1", ["owner": "s1", "dueBy": Script.time(3)]))
        #expect(past?.rule == "callbackInPast")
        #expect(past?.field == "dueBy")
        #expect(try attempt(s.line("callbackScheduled", 3, actor: "a1", ticket: "T1", ["owner": "s1", "dueBy": Script.time(60)])) == nil)
        #expect(try attempt(s.line("callbackCompleted", 30, actor: "s1", ticket: "T1", ["by": "s1", "reached": true])) == nil)
        #expect(try attempt(s.line("callbackCompleted", 31, actor: "s1", ticket: "T1", ["by": "s1", "reached": true]))?.rule == "noCallbackScheduled")
    }

    @Test mutating func outOfOrder() throws {
        #expect(try attempt(s.open("T1", 10)) == nil)
        // A request an hour before the call opened; a resolution before it.
        let early = try attempt(s.line("escalationRequested", 9, actor: "a1", ticket: "T1",
                                       ["requestedBy": "customer", "scenario": "immediate", "reason": "other", "level": "supervisor", "goal": "x"]))
        #expect(early?.rule == "outOfOrder" && early?.field == "at", "\(String(describing: early))")
        #expect(try attempt(s.line("ticketResolved", 5, actor: "a1", ticket: "T1", ["by": "a1", "resolution": "resolvedByAgent", "satisfied": true]))?.rule == "outOfOrder")
        // The same time as the latest is in order; so is any later time.
        #expect(try attempt(s.line("noteLogged", 10, actor: "a1", ticket: "T1", ["author": "a1", "text": "same minute"])) == nil)
        #expect(try attempt(s.line("callbackScheduled", 20, actor: "a1", ticket: "T1", ["owner": "s1", "dueBy": Script.time(120)])) == nil)
        // A callback completed before it was scheduled (the 14:12 / 14:15 case): refused.
        let before = try attempt(s.line("callbackCompleted", 15, actor: "s1", ticket: "T1", ["by": "s1", "reached": true]))
        #expect(before?.rule == "outOfOrder")
        #expect(try attempt(s.line("callbackCompleted", 25, actor: "s1", ticket: "T1", ["by": "s1", "reached": true])) == nil)
        // Other tickets keep their own order.
        #expect(try attempt(s.open("T2", 1)) == nil)
        // Discipline after the fact is in order; before the ticket's latest event it is not.
        #expect(try attempt(s.line("feedbackGiven", 24, actor: "tl1", ticket: "T1", ["agent": "a1", "by": "tl1", "text": "x"]))?.rule == "outOfOrder")
        #expect(try attempt(s.line("feedbackGiven", 26, actor: "tl1", ticket: "T1", ["agent": "a1", "by": "tl1", "text": "x"])) == nil)
    }

    @Test mutating func legalHold() throws {
        #expect(try attempt(s.open("T1", 1, customer: "c7")) == nil)
        #expect(try attempt(s.line("legalHoldPlaced", 2, actor: "m1", ["customer": "c7", "matter": "case-12"])) == nil)
        let r = try attempt(s.line("personalDataErased", 3, actor: "m1", ["customer": "c7"]))
        #expect(r?.rule == "legalHold")
        #expect(try attempt(s.line("legalHoldReleased", 4, actor: "m1", ["customer": "c7", "matter": "case-12"])) == nil)
        #expect(try attempt(s.line("personalDataErased", 5, actor: "m1", ["customer": "c7"])) == nil)
    }

    @Test mutating func conflict() throws {
        #expect(try attempt(s.line("callOpened", 1, actor: "a1", ticket: "T1", expectedVersion: 0,
                                   ["agent": "a1", "customer": ["id": "c1"], "issue": "x"])) == nil)
        let r = try attempt(s.line("noteLogged", 2, actor: "a1", ticket: "T1", expectedVersion: 0, ["author": "a1", "text": "x"]))
        #expect(r?.rule == "conflict")
        #expect(r?.field == "expectedVersion")
        #expect(try attempt(s.line("noteLogged", 2, actor: "a1", ticket: "T1", expectedVersion: 1, ["author": "a1", "text": "x"])) == nil)
    }

    @Test mutating func duplicateId() throws {
        let line = s.open("T1", 1)
        #expect(try attempt(line) == nil)
        let again = try ledger.importStrings([line])
        #expect(again.duplicates == 1 && again.appended == 0 && again.refused.isEmpty)
        // The same id and non-personal content with other personal data: refused, judged against
        // the stored event (its digest computed again, its sealed values opened).
        var object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        var customer = try #require(object["customer"] as? [String: Any])
        customer["name"] = "Someone Else"
        object["customer"] = customer
        let changed = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        let personal = try attempt(changed)
        #expect(personal?.rule == "duplicateId")
        #expect(personal?.message.contains("with other personal data") == true, "\(String(describing: personal))")
        // Other non-personal content under the same id: the digests differ.
        object["channel"] = "ask:elsewhere"
        let other = try attempt(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
        #expect(other?.rule == "duplicateId")
        #expect(other?.message.contains("with other content") == true, "\(String(describing: other))")
        // The same id and content is a duplicate whatever happened since (here: the ticket closed).
        #expect(try attempt(s.line("ticketResolved", 2, actor: "a1", ticket: "T1", ["by": "a1", "resolution": "resolvedByAgent"])) == nil)
        #expect(try ledger.importStrings([line]).duplicates == 1)
        let id = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])["id"] as! String
        let r = try attempt(s.line("noteLogged", 3, actor: "a1", ticket: "T1", id: id, ["author": "a1", "text": "other"]))
        #expect(r?.rule == "duplicateId")
        #expect(r?.id == id)
    }

    @Test mutating func atomicImportIsAllOrNothing() throws {
        let before = try ledger.log.head()
        let lines = [s.open("T1", 1), s.line("noteLogged", 2, actor: "a2", ticket: "T1", ["author": "a2", "text": "x"]), s.open("T2", 3)]
        let report = try ledger.importStrings(lines, atomic: true)
        #expect(report.rolledBack)
        #expect(report.appended == 0)
        #expect(report.refused.map(\.line) == [2])
        #expect(report.refused.first?.rule == "notOwner")
        #expect(try ledger.log.head() == before)
        let ok = try ledger.importStrings([lines[0], lines[2]], atomic: true)
        #expect(ok.appended == 2 && !ok.rolledBack)
    }

    @Test mutating func concurrentWritersCannotBothOpenATicket() async throws {
        let a = s.open("T5", 1, agent: "a1"), b = s.open("T5", 1, agent: "a2")
        let ledger = self.ledger
        async let r1 = Task.detached { try ledger.importStrings([a]) }.value
        async let r2 = Task.detached { try ledger.importStrings([b]) }.value
        let (x, y) = try await (r1, r2)
        #expect(x.appended + y.appended == 1)
        #expect((x.refused + y.refused).map(\.rule) == ["ticketExists"])
    }
}

extension RuleTests {
    @Test mutating func exportMadeIsTheLedgersOwn() throws {
        let r = try attempt(s.line("exportMade", 1, actor: "system", channel: "ask:ledger",
                                   ["from": 1, "to": 2, "count": 2, "root": String(repeating: "ab", count: 32),
                                    "operator": "m1", "purpose": "x", "filter": "", "pseudonymized": false]))
        #expect(r?.rule == "schema")
        #expect(r?.field == "type")
    }
}

/// Contract version 2: who may write staff and compliance events, the reporting chart, releases.
extension RuleTests {
    /// Enrols compliance officer co1 (reporting to the director) and opens T1 for customer c7.
    mutating func enrolComplianceOfficer() throws {
        #expect(try attempt(s.line("staffEnrolled", 0, actor: "system", ["staff": "co1", "name": "Cora", "role": "compliance", "reportsTo": "d1"])) == nil)
        #expect(try attempt(s.open("T1", 1, customer: "c7")) == nil)
    }

    @Test mutating func notAuthorizedStaffEvents() throws {
        try enrolComplianceOfficer()
        for actor in ["a1", "tl1", "s1", "co1"] {
            let r = try attempt(s.line("staffEnrolled", 2, actor: actor, ["staff": "n-\(actor)", "name": "New", "role": "agent", "reportsTo": "tl1"]))
            #expect(r?.rule == "notAuthorized", "\(actor)")
            #expect(r?.field == "actor")
            #expect(try attempt(s.line("staffReassigned", 2, actor: actor, ["staff": "a2", "reportsTo": "s1"]))?.rule == "notAuthorized")
        }
        #expect(try attempt(s.line("staffEnrolled", 3, actor: "system", ["staff": "n1", "name": "N", "role": "agent", "reportsTo": "tl1"])) == nil)
        #expect(try attempt(s.line("staffEnrolled", 3, actor: "m1", ["staff": "n2", "name": "N", "role": "agent", "reportsTo": "tl1"])) == nil)
        #expect(try attempt(s.line("staffReassigned", 4, actor: "d1", ["staff": "n2", "reportsTo": "s1", "role": "teamLead"])) == nil)
    }

    @Test mutating func notAuthorizedComplianceEvents() throws {
        try enrolComplianceOfficer()
        for actor in ["a1", "e1", "tl1", "s1"] {
            let r = try attempt(s.line("legalHoldPlaced", 2, actor: actor, ["customer": "c7", "matter": "case-1"]))
            #expect(r?.rule == "notAuthorized", "\(actor)")
            #expect(r?.field == "actor")
            #expect(try attempt(s.line("personalDataErased", 2, actor: actor, ["customer": "c7"]))?.rule == "notAuthorized")
        }
        // The compliance officer's role is read back from the rule store (stored role byte 6).
        #expect(try attempt(s.line("legalHoldPlaced", 3, actor: "co1", ["customer": "c7", "matter": "case-1"])) == nil)
        #expect(try attempt(s.line("legalHoldReleased", 4, actor: "a1", ["customer": "c7", "matter": "case-1"]))?.rule == "notAuthorized")
        #expect(try attempt(s.line("legalHoldReleased", 4, actor: "co1", ["customer": "c7", "matter": "case-1"])) == nil)
        #expect(try attempt(s.line("legalHoldPlaced", 5, actor: "d1", ["customer": "c7", "matter": "case-2"])) == nil)
        #expect(try attempt(s.line("legalHoldReleased", 6, actor: "m1", ["customer": "c7", "matter": "case-2"])) == nil)
        #expect(try attempt(s.line("personalDataErased", 7, actor: "co1", ["customer": "c7"])) == nil)
        // A staff member reassigned into the compliance role gains the authority.
        #expect(try attempt(s.open("T2", 8, customer: "c8")) == nil)
        #expect(try attempt(s.line("personalDataErased", 9, actor: "e1", ["customer": "c8"]))?.rule == "notAuthorized")
        #expect(try attempt(s.line("staffReassigned", 9, actor: "system", ["staff": "e1", "reportsTo": "d1", "role": "compliance"])) == nil)
        #expect(try attempt(s.line("personalDataErased", 10, actor: "e1", ["customer": "c8"])) == nil)
    }

    @Test mutating func reportingCycle() throws {
        // d1 ← m1 ← s1 ← tl1 ← a1, a2, e1
        for (staff, superior) in [("s1", "s1"), ("d1", "a1"), ("m1", "tl1"), ("tl1", "a2"), ("s1", "e1")] {
            let r = try attempt(s.line("staffReassigned", 1, actor: "system", ["staff": staff, "reportsTo": superior]))
            #expect(r?.rule == "reportingCycle", "\(staff) → \(superior)")
            #expect(r?.field == "reportsTo")
        }
        // Enrolling: a new member reporting to themself, a re-enrolment under one's own report.
        #expect(try attempt(s.line("staffEnrolled", 1, actor: "system", ["staff": "x1", "name": "X", "role": "agent", "reportsTo": "x1"]))?.rule == "reportingCycle")
        #expect(try attempt(s.line("staffEnrolled", 1, actor: "system", ["staff": "m1", "name": "Mo", "role": "manager", "reportsTo": "a1"]))?.rule == "reportingCycle")
        // Moves that keep the chart a tree are accepted, and later checks walk the new chart.
        #expect(try attempt(s.line("staffReassigned", 2, actor: "system", ["staff": "a1", "reportsTo": "s1"])) == nil)
        #expect(try attempt(s.line("staffReassigned", 3, actor: "system", ["staff": "tl1", "reportsTo": "a1"])) == nil)
        #expect(try attempt(s.line("staffReassigned", 4, actor: "system", ["staff": "a1", "reportsTo": "a2"]))?.rule == "reportingCycle")
        #expect(try attempt(s.line("staffReassigned", 4, actor: "system", ["staff": "d1", "reportsTo": "m1"]))?.rule == "reportingCycle")
        #expect(try attempt(s.line("staffEnrolled", 5, actor: "system", ["staff": "co1", "name": "Cora", "role": "compliance", "reportsTo": "d1"])) == nil)
        #expect(try attempt(s.line("staffReassigned", 6, actor: "system", ["staff": "d1", "reportsTo": "co1"]))?.rule == "reportingCycle")
    }

    @Test mutating func noLegalHold() throws {
        try enrolComplianceOfficer()
        let none = try attempt(s.line("legalHoldReleased", 2, actor: "co1", ["customer": "c7", "matter": "case-1"]))
        #expect(none?.rule == "noLegalHold")
        #expect(none?.field == "matter")
        #expect(try attempt(s.line("legalHoldPlaced", 3, actor: "co1", ["customer": "c7", "matter": "case-1"])) == nil)
        #expect(try attempt(s.line("legalHoldReleased", 4, actor: "co1", ["customer": "c7", "matter": "case-2"]))?.rule == "noLegalHold")
        #expect(try attempt(s.line("legalHoldReleased", 5, actor: "co1", ["customer": "c7", "matter": "case-1"])) == nil)
        #expect(try attempt(s.line("legalHoldReleased", 6, actor: "co1", ["customer": "c7", "matter": "case-1"]))?.rule == "noLegalHold")
    }

    /// The staff and tickets a request reads and changes are kept in memory and written at the
    /// request's end: the next request of the same commit sees them, and a refused atomic
    /// request leaves nothing for it.
    @Test mutating func requestsCommittedTogetherSeeEachOthersRulesState() throws {
        let gate = WriterGate()
        ledger.log.appendDetached([], hook: gate) { _ in }
        gate.waitUntilHeld()
        let before = ledger.log.commitStatistics
        let requests: [(lines: [String], atomic: Bool)] = [
            ([s.open("T1", 1)], false),
            // T1 exists, opened by the request before: a1 owns it.
            ([s.line("noteLogged", 2, actor: "a1", ticket: "T1", ["author": "a1", "text": "x"])], false),
            // Refused whole (T9 is unknown): its transfer to s1 must not be seen after it.
            ([s.line("transferred", 3, actor: "a1", ticket: "T1", ["from": "a1", "to": "s1", "mode": "warm", "announcedName": "Sam", "announcedExtension": "2774"]),
              s.line("noteLogged", 3, actor: "a1", ticket: "T9", ["author": "a1", "text": "x"])], true),
            // a1 still owns T1; then the transfer, and s1's note, which needs it, in one request.
            ([s.line("noteLogged", 4, actor: "a1", ticket: "T1", ["author": "a1", "text": "x"]),
              s.line("transferred", 5, actor: "a1", ticket: "T1", ["from": "a1", "to": "s1", "mode": "warm", "announcedName": "Sam", "announcedExtension": "2774"]),
              s.line("noteLogged", 6, actor: "s1", ticket: "T1", ["author": "s1", "text": "x"])], false),
        ]
        let latches = requests.map { _ in Latch<Result<ImportReport, any Error>>() }
        for (request, latch) in zip(requests, latches) {
            ledger.importLines(request.lines.map { Array($0.utf8) }, atomic: request.atomic) { latch.set($0) }
        }
        Thread.sleep(forTimeInterval: 0.2)  // the requests queue behind the held transaction
        gate.open()
        let reports = try latches.map { try $0.wait().get() }
        #expect(reports.map(\.appended) == [1, 1, 0, 3])
        #expect(reports[2].refused.map(\.rule) == ["unknownTicket"])
        #expect(ledger.log.commitStatistics.commits - before.commits == 2, "the four requests made one commit")
        #expect(try ledger.verifyDeep().ok, "the rules' state is what a replay of the log gives")
    }

    @Test mutating func identifiersAndNull() throws {
        let nfd = try attempt(s.open("T1", 1, customer: "Jose\u{301}"))
        #expect(nfd?.rule == "schema")
        #expect(nfd?.field == "customer.id")
        #expect(try attempt(s.open("T\u{1B}[2J", 1))?.field == "ticket")
        #expect(try attempt(s.open("T1", 1, customer: "Jos\u{E9}")) == nil)
        let null = try attempt(s.line("ticketResolved", 2, actor: "a1", ticket: "T1", ["by": "a1", "resolution": "resolvedByAgent", "satisfied": NSNull()]))
        #expect(null?.rule == "schema")
        #expect(null?.field == "satisfied")
    }
}
