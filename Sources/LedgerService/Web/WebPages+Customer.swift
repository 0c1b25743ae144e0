import EscalationDomain
import Foundation
import HTTPTypes
import Hummingbird
import Ledger

extension LedgerService {
    /// The customer page (subject access), compliance and admin tokens only: a customer's
    /// tickets, with links, and their events, as `ledger customer ID` reads them
    /// (Ledger.customerHistory: by real id or pseudonym, through the customer's ticket links).
    /// Masked; revealing needs a stated purpose and records `personalDataRevealed` (operator = the
    /// token's staff id) before anything is shown, as the command's `--reveal` does.
    func addWebCustomers(_ router: Router<ServiceRequestContext>, _ web: WebState) {
        // The id goes in the query, not the path: the service logs paths, and a customer id is personal data.
        webGet(router, web, "/web/customers", compliance: true) { request, user in
            guard let id = request.webQuery["id"]?.trimmingCharacters(in: .whitespaces), !id.isEmpty else {
                return .html(HTML.page(title: "Customer", current: "compliance", user: user, body: WebPages.customerSearch(nil)
                                       + "<p>A customer's tickets and compliance history (subject access), masked unless you reveal them.</p>"))
            }
            return try await self.customerPage(user, id: id, reveal: nil)
        }
        webPost(router, web, "/web/customers/reveal", compliance: true) { _, user, form in
            let staff = try WebPages.operatorStaff(user)
            guard let id = form["customer"]?.trimmingCharacters(in: .whitespaces), !id.isEmpty else { throw WebRefusal.badInput("Name the customer") }
            guard let purpose = form["purpose"]?.trimmingCharacters(in: .whitespacesAndNewlines), !purpose.isEmpty else {
                throw WebRefusal.badInput("State the purpose: revealing personal data is recorded with why")
            }
            return try await self.customerPage(user, id: id, reveal: Ledger.RevealRequest(operator: staff, purpose: purpose))
        }
    }

    func customerPage(_ user: WebUser, id: String, reveal: Ledger.RevealRequest?) async throws -> Response {
        let clock = user.clock
        let (pseudonym, events, tickets) = try await Blocking.run { [ledger = self.ledger] in
            guard let history = try ledger.customerHistory(id, reveal: reveal) else {
                throw ServiceError.notFound("no live customer \(id) (never recorded, or erased: an erased customer cannot be found by their id)")
            }
            // The customer's tickets, in the order they were opened, with their state now.
            var order: [String] = []
            for e in history.events { if let t = e.event.ticket, !order.contains(t) { order.append(t) } }
            let point = try ledger.point(asOf: nil, now: nil)
            let tickets = try order.map { t in (t, try ledger.ticket(t, at: point)?.state) }
            return (history.pseudonym, history.events, tickets)
        }
        let csrf = "<input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(user.session.csrf))\">"
        var b = WebPages.customerSearch(id)
        if reveal != nil {
            b += "<p class=\"msg\" role=\"status\">Personal data is shown in clear. This reveal is on record (<code>personalDataRevealed</code>) with your purpose.</p>"
        }
        b += "<p>Pseudonym <code data-field=\"pseudonym\">\(HTML.escape(pseudonym))</code>: \(HTML.count(tickets.count)) ticket\(tickets.count == 1 ? "" : "s"), "
            + "\(HTML.count(events.count)) events. Personal data is \(reveal == nil ? "masked" : "shown in clear") on this page.</p>"
        b += HTML.table(caption: "The customer's tickets", id: "tickets",
                        headers: [("ticket", false), ("opened", false), ("opened by", false), ("status", false), ("events", true)],
                        rows: tickets.map { t, state in
                            ["<a href=\"/web/tickets/\(HTML.url(t))\" data-ticket=\"\(HTML.escape(t))\">\(HTML.escape(t))</a>",
                             state.map { clock.html($0.openedAt) } ?? "–", HTML.escape(state?.openedBy ?? "–"),
                             HTML.escape(state.map { $0.status.rawValue + ($0.resolution.map { " (\($0.rawValue))" } ?? "") } ?? "–"),
                             String(events.filter { $0.event.ticket == t }.count)]
                        })
        if reveal == nil {
            b += """
            <h2 id="reveal">Reveal this customer's personal data</h2>
            <p>Revealing appends <code>personalDataRevealed</code> (you, your purpose, the customer) before anything is shown.</p>
            <form class="stack" method="post" action="/web/customers/reveal">\(csrf)
            <input type="hidden" name="customer" value="\(HTML.escape(pseudonym))">
            <label>Purpose (recorded) <input name="purpose" required placeholder="e.g. subject access request 2026-117"></label>
            <button type="submit">Reveal and record</button></form>
            """
        }
        b += HTML.table(caption: "Events (tickets and compliance history)", id: "events",
                        headers: [("seq", true), ("at", false), ("ticket", false), ("event", false), ("actor", false)],
                        rows: events.map { e in
                            [String(e.record.seq), clock.html(e.event.at),
                             e.event.ticket.map { "<a href=\"/web/tickets/\(HTML.url($0))\">\(HTML.escape($0))</a>" } ?? "–",
                             "<strong>\(HTML.escape(e.event.type.rawValue))</strong> \(HTML.escape(e.event.summary))"
                                + e.event.personalText.map { "<br><span class=\"pd\">\(HTML.escape($0.path)): \(HTML.escape($0.value))</span>" }.joined(),
                             HTML.escape(e.event.actor)]
                        })
        b += "<p><a href=\"/web/compliance#holds\">Legal holds and erasure</a> are on the compliance page.</p>"
        return .html(HTML.page(title: "Customer \(pseudonym)", current: "compliance", user: user, body: b))
    }
}

extension WebPages {
    static func customerSearch(_ value: String?) -> String {
        """
        <form class="filters" method="get" action="/web/customers" role="search">
        <label>Customer id (or pseudonym) <input name="id" value="\(HTML.escape(value ?? ""))" required></label>
        <button type="submit">Open customer</button></form>
        """
    }
}
