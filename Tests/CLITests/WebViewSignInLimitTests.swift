import Foundation
import Testing

/// The web view's sign-in limit (docs/WEB.md, "Signing in"), over real HTTP from two loopback
/// client addresses: failed sign-ins are counted per address; past the limit, sign-ins from that
/// address are refused with 429 without their token being checked, until the window has passed.
@Suite("ledger serve: the web view's sign-in limit", .serialized)
struct WebViewSignInLimitTests {
    /// One sign-in as a browser makes it (the form's nonce, then the token), from `source`.
    static func attempt(_ port: Int, token: String, source: String = "127.0.0.1") throws -> HTTP.Response {
        let page = try HTTP.request(port, "GET", "/web/signin", source: source)
        let nonce = try #require(WebViewTests.cookieValue(WebViewTests.setCookies(page), "ledger_signin"))
        return try HTTP.request(port, "POST", "/web/signin",
                                headers: ["Content-Type": "application/x-www-form-urlencoded", "Cookie": "ledger_signin=\(nonce)"],
                                body: WebViewTests.form(["nonce": nonce, "token": token, "next": "/web/overview"]), source: source)
    }

    static func session(_ r: HTTP.Response) -> String? { WebViewTests.cookieValue(WebViewTests.setCookies(r), "ledger_session") }

    @Test("5 failed sign-ins from one address: the 6th is 429 even with a good token, another address is not limited, after the window a good token signs in")
    func limit() throws {
        let fx = try ServiceFixture(lines: Fixture.organisation)
        let window = 8
        let server = try fx.start(["--web-signin-window", String(window)])
        defer { server.stop() }
        let good = try #require(fx.tokens["auditor"])
        // Successes are neither limited nor counted.
        var signedIn: String?
        for _ in 0..<7 {
            let ok = try WebViewSignInLimitTests.attempt(server.port, token: good)
            #expect(ok.status == 303 && WebViewSignInLimitTests.session(ok) != nil)
            signedIn = WebViewSignInLimitTests.session(ok)
        }
        let started = Date()
        for i in 1...5 {
            let bad = try WebViewSignInLimitTests.attempt(server.port, token: "lt_00000000_guess\(i)")
            #expect(bad.status == 401 && bad.text.contains("not valid"), "failure \(i): \(bad.status)")
        }
        let sixth = try WebViewSignInLimitTests.attempt(server.port, token: good)
        let elapsed = Date().timeIntervalSince(started)
        try #require(elapsed < Double(window) - 1, "the attempts took \(elapsed) s, too slow for a \(window) s window")
        #expect(sixth.status == 429, "the 6th sign-in is refused even with a good token: \(sixth.status)")
        #expect(WebViewSignInLimitTests.session(sixth) == nil, "no session: the token was not checked")
        #expect(sixth.text.contains("Too many failed sign-ins") && sixth.text.contains("refused until") && sixth.text.contains("UTC"), "\(sixth.text)")
        let retry = try #require(sixth.headers["retry-after"].flatMap(Int.init), "a Retry-After header")
        #expect((1...window).contains(retry), "Retry-After \(retry)")
        #expect((sixth.headers["content-type"] ?? "").hasPrefix("text/html"))
        // Refused attempts are not failures: the block does not grow, and a bad token is refused the same way.
        let seventh = try WebViewSignInLimitTests.attempt(server.port, token: "lt_00000000_guess6")
        #expect(seventh.status == 429 && (seventh.headers["retry-after"].flatMap(Int.init) ?? 99) <= retry)
        // The limit is per client address: another one signs in.
        let other = try WebViewSignInLimitTests.attempt(server.port, token: good, source: "127.0.0.2")
        #expect(other.status == 303 && WebViewSignInLimitTests.session(other) != nil, "another address is not limited: \(other.status)")
        // Only sign-in is limited: a browser signed in before, from the limited address, still reads.
        let page = try WebViewTests.get(server.port, "/web/overview", cookie: "ledger_session=" + (try #require(signedIn)))
        #expect(page.status == 200)
        // After the window, a good token signs in again.
        Thread.sleep(forTimeInterval: Double(retry) + 0.5)
        let after = try WebViewSignInLimitTests.attempt(server.port, token: good)
        #expect(after.status == 303 && WebViewSignInLimitTests.session(after) != nil, "after the window: \(after.status)")
        #expect(server.log.contains("too many failures") && !server.log.contains(good), "the refusal is logged, the token is not")
    }
}
