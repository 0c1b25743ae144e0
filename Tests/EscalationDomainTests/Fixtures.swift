import EscalationDomain

/// Sample events: one per type with every optional field set, and one per
/// type with only the required fields.
enum Fixtures {
    static let at = Timestamp(rfc3339: "2024-03-01T09:30:05.25Z")!

    static func id(_ n: UInt64) -> EventID { EventID(high: 0x0b7c_3e2a_1d4f_4a5b, low: 0x9c6d_0000_0000_0000 | n) }

    static func event(_ n: UInt64, ticket: String? = "T-9", version: UInt64? = nil, actor: String = "a-17",
                      _ body: Event.Body) -> Event {
        Event(id: id(n), at: at, actor: actor, channel: "ask:desk", ticket: ticket, expectedVersion: version, body: body)
    }

    /// Every type, all optionals present.
    static var full: [Event] {
        [
            event(1, ticket: nil, version: 0, actor: "system", .staffEnrolled(.init(
                staff: "s-2", name: "Ann Lee", role: .supervisor, reportsTo: "m-1", extension: "2774",
                hourlyCost: ExactDecimal("42.5")))),
            event(2, ticket: nil, version: 1, actor: "system", .staffReassigned(.init(staff: "s-2", reportsTo: "m-3", role: .manager))),
            event(3, version: 0, .callOpened(.init(
                agent: "a-17", customer: Customer(id: "c-5", name: "Zoë \"Z\" O'Neil", phone: "+44 20 7946 0018"),
                issue: "Refund for order #1234\nsecond line", repeatOf: "T-3"))),
            event(4, version: 1, .escalationRequested(.init(
                requestedBy: .customer, scenario: .midConversation, reason: .refusedRecovery, level: .manager,
                goal: "a full refund"))),
            event(5, version: 2, .deEscalationAttempted(.init(agent: "a-17", technique: .askPermission, outcome: .declined))),
            event(6, version: 3, .supervisorAvailability(.init(supervisor: "s-2", available: false))),
            event(7, version: 4, .alternativeOffered(.init(agent: "a-17", kind: .otherParty, party: "s-3", accepted: true))),
            event(8, version: 5, .requestDeclined(.init(by: "s-2", reason: "policy"))),
            event(9, version: 6, .transferred(.init(
                from: "a-17", to: "s-2", mode: .warm, announcedName: "Jim Smith", announcedExtension: "2774"))),
            event(10, version: 7, .callbackScheduled(.init(owner: "s-2", dueBy: at.adding(days: 1)))),
            event(11, version: 8, .callbackCompleted(.init(by: "s-2", reached: true))),
            event(12, version: 9, .noteLogged(.init(author: "s-2", text: "called back 📞, all good"))),
            event(13, version: 10, .ticketResolved(.init(by: "s-2", resolution: .resolvedByEscalation, satisfied: true))),
            event(14, version: 11, .ticketReopened(.init(by: "a-17", reason: "customer called again"))),
            event(15, version: 12, actor: "tl-1", .debriefHeld(.init(agent: "a-17", coach: "tl-1", lessons: "ask twice"))),
            event(16, version: 13, actor: "tl-1", .feedbackGiven(.init(agent: "a-17", by: "tl-1", text: "good call"))),
            event(17, version: 14, actor: "tl-1", .sanctionIssued(.init(
                agent: "a-17", by: "tl-1", severity: .verbalWarning, reason: "blind transfer"))),
            event(18, ticket: nil, version: 0, actor: "dpo-1", .legalHoldPlaced(.init(customer: "c-5", matter: "M-2024-1"))),
            event(19, ticket: nil, version: 1, actor: "dpo-1", .legalHoldReleased(.init(customer: "c-5", matter: "M-2024-1"))),
            event(20, ticket: nil, version: 2, actor: "dpo-1", .personalDataErased(.init(customer: "c-5"))),
            event(21, ticket: nil, version: 0, actor: "system", .exportMade(.init(
                from: 1, to: 100, count: 100, root: String(repeating: "ab", count: 32), operator: "dpo-1",
                purpose: "annual audit", filter: "--from 1 --to 100", pseudonymized: true))),
            event(22, ticket: nil, version: 0, actor: "system", .personalDataRevealed(.init(
                operator: "dpo-1", purpose: "subject access", customers: ["cus_00", "cus_01"], query: "customer c-5"))),
        ]
    }

    /// Every type, required fields only.
    static var minimal: [Event] {
        [
            event(31, ticket: nil, actor: "system", .staffEnrolled(.init(staff: "d-1", name: "Dee", role: .director))),
            event(32, ticket: nil, actor: "system", .staffReassigned(.init(staff: "s-2", reportsTo: "m-3"))),
            event(33, .callOpened(.init(agent: "a-17", customer: Customer(id: "c-5"), issue: ""))),
            event(34, .escalationRequested(.init(
                requestedBy: .agent, scenario: .immediate, reason: .other, level: .director, goal: "x"))),
            event(35, .deEscalationAttempted(.init(agent: "a-17", technique: .empathize, outcome: .accepted))),
            event(36, .supervisorAvailability(.init(supervisor: "s-2", available: true))),
            event(37, .alternativeOffered(.init(agent: "a-17", kind: .supervisorCallback, accepted: false))),
            event(38, .requestDeclined(.init(by: "s-2", reason: ""))),
            event(39, .transferred(.init(from: "a-17", to: "s-2", mode: .blind))),
            event(40, .callbackScheduled(.init(owner: "s-2", dueBy: at.adding(seconds: 60)))),
            event(41, .callbackCompleted(.init(by: "s-2", reached: false))),
            event(42, .noteLogged(.init(author: "a-17", text: "n"))),
            event(43, .ticketResolved(.init(by: "a-17", resolution: .unresolved))),
            event(44, .ticketReopened(.init(by: "a-17", reason: "r"))),
            event(45, .debriefHeld(.init(agent: "a-17", coach: "tl-1", lessons: ""))),
            event(46, .feedbackGiven(.init(agent: "a-17", by: "tl-1", text: ""))),
            event(47, .sanctionIssued(.init(agent: "a-17", by: "tl-1", severity: .finalWarning, reason: ""))),
            event(48, ticket: nil, .legalHoldPlaced(.init(customer: "c-5", matter: "M"))),
            event(49, ticket: nil, .legalHoldReleased(.init(customer: "c-5", matter: "M"))),
            event(50, ticket: nil, .personalDataErased(.init(customer: "c-5"))),
            event(51, ticket: nil, actor: "system", .exportMade(.init(from: 0, to: 0, count: 0, root: "00", operator: "m-1", purpose: "audit", filter: "", pseudonymized: false))),
            event(52, ticket: nil, actor: "system", .personalDataRevealed(.init(operator: "m-1", purpose: "p", customers: [], query: "q"))),
        ]
    }

    /// A typical interchange line.
    static let callOpenedLine = """
        {"id":"0b7c3e2a-1d4f-4a5b-9c6d-7e8f9a0b1c2d","type":"callOpened","at":"2024-03-01T09:30:05Z",\
        "actor":"a-17","channel":"ask:frontline","ticket":"T-2024-000123","agent":"a-17",\
        "customer":{"id":"c-88412","name":"Ann Example","phone":"+44 20 7946 0018"},\
        "issue":"Refund refused for order 55121, wants a manager","expectedVersion":0}
        """
}

/// The top-level keys of a canonical (whitespace-free) JSON object, in order.
func topLevelKeys(_ bytes: [UInt8]) -> [String] {
    var keys: [String] = []
    var depth = 0
    var inString = false
    var escaped = false
    var expectKey = false
    var current: [UInt8] = []
    for b in bytes {
        if inString {
            if escaped { escaped = false; if depth == 1 && expectKey { current.append(b) }; continue }
            if b == UInt8(ascii: "\\") { escaped = true; continue }
            if b == UInt8(ascii: "\"") {
                inString = false
                if depth == 1 && expectKey { keys.append(String(decoding: current, as: UTF8.self)); expectKey = false }
                continue
            }
            if depth == 1 && expectKey { current.append(b) }
            continue
        }
        switch b {
        case UInt8(ascii: "\""): inString = true; current = []
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            depth += 1
            if depth == 1 { expectKey = true }
        case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
        case UInt8(ascii: ","): if depth == 1 { expectKey = true }
        default: break
        }
    }
    return keys
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}
