import Testing
@testable import EscalationDomain

@Suite("Streams, staff references, summaries, standalone rules")
struct EventModelTests {
    @Test("stream names")
    func streams() {
        let streams = Dictionary(Fixtures.full.map { ($0.type, $0.stream) }, uniquingKeysWith: { a, _ in a })
        #expect(streams[.staffEnrolled] == "staff:s-2")
        #expect(streams[.staffReassigned] == "staff:s-2")
        #expect(streams[.callOpened] == "ticket:T-9")
        #expect(streams[.sanctionIssued] == "ticket:T-9")
        #expect(streams[.legalHoldPlaced] == "customer:c-5")
        #expect(streams[.personalDataErased] == "customer:c-5")
        #expect(streams[.exportMade] == "ledger")
    }

    @Test("staff references")
    func staffReferences() {
        func refs(_ type: EventType) -> [String] {
            Fixtures.full.first { $0.type == type }!.staffReferences().map { "\($0.field)=\($0.staff)" }
        }
        #expect(refs(.staffEnrolled) == ["reportsTo=m-1"])
        #expect(refs(.staffReassigned) == ["staff=s-2", "reportsTo=m-3"])
        #expect(refs(.transferred) == ["from=a-17", "to=s-2"])
        #expect(refs(.alternativeOffered) == ["agent=a-17", "party=s-3"])
        #expect(refs(.sanctionIssued) == ["agent=a-17", "by=tl-1"])
        #expect(refs(.debriefHeld) == ["agent=a-17", "coach=tl-1"])
        #expect(refs(.escalationRequested).isEmpty)
        #expect(refs(.personalDataErased).isEmpty)
        #expect(Fixtures.minimal[0].staffReferences().isEmpty)
    }

    @Test("summaries are one line", arguments: Fixtures.full + Fixtures.minimal)
    func summaries(_ e: Event) {
        #expect(!e.summary.isEmpty)
        #expect(!e.summary.contains("\n"))
        #expect(e.summary.count < 160)
    }

    @Test("a summary's excerpt of free text: the byte check agrees with the Character walk")
    func excerpts() {
        var samples = ["", "a", "plain words", " leading", "trailing ", "two  spaces", "tab\there", "new\nline", "bell\u{07}",
                       "del\u{7F}", "é accent", "emoji 😀", String(repeating: "x", count: 59), String(repeating: "x", count: 60),
                       String(repeating: "x", count: 61), String(repeating: "ab ", count: 19) + "ab", "[masked]", "[erased]"]
        var g = SystemRandomNumberGenerator()
        let alphabet = Array("ab ~!\t\n\u{1F}é".unicodeScalars)
        for _ in 0..<2000 {
            samples.append(String(String.UnicodeScalarView((0..<Int.random(in: 0...70, using: &g)).map { _ in alphabet.randomElement(using: &g)! })))
        }
        for text in samples { #expect(excerpt(text) == excerptByCharacters(text), "\(text.debugDescription)") }
        #expect(excerpt(String(repeating: "x", count: 60)) == String(repeating: "x", count: 60) + "…")
    }

    @Test("a transfer's summary")
    func transferSummary() {
        let e = Fixtures.full.first { $0.type == .transferred }!
        #expect(e.summary == "a-17 transferred T-9 to s-2 (warm)")
        let opened = Fixtures.full.first { $0.type == .callOpened }!
        #expect(!opened.summary.contains("Zoë"))  // no personal data
    }

    @Test("standalone rules pass on the fixtures", arguments: Fixtures.full + Fixtures.minimal)
    func fixturesValid(_ e: Event) throws {
        try e.validateStandalone()
    }

    @Test("directMessage: the channel must be ask:<name>", arguments: ["", "ask:", "dm:a-1", "ASK:desk", "ask", "desk"])
    func directMessage(_ channel: String) {
        var e = Fixtures.full[3]
        e.channel = channel
        let error = #expect(throws: RuleViolation.self) { try e.validateStandalone() }
        #expect(error?.rule == .directMessage)
        #expect(error?.field == "channel")
        #expect(error?.eventID == e.id.description)
    }

    @Test("callbackInPast: dueBy must be later than at")
    func callbackInPast() throws {
        for offset: Int64 in [0, -1] {
            let e = Fixtures.event(80, .callbackScheduled(.init(owner: "s-2", dueBy: Fixtures.at.adding(microseconds: offset))))
            let error = #expect(throws: RuleViolation.self) { try e.validateStandalone() }
            #expect(error?.rule == .callbackInPast)
            #expect(error?.field == "dueBy")
        }
        try Fixtures.event(81, .callbackScheduled(.init(owner: "s-2", dueBy: Fixtures.at.adding(microseconds: 1))))
            .validateStandalone()
    }

    @Test("system may only enrol and reassign staff")
    func systemActor() {
        let e = Fixtures.event(82, actor: "system", .noteLogged(.init(author: "a", text: "t")))
        #expect((#expect(throws: RuleViolation.self) { try e.validateStandalone() })?.rule == .unknownStaff)
    }

    @Test("ticket presence matches the category")
    func ticketPresence() {
        let noTicket = Fixtures.event(83, ticket: nil, .noteLogged(.init(author: "a", text: "t")))
        #expect((#expect(throws: RuleViolation.self) { try noTicket.validateStandalone() })?.field == "ticket")
        let staffWithTicket = Fixtures.event(84, ticket: "T", actor: "system", .staffReassigned(.init(staff: "s", reportsTo: "m")))
        #expect((#expect(throws: RuleViolation.self) { try staffWithTicket.validateStandalone() })?.field == "ticket")
    }
}
