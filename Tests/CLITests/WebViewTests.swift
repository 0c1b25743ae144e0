import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The auditors' web view of `ledger serve` (issue 14): sessions, CSRF and role gating over real
/// sockets, and every page in a real headless Chromium (tools/web_check.py) against the command
/// line's JSON for the same queries.
@Suite("ledger serve: the web view", .serialized)
struct WebViewTests {
    /// A browser session made over raw HTTP: its cookie and the CSRF token of its forms.
    struct Session {
        var cookie: String
        var csrf: String
    }

    static func setCookies(_ r: HTTP.Response) -> String { r.headers["set-cookie"] ?? "" }

    static func cookieValue(_ header: String, _ name: String) -> String? {
        guard let r = header.range(of: name + "=") else { return nil }
        return String(header[r.upperBound...].prefix { $0 != ";" })
    }

    static func field(_ html: String, _ name: String) -> String? {
        guard let r = html.range(of: #"name="\#(name)" value="([^"]*)""#, options: .regularExpression) else { return nil }
        let m = String(html[r])
        return String(m.dropFirst("name=\"\(name)\" value=\"".count).dropLast())
    }

    static func form(_ fields: [String: String]) -> [UInt8] {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return Array(fields.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&").utf8)
    }

    static func post(_ port: Int, _ path: String, cookie: String?, _ fields: [String: String]) throws -> HTTP.Response {
        var headers = ["Content-Type": "application/x-www-form-urlencoded"]
        if let cookie { headers["Cookie"] = cookie }
        return try HTTP.request(port, "POST", path, headers: headers, body: form(fields))
    }

    static func get(_ port: Int, _ path: String, cookie: String?) throws -> HTTP.Response {
        try HTTP.request(port, "GET", path, headers: cookie.map { ["Cookie": $0] } ?? [:])
    }

    /// Signs in as a browser does: the sign-in page's nonce (cookie and form), then the token.
    static func signIn(_ port: Int, token: String) throws -> Session {
        let page = try get(port, "/web/signin", cookie: nil)
        let nonce = try #require(cookieValue(setCookies(page), "ledger_signin"))
        #expect(field(page.text, "nonce") == nonce)
        let r = try post(port, "/web/signin", cookie: "ledger_signin=\(nonce)", ["nonce": nonce, "token": token, "next": "/web/overview"])
        #expect(r.status == 303 && r.headers["location"] == "/web/overview", "signing in redirects to the page asked for")
        let set = setCookies(r)
        #expect(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"), "the session cookie: \(set)")
        let id = try #require(cookieValue(set, "ledger_session"))
        #expect(!id.isEmpty && !id.contains("lt_"), "the cookie holds a session id, never the token")
        let overview = try get(port, "/web/overview", cookie: "ledger_session=\(id)")
        #expect(overview.status == 200)
        return Session(cookie: "ledger_session=\(id)", csrf: try #require(field(overview.text, "csrf")))
    }

    static func lastSeq(_ ledger: String) throws -> Int {
        try JSONCheck.object(try CLI.run(["--ledger", ledger, "stats", "--json"]).json())["lastSeq"] as? Int ?? -1
    }

    @Test("a signed-out browser sees nothing but sign-in; sign-in needs the form's nonce and a reading token")
    func signedOut() throws {
        let fx = try ServiceFixture(lines: Fixture.good)
        let server = try fx.start()
        defer { server.stop() }
        for path in ["/web/overview", "/web/scorecards", "/web/scorecards.csv", "/web/findings", "/web/findings.csv", "/web/tickets/T-1",
                     "/web/tickets/T-1/csv", "/web/audit", "/web/audit.csv", "/web/staff/a-1", "/web/compliance", "/web/compliance/proof?ticket=T-1"] {
            let r = try WebViewTests.get(server.port, path, cookie: nil)
            #expect(r.status == 303 && (r.headers["location"] ?? "").hasPrefix("/web/signin?next="), "\(path) sends a signed-out browser to sign-in")
            #expect(r.body.isEmpty, "\(path) shows nothing signed out")
        }
        #expect(try WebViewTests.get(server.port, "/", cookie: nil).headers["location"] == "/web/overview")
        // A made-up session id is no session.
        let forged = try WebViewTests.get(server.port, "/web/overview", cookie: "ledger_session=forged")
        #expect(forged.status == 303)
        // Writes signed out: refused, nothing appended.
        let before = try WebViewTests.lastSeq(fx.dir.ledger)
        let erase = try WebViewTests.post(server.port, "/web/compliance/erase", cookie: nil, ["customer": "c-1", "confirm": "c-1"])
        #expect(erase.status == 401 && erase.text.contains("signed out"))
        // Sign-in without the page's nonce (a form posted from elsewhere), with a wrong token, with a writer's.
        let noNonce = try WebViewTests.post(server.port, "/web/signin", cookie: nil, ["token": try #require(fx.tokens["auditor"])])
        #expect(noNonce.status == 403 && WebViewTests.cookieValue(WebViewTests.setCookies(noNonce), "ledger_session") == nil)
        let page = try WebViewTests.get(server.port, "/web/signin", cookie: nil)
        #expect(page.text.contains("<label for=\"token\">") && page.headers["content-security-policy"]?.contains("default-src 'none'") == true)
        let nonce = try #require(WebViewTests.cookieValue(WebViewTests.setCookies(page), "ledger_signin"))
        let wrong = try WebViewTests.post(server.port, "/web/signin", cookie: "ledger_signin=\(nonce)", ["nonce": nonce, "token": "lt_00000000_nope"])
        #expect(wrong.status == 401)
        let writer = try WebViewTests.post(server.port, "/web/signin", cookie: "ledger_signin=\(nonce)", ["nonce": nonce, "token": try #require(fx.tokens["writer"])])
        #expect(writer.status == 403 && WebViewTests.cookieValue(WebViewTests.setCookies(writer), "ledger_session") == nil)
        // After signing in, an unsafe "next" is not followed.
        let evil = try WebViewTests.post(server.port, "/web/signin", cookie: "ledger_signin=\(nonce)",
                                         ["nonce": nonce, "token": try #require(fx.tokens["auditor"]), "next": "//evil.example/"])
        #expect(evil.status == 303 && evil.headers["location"] == "/web/overview")
        #expect(try WebViewTests.lastSeq(fx.dir.ledger) == before)
        #expect(!server.log.contains(try #require(fx.tokens["auditor"])), "no token in the service's log")
    }

    @Test("forms without their CSRF token are refused; an auditor cannot reach compliance; signing out ends the session")
    func csrfAndRoles() throws {
        let fx = try ServiceFixture(lines: Fixture.good)
        let server = try fx.start()
        defer { server.stop() }
        let before = try WebViewTests.lastSeq(fx.dir.ledger)
        // An auditor: no compliance link, the page and its forms refused even with a good CSRF token.
        let auditor = try WebViewTests.signIn(server.port, token: try #require(fx.tokens["auditor"]))
        let overview = try WebViewTests.get(server.port, "/web/overview", cookie: auditor.cookie)
        #expect(!overview.text.contains("href=\"/web/compliance\""))
        #expect(try WebViewTests.get(server.port, "/web/compliance", cookie: auditor.cookie).status == 403)
        #expect(try WebViewTests.get(server.port, "/web/compliance/proof?ticket=T-1", cookie: auditor.cookie).status == 403)
        for (path, fields) in [("/web/compliance/reveal", ["ticket": "T-1", "purpose": "curious"]),
                               ("/web/compliance/hold", ["customer": "c-1", "matter": "M-1", "action": "place"]),
                               ("/web/compliance/erase", ["customer": "c-1", "confirm": "c-1"]),
                               ("/web/compliance/export", ["purpose": "curious"])] {
            let r = try WebViewTests.post(server.port, path, cookie: auditor.cookie, fields.merging(["csrf": auditor.csrf]) { a, _ in a })
            #expect(r.status == 403, "an auditor's \(path) is refused")
            #expect(!r.text.contains("Ann Customer"))
        }
        #expect(try WebViewTests.lastSeq(fx.dir.ledger) == before, "nothing was appended for the auditor")
        // A compliance officer: forms without the CSRF token, or with another session's, are refused.
        let officer = try WebViewTests.signIn(server.port, token: try #require(fx.tokens["compliance"]))
        #expect(try WebViewTests.get(server.port, "/web/compliance", cookie: officer.cookie).status == 200)
        let hold = ["customer": "c-1", "matter": "M-1", "action": "place"]
        let missing = try WebViewTests.post(server.port, "/web/compliance/hold", cookie: officer.cookie, hold)
        #expect(missing.status == 403 && missing.text.contains("security token"))
        let foreign = try WebViewTests.post(server.port, "/web/compliance/hold", cookie: officer.cookie, hold.merging(["csrf": auditor.csrf]) { a, _ in a })
        #expect(foreign.status == 403)
        let reveal = try WebViewTests.post(server.port, "/web/compliance/reveal", cookie: officer.cookie, ["ticket": "T-1", "purpose": "x"])
        #expect(reveal.status == 403 && !reveal.text.contains("Ann Customer"))
        #expect(try WebViewTests.post(server.port, "/web/verify", cookie: officer.cookie, [:]).status == 403)
        #expect(try WebViewTests.post(server.port, "/web/preferences", cookie: officer.cookie, ["tz": "Europe/Berlin"]).status == 403)
        #expect(try WebViewTests.lastSeq(fx.dir.ledger) == before, "nothing was appended without a CSRF token")
        // With it: the hold is recorded, and a reveal is recorded before it shows the customer.
        let placed = try WebViewTests.post(server.port, "/web/compliance/hold", cookie: officer.cookie, hold.merging(["csrf": officer.csrf]) { a, _ in a })
        #expect(placed.status == 200 && placed.text.contains("Hold placed"))
        #expect(try WebViewTests.lastSeq(fx.dir.ledger) == before + 1)
        // An export bundle, downloaded as one archive and recorded.
        let exported = try WebViewTests.post(server.port, "/web/compliance/export", cookie: officer.cookie,
                                             ["purpose": "regulator request", "ticket": "T-1", "csrf": officer.csrf])
        #expect(exported.status == 200 && exported.headers["content-type"] == "application/x-tar")
        #expect((exported.headers["content-disposition"] ?? "").contains("ledger-export-") && exported.text.contains("manifest"))
        let afterExport = try CLI.run(["--ledger", fx.dir.ledger, "tail", "--after", String(before + 1)]).stdout
        #expect(afterExport.contains("\"exportMade\"") && afterExport.contains("regulator request"))
        let beforeReveal = try WebViewTests.lastSeq(fx.dir.ledger)
        let masked = try WebViewTests.get(server.port, "/web/tickets/T-1", cookie: officer.cookie)
        #expect(masked.status == 200 && !masked.text.contains("Ann Customer") && masked.text.contains("[masked]"), "personal data is masked unless revealed")
        let shown = try WebViewTests.post(server.port, "/web/compliance/reveal", cookie: officer.cookie,
                                          ["ticket": "T-1", "purpose": "subject access <request>", "csrf": officer.csrf])
        #expect(shown.status == 200 && shown.text.contains("double charge") && shown.text.contains("c-1"))
        let tail = try CLI.run(["--ledger", fx.dir.ledger, "tail", "--after", String(beforeReveal)]).stdout
        #expect(tail.contains("\"personalDataRevealed\"") && tail.contains("subject access <request>") && tail.contains("\"dir-1\""))
        // Erasure under a hold is refused, and says why.
        let erase = try WebViewTests.post(server.port, "/web/compliance/erase", cookie: officer.cookie, ["customer": "c-1", "confirm": "c-1", "csrf": officer.csrf])
        #expect(erase.status == 422 && erase.text.contains("legalHold"))
        // Released, the erasure goes through, and the ticket reads [erased] from then on.
        let released = try WebViewTests.post(server.port, "/web/compliance/hold", cookie: officer.cookie,
                                             ["customer": "c-1", "matter": "M-1", "action": "release", "csrf": officer.csrf])
        #expect(released.status == 200 && released.text.contains("Hold released"))
        let unconfirmed = try WebViewTests.post(server.port, "/web/compliance/erase", cookie: officer.cookie, ["customer": "c-1", "confirm": "c-2", "csrf": officer.csrf])
        #expect(unconfirmed.status == 400, "erasure needs the id typed twice")
        let erased = try WebViewTests.post(server.port, "/web/compliance/erase", cookie: officer.cookie, ["customer": "c-1", "confirm": "c-1", "csrf": officer.csrf])
        #expect(erased.status == 200 && erased.text.contains("is erased"))
        let after = try WebViewTests.get(server.port, "/web/tickets/T-1", cookie: officer.cookie)
        #expect(after.text.contains("[erased]") && !after.text.contains("double charge"))
        // Escaping: an id from the URL comes back as text.
        let odd = try WebViewTests.get(server.port, "/web/tickets/%3Cscript%3Ealert(1)%3C%2Fscript%3E", cookie: officer.cookie)
        #expect(odd.status == 404 && odd.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !odd.text.contains("<script>"))
        // Signing out ends the session on the server, not only in the browser.
        let out = try WebViewTests.post(server.port, "/web/signout", cookie: officer.cookie, ["csrf": officer.csrf])
        #expect(out.status == 303 && out.headers["location"] == "/web/signin")
        #expect(try WebViewTests.get(server.port, "/web/compliance", cookie: officer.cookie).status == 303)
        // Revoking the token ends its sessions at the next request.
        let again = try WebViewTests.signIn(server.port, token: try #require(fx.tokens["auditor"]))
        #expect(try CLI.run(["--ledger", fx.dir.ledger, "token", "revoke", try #require(fx.ids["auditor"])]).status == 0)
        #expect(try WebViewTests.get(server.port, "/web/overview", cookie: again.cookie).status == 303)
    }

    @Test("in a headless Chromium: sign in, every page, figures equal the command line's, sort, filter, as-of, reveal, hold, erase, export, no console error")
    func browser() throws {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let path = try #require(chromium, "Chromium is not installed (tools/test installs it: apt-get install chromium)")
        let dir = try TemporaryDirectory()
        let ledger = dir.url.appendingPathComponent("demo.ledger").path
        #expect(try CLI.run(["demo", "--calls", "600", "--seed", "7", "--ledger", ledger]).status == 0)
        func token(_ args: [String]) throws -> String {
            let r = try CLI.run(["--ledger", ledger, "token", "create", "--json"] + args)
            #expect(r.status == 0, "\(r.stderr)")
            return try #require(try JSONCheck.object(try r.json())["token"] as? String)
        }
        let auditor = try token(["--role", "auditor", "--name", "QA auditor"])
        let compliance = try token(["--role", "compliance", "--staff", "co-001", "--name", "compliance office"])
        let server = try ServerProcess(ledger: ledger, logDirectory: dir.url)
        defer { server.stop() }
        let artifacts = CLI.packageRoot.appendingPathComponent(".build/web-artifacts").path
        try? FileManager.default.removeItem(atPath: artifacts)  // this run's screenshots only
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", CLI.packageRoot.appendingPathComponent("tools/web_check.py").path,
                             "--base", "http://127.0.0.1:\(server.port)", "--ledger", ledger, "--ledger-bin", try #require(CLI.binary).path,
                             "--auditor", auditor, "--compliance", compliance, "--artifacts", artifacts, "--chromium", path]
        let out = dir.url.appendingPathComponent("web_check.out")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        let handle = try FileHandle(forWritingTo: out)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        let report = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 0, "tools/web_check.py:\n\(report)")
        #expect(report.contains("ok   the ledger recorded one reveal, with the stated purpose"))
        for line in ["ok   the ledger recorded the hold", "ok   erasing a customer under a legal hold is refused", "ok   releasing the hold",
                     "ok   erasing the customer (the id typed twice) says it is erased", "ok   the ticket now shows its customer and personal fields as [erased]",
                     "ok   the download is a tar of", "ok   the export bundle verifies", "ok   the ledger recorded the export",
                     "ok   the customer's page lists the ticket, masked"] {
            #expect(report.contains(line), "tools/web_check.py did not report: \(line)")
        }
        for shot in ["01-signin", "02-overview", "03-scorecards", "06-findings", "08-ticket", "09-ticket-as-of", "10-audit", "11-compliance", "12-revealed",
                     "13b-customer", "14-hold-placed", "15-erased", "16-ticket-erased", "17-export"] {
            #expect(FileManager.default.fileExists(atPath: artifacts + "/\(shot).png"), "screenshot \(shot)")
        }
        #expect(!server.log.contains(auditor) && !server.log.contains(compliance), "no token in the service's log")
    }
}
