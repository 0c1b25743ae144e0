import Foundation
import Testing

/// The spreadsheet formula guard (docs/EXPORT.md, "Formula guard") in every CSV written for
/// people: each query's `--format csv` and the web view's downloads, which stay the command's
/// bytes; and an export bundle downloaded from the web view.
@Suite("CSV formula guard: the command line and the web view's downloads", .serialized)
struct WebViewCSVGuardTests {
    static let guardedFormula = #""'=HYPERLINK(""http://evil.example/"",""click"")""#
    static let now = "2027-01-01T00:00:00Z"

    /// The fixture, and ticket `+T-2` of customer `@c-9`: a note whose text is a formula, an
    /// ordinary note, and a transfer before two asks (a finding on `+T-2`).
    static var lines: [String] {
        func id(_ n: Int) -> String { Fixture.id(0x200 + n) }
        return Fixture.good + [
            #"{"id":"\#(id(1))","type":"callOpened","at":"2026-03-02T10:00:00Z","actor":"a-1","channel":"ask:billing","ticket":"+T-2","agent":"a-1","customer":{"id":"@c-9","name":"Bo Customer","phone":"0100"},"issue":"refund"}"#,
            #"{"id":"\#(id(2))","type":"noteLogged","at":"2026-03-02T10:01:00Z","actor":"a-1","channel":"ask:billing","ticket":"+T-2","author":"a-1","text":"=HYPERLINK(\"http://evil.example/\",\"click\")"}"#,
            #"{"id":"\#(id(3))","type":"noteLogged","at":"2026-03-02T10:02:00Z","actor":"a-1","channel":"ask:billing","ticket":"+T-2","author":"a-1","text":"call back at 9"}"#,
            #"{"id":"\#(id(4))","type":"escalationRequested","at":"2026-03-02T10:03:00Z","actor":"a-1","channel":"ask:billing","ticket":"+T-2","requestedBy":"customer","scenario":"immediate","reason":"policyException","level":"supervisor","goal":"now"}"#,
            #"{"id":"\#(id(5))","type":"transferred","at":"2026-03-02T10:04:00Z","actor":"a-1","channel":"ask:billing","ticket":"+T-2","from":"a-1","to":"sup-1","mode":"warm","announcedName":"Sam Super","announcedExtension":"3001"}"#,
        ]
    }

    @Test("the command line's CSV guards a formula in a note and ids starting with + or @; ordinary values are unchanged")
    func commandLine() throws {
        let fx = try ServiceFixture(lines: WebViewCSVGuardTests.lines)
        let ledger = fx.dir.ledger
        let ticket = try CLI.run(["--ledger", ledger, "ticket", "+T-2", "--format", "csv", "--reveal", "--operator", "dir-1", "--purpose", "csv test"])
        #expect(ticket.status == 0, "\(ticket.stderr)")
        #expect(ticket.stdout.contains(WebViewCSVGuardTests.guardedFormula), "the note's formula is guarded:\n\(ticket.stdout)")
        #expect(!ticket.stdout.contains(",\"=HYPERLINK") && !ticket.stdout.contains(",=HYPERLINK"), "no cell starts with =")
        #expect(ticket.stdout.contains(",\"'+T-2\",") && ticket.stdout.contains(",\"'@c-9\","), "the ticket and customer ids are guarded")
        #expect(ticket.stdout.contains(",call back at 9,") && ticket.stdout.contains(",a-1,"), "ordinary cells are unchanged")
        let findings = try CLI.run(["--ledger", ledger, "findings", "--format", "csv", "--now", WebViewCSVGuardTests.now])
        #expect(findings.stdout.contains(",\"'+T-2\",") && findings.stdout.contains(",T-1,"), "\(findings.stdout)")
        let audit = try CLI.run(["--ledger", ledger, "audit", "--ticket", "+T-2", "--format", "csv"])
        #expect(audit.stdout.split(separator: "\r\n").dropFirst().allSatisfy { $0.contains(",\"'+T-2\",") }, "\(audit.stdout)")
        // Every row of the masked ticket: the formula is not shown at all, the id guarded.
        let masked = try CLI.run(["--ledger", ledger, "ticket", "+T-2", "--format", "csv"])
        #expect(masked.stdout.contains(",\"'+T-2\",") && !masked.stdout.contains("HYPERLINK") && masked.stdout.contains("[masked]"))
        // JSON is exact: no guard there.
        let json = try CLI.run(["--ledger", ledger, "findings", "--json", "--now", WebViewCSVGuardTests.now])
        #expect(json.stdout.contains("\"ticket\":\"+T-2\""))
    }

    @Test("the web view's CSV downloads are guarded and byte for byte the command's; its export bundle's events.csv is guarded")
    func webDownloads() throws {
        let fx = try ServiceFixture(lines: WebViewCSVGuardTests.lines)
        let ledger = fx.dir.ledger
        let server = try fx.start()
        defer { server.stop() }
        let auditor = try WebViewTests.signIn(server.port, token: try #require(fx.tokens["auditor"]))
        func download(_ path: String) throws -> String {
            let r = try WebViewTests.get(server.port, path, cookie: auditor.cookie)
            #expect(r.status == 200 && (r.headers["content-type"] ?? "").hasPrefix("text/csv"), "\(path): \(r.status)")
            return r.text
        }
        let findings = try download("/web/findings.csv?now=" + WebViewCSVGuardTests.now)
        #expect(findings.contains(",\"'+T-2\",") && findings.contains(",T-1,"))
        let cliFindings = try CLI.run(["--ledger", ledger, "findings", "--format", "csv", "--now", WebViewCSVGuardTests.now]).stdout
        #expect(findings == cliFindings)
        let ticket = try download("/web/tickets/%2BT-2/csv")
        let cliTicket = try CLI.run(["--ledger", ledger, "ticket", "+T-2", "--format", "csv"]).stdout
        #expect(ticket.contains(",\"'+T-2\",") && ticket == cliTicket)
        let audit = try download("/web/audit.csv?ticket=%2BT-2")
        let cliAudit = try CLI.run(["--ledger", ledger, "audit", "--ticket", "+T-2", "--format", "csv"]).stdout
        #expect(audit.contains(",\"'+T-2\",") && audit == cliAudit)
        let ordinary = try download("/web/tickets/T-1/csv")
        let cliOrdinary = try CLI.run(["--ledger", ledger, "ticket", "T-1", "--format", "csv"]).stdout
        #expect(ordinary.contains(",T-1,") && !ordinary.contains("'T-1") && ordinary == cliOrdinary)
        let scorecards = try download("/web/scorecards.csv?now=" + WebViewCSVGuardTests.now)
        #expect(scorecards.contains("\r\na-1,") && !scorecards.contains("'a-1"), "ordinary ids are unchanged")
        // The service's own CSV is the same bytes.
        let api = try HTTP.request(server.port, "GET", "/v1/findings?format=csv&now=" + WebViewCSVGuardTests.now, token: fx.tokens["auditor"])
        #expect(api.text == findings)
        // An export bundle from the compliance page: its events.csv shows the note in clear, guarded.
        let officer = try WebViewTests.signIn(server.port, token: try #require(fx.tokens["compliance"]))
        let tar = try WebViewTests.post(server.port, "/web/compliance/export", cookie: officer.cookie,
                                        ["purpose": "csv test", "ticket": "+T-2", "csrf": officer.csrf])
        #expect(tar.status == 200 && tar.headers["content-type"] == "application/x-tar")
        #expect(tar.text.contains(WebViewCSVGuardTests.guardedFormula) && tar.text.contains("\"format\":\"escalation-ledger-bundle/3\""))
        #expect(!tar.text.contains(",\"=HYPERLINK"))
    }
}
