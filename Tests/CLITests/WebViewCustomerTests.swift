import Foundation
import Testing

/// The web view's customer page (subject access, docs/WEB.md) over real HTTP: compliance and
/// admin only; a customer's tickets with links, masked; a reveal needs a purpose and is recorded.
@Suite("ledger serve: the web view's customer page", .serialized)
struct WebViewCustomerTests {
    /// The fixture (T-1 of customer c-1), a second ticket of c-1 and a ticket of another customer.
    static var lines: [String] {
        func id(_ n: Int) -> String { Fixture.id(0x300 + n) }
        return Fixture.good + [
            #"{"id":"\#(id(1))","type":"callOpened","at":"2026-03-04T10:00:00Z","actor":"a-1","channel":"ask:billing","ticket":"T-3","agent":"a-1","customer":{"id":"c-1","name":"Ann Customer","phone":"+1 555 0100"},"issue":"second charge"}"#,
            #"{"id":"\#(id(2))","type":"callOpened","at":"2026-03-04T11:00:00Z","actor":"a-1","channel":"ask:billing","ticket":"T-2","agent":"a-1","customer":{"id":"c-2","name":"Bob Other","phone":"0200"},"issue":"other matter"}"#,
        ]
    }

    @Test("compliance sees a customer's tickets masked, reveals with a purpose (recorded first); auditors get 403")
    func customerPage() throws {
        let fx = try ServiceFixture(lines: WebViewCustomerTests.lines)
        let server = try fx.start()
        defer { server.stop() }
        let before = try WebViewTests.lastSeq(fx.dir.ledger)
        // An auditor: refused, and nothing shown or recorded.
        let auditor = try WebViewTests.signIn(server.port, token: try #require(fx.tokens["auditor"]))
        let denied = try WebViewTests.get(server.port, "/web/customers?id=c-1", cookie: auditor.cookie)
        #expect(denied.status == 403 && !denied.text.contains("T-3") && !denied.text.contains("Ann Customer"))
        let deniedReveal = try WebViewTests.post(server.port, "/web/customers/reveal", cookie: auditor.cookie,
                                                 ["customer": "c-1", "purpose": "curious", "csrf": auditor.csrf])
        #expect(deniedReveal.status == 403 && !deniedReveal.text.contains("Ann Customer"))
        // A compliance officer: the customer's two tickets, linked, masked; the other customer's is not there.
        let officer = try WebViewTests.signIn(server.port, token: try #require(fx.tokens["compliance"]))
        let page = try WebViewTests.get(server.port, "/web/customers?id=c-1", cookie: officer.cookie)
        #expect(page.status == 200)
        #expect(page.text.contains("href=\"/web/tickets/T-1\"") && page.text.contains("href=\"/web/tickets/T-3\"") && !page.text.contains("T-2"),
                "the customer's tickets, linked")
        #expect(!page.text.contains("Ann Customer") && !page.text.contains("double charge") && page.text.contains("[masked]"), "masked")
        #expect(try WebViewTests.lastSeq(fx.dir.ledger) == before, "looking a customer up records nothing")
        #expect(!server.log.contains("c-1"), "the customer id is not in the service's log (it goes in the query)")
        let pseudonym = try #require(page.text.range(of: #"data-field="pseudonym">[^<]+"#, options: .regularExpression)
            .map { String(page.text[$0].split(separator: ">").last!) })
        #expect(!pseudonym.isEmpty && pseudonym != "c-1")
        // By pseudonym, the same page; an unknown customer is 404.
        #expect(try WebViewTests.get(server.port, "/web/customers?id=" + pseudonym, cookie: officer.cookie).text.contains("href=\"/web/tickets/T-3\""))
        #expect(try WebViewTests.get(server.port, "/web/customers?id=c-404", cookie: officer.cookie).status == 404)
        // Reveal: without a purpose or without the CSRF token, refused and nothing recorded.
        let noPurpose = try WebViewTests.post(server.port, "/web/customers/reveal", cookie: officer.cookie, ["customer": pseudonym, "purpose": " ", "csrf": officer.csrf])
        #expect(noPurpose.status == 400 && !noPurpose.text.contains("Ann Customer"))
        let noToken = try WebViewTests.post(server.port, "/web/customers/reveal", cookie: officer.cookie, ["customer": pseudonym, "purpose": "sar"])
        #expect(noToken.status == 403 && !noToken.text.contains("Ann Customer"))
        #expect(try WebViewTests.lastSeq(fx.dir.ledger) == before)
        // With both: recorded (personalDataRevealed, the officer, the purpose, the customer), then shown.
        let shown = try WebViewTests.post(server.port, "/web/customers/reveal", cookie: officer.cookie,
                                          ["customer": pseudonym, "purpose": "subject access request 7", "csrf": officer.csrf])
        #expect(shown.status == 200 && shown.text.contains("Ann Customer") && shown.text.contains("double charge") && shown.text.contains("second charge"))
        #expect(shown.text.contains("is on record") && !shown.text.contains("Bob Other"))
        #expect(try WebViewTests.lastSeq(fx.dir.ledger) == before + 1)
        let tail = try CLI.run(["--ledger", fx.dir.ledger, "tail", "--after", String(before)]).stdout
        let revealed = try JSONCheck.object(try JSONSerialization.jsonObject(with: Data(tail.utf8)))
        let event = try #require(revealed["event"] as? [String: Any])
        #expect(event["type"] as? String == "personalDataRevealed" && event["operator"] as? String == "dir-1"
                && event["purpose"] as? String == "subject access request 7" && (event["customers"] as? [String]) == [pseudonym]
                && event["query"] as? String == "customer \(pseudonym)", "\(event)")
        // The compliance page offers the lookup.
        #expect(try WebViewTests.get(server.port, "/web/compliance", cookie: officer.cookie).text.contains("action=\"/web/customers\""))
    }
}
