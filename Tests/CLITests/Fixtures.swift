/// Interchange lines for the tests: a small organisation and one escalated ticket.
enum Fixture {
    static func id(_ n: Int) -> String {
        let hex = String(n, radix: 16)
        return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - hex.count) + hex
    }

    /// Four staff (director, supervisor, team lead, agent), then ticket T-1: opened,
    /// escalation requested, one declined ask, a transfer to the supervisor (a
    /// `transferBeforeTwoAsks` finding), and a callback due 2026-03-03T09:00:00Z that
    /// is never completed (`callbackOverdue` once the clock passes it).
    static let organisation = [
        #"{"id":"\#(id(1))","type":"staffEnrolled","at":"2026-03-01T08:00:00Z","actor":"system","channel":"ask:org","staff":"dir-1","name":"Dana Director","role":"director","hourlyCost":120}"#,
        #"{"id":"\#(id(2))","type":"staffEnrolled","at":"2026-03-01T08:00:01Z","actor":"system","channel":"ask:org","staff":"sup-1","name":"Sam Super","role":"supervisor","reportsTo":"dir-1","extension":"3001","hourlyCost":60}"#,
        #"{"id":"\#(id(3))","type":"staffEnrolled","at":"2026-03-01T08:00:02Z","actor":"system","channel":"ask:org","staff":"tl-1","name":"Tess Lead","role":"teamLead","reportsTo":"sup-1"}"#,
        #"{"id":"\#(id(4))","type":"staffEnrolled","at":"2026-03-01T08:00:03Z","actor":"system","channel":"ask:org","staff":"a-1","name":"Alex Agent","role":"agent","reportsTo":"tl-1","extension":"2001"}"#,
    ]

    static let opened = [
        #"{"id":"\#(id(5))","type":"callOpened","at":"2026-03-02T09:00:00Z","actor":"a-1","channel":"ask:billing","ticket":"T-1","agent":"a-1","customer":{"id":"c-1","name":"Ann Customer","phone":"+1 555 0100"},"issue":"double charge"}"#,
        #"{"id":"\#(id(6))","type":"escalationRequested","at":"2026-03-02T09:01:00Z","actor":"a-1","channel":"ask:billing","ticket":"T-1","requestedBy":"customer","scenario":"immediate","reason":"policyException","level":"supervisor","goal":"a refund today"}"#,
        #"{"id":"\#(id(7))","type":"deEscalationAttempted","at":"2026-03-02T09:02:00Z","actor":"a-1","channel":"ask:billing","ticket":"T-1","agent":"a-1","technique":"askPermission","outcome":"declined"}"#,
    ]

    static let transferAndCallback = [
        #"{"id":"\#(id(8))","type":"transferred","at":"2026-03-02T09:03:00Z","actor":"a-1","channel":"ask:billing","ticket":"T-1","from":"a-1","to":"sup-1","mode":"warm","announcedName":"Sam Super","announcedExtension":"3001"}"#,
        #"{"id":"\#(id(9))","type":"callbackScheduled","at":"2026-03-02T09:10:00Z","actor":"sup-1","channel":"ask:billing","ticket":"T-1","owner":"sup-1","dueBy":"2026-03-03T09:00:00Z"}"#,
    ]

    static var good: [String] { organisation + opened + transferAndCallback }

    /// Lines 10...13 after `good`: one refusal each.
    static let bad: [(line: String, rule: String, id: String?)] = [
        (#"{"id":"\#(id(0x101))","type":"noteLogged","at":"2026-03-02T09:11:00Z","actor":"sup-1","channel":"dm:sup-1","ticket":"T-1","author":"sup-1","text":"by DM"}"#,
         "directMessage", id(0x101)),
        (#"{not json"#, "schema", nil),
        (#"{"id":"\#(id(0x103))","type":"noteLogged","at":"2026-03-02T09:12:00Z","actor":"nobody","channel":"ask:billing","ticket":"T-1","author":"nobody","text":"who am I"}"#,
         "unknownStaff", id(0x103)),
        (#"{"id":"\#(id(0x104))","type":"noteLogged","at":"2026-03-02T09:13:00Z","actor":"a-1","channel":"ask:billing","ticket":"T-404","author":"a-1","text":"no such ticket"}"#,
         "unknownTicket", id(0x104)),
    ]

    static var mixed: [String] { good + bad.map(\.line) }
}
