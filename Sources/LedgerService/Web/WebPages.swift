import EscalationDomain
import Foundation
import Hummingbird
import Ledger

/// Pieces shared by the pages: the sign-in page, the cut (as of / known at / now) and filters.
enum WebPages {
    /// Where to go after signing in: only a path inside the web view (never another site).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/web/"), !next.hasPrefix("//"), !next.contains("\\"),
              !next.unicodeScalars.contains(where: { $0.value < 0x20 }) else { return "/web/overview" }
        return next
    }

    /// The id in a path such as `/web/tickets/ID` or `/web/tickets/ID/csv`, percent-decoded.
    static func pathID(_ request: Request, _ prefix: String) throws -> String {
        let path = request.uri.path
        guard path.hasPrefix(prefix) else { throw WebRefusal.badInput("no id in the path") }
        let raw = path.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard let id = raw.removingPercentEncoding, !id.isEmpty else { throw WebRefusal.badInput("no id in the path") }
        return id
    }

    static func signIn(message: String?, next: String?, nonce: String?) -> String {
        let body: String
        if let nonce {
            body = """
            \(message.map { "<p class=\"msg error\" role=\"alert\">\(HTML.escape($0))</p>" } ?? "")
            <p>Sign in with a service token (an auditor, compliance or admin token made with
            <code>ledger token create</code>). It is checked on every page; revoking it signs you out.</p>
            <form class="stack" method="post" action="/web/signin">
            <input type="hidden" name="nonce" value="\(HTML.escape(nonce))">
            <input type="hidden" name="next" value="\(HTML.escape(safeNext(next)))">
            <label for="token">Token</label>
            <input id="token" name="token" type="password" autocomplete="current-password" required autofocus spellcheck="false">
            <button type="submit">Sign in</button>
            </form>
            """
        } else {
            body = """
            <p class="msg error" role="alert">\(HTML.escape(message ?? "Please sign in."))</p>
            <p><a href="\(HTML.escape(HTML.link("/web/signin", [("next", next.map(safeNext))])))">Sign in</a></p>
            """
        }
        return HTML.page(title: "Sign in", current: nil, user: nil, body: body)
    }

    /// "45 seconds", "1 minute", "2 minutes 5 seconds".
    static func duration(_ seconds: Double) -> String {
        let s = max(1, Int(seconds.rounded(.up)))
        func unit(_ n: Int, _ name: String) -> String { "\(n) \(name)\(n == 1 ? "" : "s")" }
        if s < 60 { return unit(s, "second") }
        return unit(s / 60, "minute") + (s % 60 == 0 ? "" : " " + unit(s % 60, "second"))
    }

    static func ticketSearch(_ value: String?) -> String {
        """
        <form class="filters" method="get" action="/web/tickets" role="search">
        <label>Ticket id <input name="id" value="\(HTML.escape(value ?? ""))" required></label>
        <button type="submit">Open ticket</button></form>
        """
    }

    static func input(_ name: String, _ label: String, _ value: String?, placeholder: String = "", size: Int = 18) -> String {
        "<label>\(HTML.escape(label)) <input name=\"\(name)\" value=\"\(HTML.escape(value ?? ""))\" size=\"\(size)\" placeholder=\"\(HTML.escape(placeholder))\"></label>"
    }

    static func select(_ name: String, _ label: String, _ options: [(value: String, label: String)], selected: String?) -> String {
        var s = "<label>\(HTML.escape(label)) <select name=\"\(name)\"><option value=\"\">any</option>"
        for o in options {
            s += "<option value=\"\(HTML.escape(o.value))\"\(o.value == selected ? " selected" : "")>\(HTML.escape(o.label))</option>"
        }
        return s + "</select></label>"
    }
}

/// The two clocks of CONTRACT.md section 8 as a page takes them: `asOf` (event time), `knownAt`
/// (recorded time) and `now` (the deadline clock). Each is a seq, an RFC 3339 time, or a date and
/// time in the viewer's zone; links carry them as seqs or RFC 3339.
struct WebCut {
    var asOf: AsOf?
    var knownAt: AsOf?
    var now: Timestamp?

    init(_ q: [String: String], clock: WebClock) throws {
        func parse(_ name: String, _ label: String) throws -> AsOf? {
            guard let v = q[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            if let n = UInt64(v) { return .seq(n) }
            if let t = clock.parse(v) { return .time(t) }
            throw WebRefusal.badInput("\(label) '\(v)' is neither a seq (a whole number) nor a time such as 2026-03-05 17:00 (in \(clock.name)) or 2026-03-05T17:00:00Z")
        }
        asOf = try parse("asOf", "As of")
        knownAt = try parse("knownAt", "Known at")
        if case .seq? = try parse("now", "Deadline clock") { throw WebRefusal.badInput("The deadline clock takes a time, not a seq") }
        if case .time(let t)? = try parse("now", "Deadline clock") { now = t }
    }

    static func text(_ a: AsOf?) -> String? {
        switch a {
        case .seq(let n)?: return String(n)
        case .time(let t)?: return t.description
        case nil: return nil
        }
    }

    var params: [(String, String?)] { [("asOf", WebCut.text(asOf)), ("knownAt", WebCut.text(knownAt)), ("now", now?.description)] }
    var isSet: Bool { asOf != nil || knownAt != nil || now != nil }

    func point(_ ledger: Ledger) throws -> QueryPoint { try ledger.point(asOf: asOf, knownAt: knownAt, now: now) }

    /// The form fields, showing the values in the viewer's zone.
    func fields(_ clock: WebClock) -> String {
        func shown(_ a: AsOf?) -> String? {
            switch a {
            case .seq(let n)?: return String(n)
            case .time(let t)?: return String(clock.text(t).prefix(19))
            case nil: return nil
            }
        }
        let hint = "e.g. 2026-03-05 17:00 or a seq"
        return WebPages.input("asOf", "As of (event time)", shown(asOf), placeholder: hint)
            + WebPages.input("knownAt", "As known at (recorded time)", shown(knownAt), placeholder: hint)
            + WebPages.input("now", "Deadline clock", now.map { String(clock.text($0).prefix(19)) }, placeholder: "default: as of, else now")
    }

    /// A line saying which cut a page shows.
    func describe(_ point: QueryPoint, _ clock: WebClock) -> String {
        var parts: [String] = []
        if let t = point.eventTime { parts.append("as of \(clock.html(t))") }
        if point.seq < point.head { parts.append("as known at seq \(point.seq) (of \(point.head))") }
        if parts.isEmpty { parts.append("the whole ledger (through seq \(point.seq))") }
        parts.append("deadlines judged at \(clock.html(point.clock))")
        return "<p class=\"muted\">Showing " + parts.joined(separator: "; ") + ". Times in \(HTML.escape(clock.name)).</p>"
    }
}
