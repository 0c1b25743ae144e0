import EscalationDomain
import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Logging
import NIOCore

/// What the web view keeps in memory: sessions, the live figures of the Overview and Findings
/// (kept up to date from the tickets each append changed), a small cache of the other
/// whole-ledger answers (as-of and known-at views, keyed by the log's head, so an append makes
/// them stale), and the last chain verification run from it.
final class WebState: @unchecked Sendable {
    let sessions = WebSessions()
    let live: LiveFigures
    private let lock = NSLock()
    private var warmed = false

    private let logger: Logger

    init(ledger: Ledger, logger: Logger) {
        live = LiveFigures(ledger: ledger)
        self.logger = logger
    }

    /// Builds the live figures and the checkpoint's tree in the background, once (the sign-in
    /// page asks, so that the first Overview after the service starts finds them ready).
    func warm() {
        lock.lock()
        let first = !warmed
        warmed = true
        lock.unlock()
        guard first else { return }
        Blocking.queue.async { [live, logger] in
            let start = ContinuousClock.now
            do {
                let seq = try live.refresh()
                _ = try live.checkpoint()
                let d = (ContinuousClock.now - start).components
                let seconds = String(format: "%.2f", Double(d.seconds) + Double(d.attoseconds) / 1e18)
                logger.info("web view: live figures ready", metadata: ["seq": "\(seq)", "seconds": "\(seconds)"])
            } catch {
                logger.error("web view: live figures failed (each view will try again)", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The clock of a view at the head with no `now` given: the current time, to the minute (so
    /// that answers are shared for a minute and read as `ledger … --now` of that minute).
    static func minute() -> Timestamp {
        let minute: Int64 = 60_000_000
        return Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch / minute * minute)
    }
    private var cache: [String: (used: Date, value: Any)] = [:]
    private(set) var lastVerification: (at: Date, result: VerifyResult, by: String)?

    /// The cached value for `key`, or `make()`'s (kept; at most 48 entries, the least recently used dropped).
    func cached<T>(_ key: String, _ make: () throws -> T) throws -> T {
        lock.lock()
        if let hit = cache[key]?.value as? T { cache[key]?.used = Date(); lock.unlock(); return hit }
        lock.unlock()
        let value = try make()
        lock.lock()
        if cache.count >= 48, let oldest = cache.min(by: { $0.value.used < $1.value.used })?.key { cache[oldest] = nil }
        cache[key] = (Date(), value)
        lock.unlock()
        return value
    }

    func recordVerification(_ r: VerifyResult, by: String) {
        lock.lock(); lastVerification = (Date(), r, by); lock.unlock()
    }
    var verification: (at: Date, result: VerifyResult, by: String)? { lock.lock(); defer { lock.unlock() }; return lastVerification }
}

extension LedgerService {
    /// The auditors' web view (issue 14): server-rendered pages under `/web/`, signed in with a
    /// service token and kept by an HttpOnly, SameSite=Strict session cookie; every form that
    /// writes carries the session's CSRF token.
    func addWebRoutes(_ router: Router<ServiceRequestContext>) {
        let web = WebState(ledger: ledger, logger: logger)
        router.get("/") { _, _ -> Response in .redirect("/web/overview") }
        router.get("/web") { _, _ -> Response in .redirect("/web/overview") }
        addWebSignIn(router, web)
        webGet(router, web, "/web/overview") { r, u in try await self.overviewPage(r, u, web) }
        webGet(router, web, "/web/overview.csv") { r, u in try await self.overviewCSV(r, u, web) }
        webPost(router, web, "/web/verify") { _, u, _ in
            let result = try await Blocking.run { [ledger = self.ledger] in try ledger.log.verify() }
            web.recordVerification(result, by: u.token.name)
            return .redirect("/web/overview")
        }
        webGet(router, web, "/web/scorecards") { r, u in try await self.scorecardsPage(r, u, csv: false) }
        webGet(router, web, "/web/scorecards.csv") { r, u in try await self.scorecardsPage(r, u, csv: true) }
        webGet(router, web, "/web/staff/:id") { r, u in try await self.staffPage(r, u, web) }
        webGet(router, web, "/web/findings") { r, u in try await self.findingsPage(r, u, web, csv: false) }
        webGet(router, web, "/web/findings.csv") { r, u in try await self.findingsPage(r, u, web, csv: true) }
        webGet(router, web, "/web/tickets") { r, u in
            if let id = r.webQuery["id"]?.trimmingCharacters(in: .whitespaces), !id.isEmpty {
                return .redirect("/web/tickets/" + HTML.url(id))
            }
            return .html(HTML.page(title: "Ticket", current: "tickets", user: u, body: WebPages.ticketSearch(nil)))
        }
        webGet(router, web, "/web/tickets/:id") { r, u in try await self.ticketPage(r, u, csv: false) }
        webGet(router, web, "/web/tickets/:id/csv") { r, u in try await self.ticketPage(r, u, csv: true) }
        webGet(router, web, "/web/audit") { r, u in try await self.auditPage(r, u, csv: false) }
        webGet(router, web, "/web/audit.csv") { r, u in try await self.auditPage(r, u, csv: true) }
        addWebCompliance(router, web)
        addWebCustomers(router, web)
    }

    // MARK: Sessions, gating and refusals

    /// The signed-in viewer of a request: a live session whose token is still valid and may read.
    func webUser(_ request: Request, _ web: WebState) -> WebUser? {
        guard let id = request.cookie(WebSessions.cookieName), let session = web.sessions.get(id) else { return nil }
        guard let token = tokens.authenticate(session.secret), token.role.reads else { web.sessions.remove(id); return nil }
        return WebUser(id: id, session: session, token: token)
    }

    /// A GET page: signed-out browsers are sent to sign-in; `compliance` pages need that role.
    func webGet(_ router: Router<ServiceRequestContext>, _ web: WebState, _ path: RouterPath, compliance: Bool = false,
                _ body: @escaping @Sendable (Request, WebUser) async throws -> Response) {
        router.get(path) { request, _ -> Response in
            guard var user = self.webUser(request, web) else {
                let next = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
                return .redirect(HTML.link("/web/signin", [("next", next)]))
            }
            user.here = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            return await self.webAnswer(user) { [user] in
                if compliance, !user.token.role.compliance { throw WebRefusal.notCompliance(user) }
                return try await body(request, user)
            }
        }
    }

    /// A POST form: it needs a session and the session's CSRF token in the form's `csrf` field.
    func webPost(_ router: Router<ServiceRequestContext>, _ web: WebState, _ path: RouterPath, compliance: Bool = false,
                 _ body: @escaping @Sendable (Request, WebUser, [String: String]) async throws -> Response) {
        router.post(path) { request, _ -> Response in
            let form = WebForm.parse(Array((try await request.body.collect(upTo: 1 << 16)).readableBytesView))
            guard let user = self.webUser(request, web) else {
                return .html(WebPages.signIn(message: "You are signed out: sign in, then try again.", next: nil, nonce: nil),
                             status: .unauthorized)
            }
            return await self.webAnswer(user) {
                guard let csrf = form["csrf"], WebForm.same(csrf, user.session.csrf) else {
                    throw WebRefusal(status: .forbidden, title: "Refused",
                                     message: "This form's security token is missing or out of date, so nothing was done. Reload the page and try again.")
                }
                if compliance, !user.token.role.compliance { throw WebRefusal.notCompliance(user) }
                return try await body(request, user, form)
            }
        }
    }

    /// Runs a page, turning any refusal or error into a page with a fitting status.
    func webAnswer(_ user: WebUser, _ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let r as WebRefusal {
            return .html(HTML.page(title: r.title, current: nil, user: user, body: "<p class=\"msg error\" role=\"alert\">\(HTML.escape(r.message))</p>"),
                         status: r.status)
        } catch {
            let e = ServiceError.from(error)
            if e.status.code >= 500 { logger.error("web page failed", metadata: ["error": "\(error)"]) }
            let title = e.status == .notFound ? "Not found" : e.status.code >= 500 ? "Something went wrong" : "Cannot show this"
            return .html(HTML.page(title: title, current: nil, user: user, body: "<p class=\"msg error\" role=\"alert\">\(HTML.escape(e.message))</p>"),
                         status: e.status)
        }
    }

    func addWebSignIn(_ router: Router<ServiceRequestContext>, _ web: WebState) {
        let secure = configuration.tlsCertificate != nil ? "; Secure" : ""
        let limiter = SignInLimiter(limit: configuration.webSignInLimit, window: configuration.webSignInWindowSeconds)
        router.get("/web/signin") { request, _ -> Response in
            web.warm()
            if self.webUser(request, web) != nil { return .redirect(WebPages.safeNext(request.webQuery["next"])) }
            // A pre-session nonce, in a cookie and in the form: a sign-in posted from elsewhere is refused.
            let nonce = WebSessions.random()
            var headers = HTTPFields()
            headers[.setCookie] = "ledger_signin=\(nonce); Path=/web/signin; HttpOnly; SameSite=Strict; Max-Age=3600\(secure)"
            return .html(WebPages.signIn(message: nil, next: request.webQuery["next"], nonce: nonce), headers: headers)
        }
        router.post("/web/signin") { request, context -> Response in
            // Too many failed sign-ins from this address lately: refused before anything is checked.
            let address = context.clientAddress
            if let wait = limiter.wait(address) {
                let seconds = Int(wait.rounded(.up))
                let at = Timestamp(microsecondsSinceEpoch: Int64((Date().timeIntervalSince1970 + Double(seconds)) * 1_000_000))
                self.logger.notice("web sign-in refused: too many failures", metadata: ["address": "\(address)"])
                var headers = HTTPFields()
                headers[.retryAfter] = String(seconds)
                return .html(WebPages.signIn(message: "Too many failed sign-ins from your address (\(limiter.limit) within "
                                             + "\(WebPages.duration(limiter.window))): sign-in is refused until \(String(at.description.prefix(19)).replacingOccurrences(of: "T", with: " ")) UTC "
                                             + "(in \(WebPages.duration(Double(seconds)))). Try again then; nothing you send before that is checked.",
                                             next: nil, nonce: nil),
                             status: .tooManyRequests, headers: headers)
            }
            let form = WebForm.parse(Array((try await request.body.collect(upTo: 1 << 16)).readableBytesView))
            let next = form["next"]
            guard let nonce = form["nonce"], let cookie = request.cookie("ledger_signin"), WebForm.same(nonce, cookie) else {
                return .html(WebPages.signIn(message: "This sign-in form is out of date: please try again.", next: next, nonce: nil),
                             status: .forbidden)
            }
            let secret = (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard let token = self.tokens.authenticate(secret) else {
                limiter.fail(address)
                return .html(WebPages.signIn(message: "That token is not valid (or it was revoked).", next: next, nonce: nil), status: .unauthorized)
            }
            guard token.role.reads else {
                return .html(WebPages.signIn(message: "A \(token.role.rawValue) token cannot read the ledger: use an auditor, compliance or admin token.",
                                             next: next, nonce: nil), status: .forbidden)
            }
            web.warm()
            let (id, _) = web.sessions.create(secret: secret)
            self.logger.info("web sign-in", metadata: ["token": "\(token.id)", "role": "\(token.role.rawValue)"])
            var headers = HTTPFields()
            headers.append(HTTPField(name: .setCookie, value: "ledger_signin=; Path=/web/signin; HttpOnly; SameSite=Strict; Max-Age=0\(secure)"))
            headers.append(HTTPField(name: .setCookie, value: "\(WebSessions.cookieName)=\(id); Path=/; HttpOnly; SameSite=Strict; Max-Age=86400\(secure)"))
            return .redirect(WebPages.safeNext(next), headers: headers)
        }
        webPost(router, web, "/web/signout") { _, user, _ in
            web.sessions.remove(user.id)
            var headers = HTTPFields()
            headers[.setCookie] = "\(WebSessions.cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0\(secure)"
            return .redirect("/web/signin", headers: headers)
        }
        webPost(router, web, "/web/preferences") { request, user, form in
            let zone = form["tz"] ?? "UTC"
            guard TimeZone(identifier: zone) != nil else { throw WebRefusal(status: .badRequest, title: "Cannot set", message: "'\(zone)' is not a time zone") }
            web.sessions.setTimeZone(user.id, zone)
            return .redirect(WebPages.safeNext(form["back"]))
        }
    }
}

extension WebRefusal {
    static func notCompliance(_ user: WebUser) -> WebRefusal {
        WebRefusal(status: .forbidden, title: "Not allowed",
                   message: "This needs a compliance or admin token; you are signed in with a \(user.token.role.rawValue) token.")
    }
    static func badInput(_ message: String) -> WebRefusal { WebRefusal(status: .badRequest, title: "Cannot show this", message: message) }
}
