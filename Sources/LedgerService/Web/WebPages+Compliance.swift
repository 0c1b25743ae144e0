import EscalationDomain
import Foundation
import HTTPTypes
import Hummingbird
import Ledger

extension LedgerService {
    /// The compliance page and its forms (a compliance or admin token acting as its staff id):
    /// reveal a ticket's personal data with a purpose (recorded first, CONTRACT.md section 7),
    /// place and release legal holds, erase a customer, the checkpoint and a ticket's proof.
    func addWebCompliance(_ router: Router<ServiceRequestContext>, _ web: WebState) {
        webGet(router, web, "/web/compliance", compliance: true) { _, user in
            let text = try await Blocking.run { try web.live.checkpoint().text }
            return .html(HTML.page(title: "Compliance", current: "compliance", user: user, body: WebPages.compliance(user, checkpoint: text, message: nil)))
        }
        webGet(router, web, "/web/compliance/checkpoint", compliance: true) { _, _ in
            let text = try await Blocking.run { try web.live.checkpoint().text }
            return .download(Array(text.utf8), contentType: "text/plain; charset=utf-8", filename: "checkpoint.txt")
        }
        webGet(router, web, "/web/compliance/proof", compliance: true) { request, _ in
            guard let ticket = request.webQuery["ticket"]?.trimmingCharacters(in: .whitespaces), !ticket.isEmpty else {
                throw WebRefusal.badInput("A proof needs a ticket id")
            }
            let bytes = try await Blocking.run { [ledger = self.ledger] in try ledger.proofDocument(.ticket(ticket)) }
            return .download(bytes, contentType: "application/json", filename: "proof-\(ticket).json")
        }
        webPost(router, web, "/web/compliance/reveal", compliance: true) { request, user, form in
            let staff = try WebPages.operatorStaff(user)
            guard let ticket = form["ticket"]?.trimmingCharacters(in: .whitespaces), !ticket.isEmpty else { throw WebRefusal.badInput("Name the ticket to reveal") }
            guard let purpose = form["purpose"]?.trimmingCharacters(in: .whitespacesAndNewlines), !purpose.isEmpty else {
                throw WebRefusal.badInput("State the purpose: revealing personal data is recorded with why")
            }
            return try await self.ticketPage(request, user, id: ticket, csv: false, reveal: Ledger.RevealRequest(operator: staff, purpose: purpose))
        }
        webPost(router, web, "/web/compliance/export", compliance: true) { _, user, form in
            try await self.webExport(user, form)
        }
        webPost(router, web, "/web/compliance/hold", compliance: true) { _, user, form in
            let staff = try WebPages.operatorStaff(user)
            guard let customer = form["customer"]?.trimmingCharacters(in: .whitespaces), !customer.isEmpty,
                  let matter = form["matter"]?.trimmingCharacters(in: .whitespaces), !matter.isEmpty else {
                throw WebRefusal.badInput("A hold needs a customer and a matter")
            }
            let hold = Event.LegalHold(customer: customer, matter: matter)
            let body: Event.Body
            switch form["action"] {
            case "place": body = .legalHoldPlaced(hold)
            case "release": body = .legalHoldReleased(hold)
            default: throw WebRefusal.badInput("Choose to place or release the hold")
            }
            return try await self.webCompliance(user, web, body, staff, done: form["action"] == "place" ? "Hold placed on \(customer) (matter \(matter))." : "Hold released for \(customer) (matter \(matter)).")
        }
        webPost(router, web, "/web/compliance/erase", compliance: true) { _, user, form in
            let staff = try WebPages.operatorStaff(user)
            guard let customer = form["customer"]?.trimmingCharacters(in: .whitespaces), !customer.isEmpty else { throw WebRefusal.badInput("Name the customer to erase") }
            guard form["confirm"] == customer else {
                throw WebRefusal.badInput("Erasure is irreversible: type the customer id again in the confirmation box")
            }
            let reason = form["reason"]?.trimmingCharacters(in: .whitespacesAndNewlines)
            return try await self.webCompliance(user, web, .personalDataErased(.init(customer: customer, reason: reason?.isEmpty == false ? reason : nil)), staff,
                                                done: "The personal data of \(customer) is erased.")
        }
    }

    /// An export bundle as one ustar archive, as `POST /v1/exports` answers (Routes+Export.swift):
    /// written by the library into a private temporary directory, recorded (`exportMade`, and
    /// `personalDataRevealed` when it shows customers in clear), streamed, then removed: the
    /// service's own steps (``exportArchive(_:by:log:headers:)``), with the form read as its query.
    func webExport(_ user: WebUser, _ form: [String: String]) async throws -> Response {
        let staff = try WebPages.operatorStaff(user)
        func value(_ name: String) -> String? { form[name].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } }
        guard let purpose = value("purpose") else { throw WebRefusal.badInput("An export needs a purpose: it is recorded in exportMade") }
        let clock = user.clock
        func point(_ name: String) throws -> AsOf? {
            guard let v = value(name) else { return nil }
            if let n = UInt64(v) { return .seq(n) }
            guard let t = clock.parse(v) else { throw WebRefusal.badInput("\(name) '\(v)' is neither a seq nor a time such as 2026-03-05 17:00") }
            return .time(t)
        }
        let from = try point("from"), to = try point("to")
        var filter: [String] = []
        if let from { filter.append("--from " + (WebCut.text(from) ?? "")) }
        if let to { filter.append("--to " + (WebCut.text(to) ?? "")) }
        for name in ["ticket", "staff"] { if let v = value(name) { filter.append("--\(name) " + v) } }
        let request = Ledger.ExportRequest(from: from, to: to, ticket: value("ticket"), staff: value("staff"), customer: value("customer"),
                                           pseudonymize: form["pseudonymize"] == "true", operator: staff, purpose: purpose,
                                           filter: filter.joined(separator: " "))
        var headers = WebHeaders.common
        return try await exportArchive(request, by: staff, log: "web export", headers: &headers)
    }

    func webCompliance(_ user: WebUser, _ web: WebState, _ body: Event.Body, _ staff: String, done: String) async throws -> Response {
        let (outcome, text) = try await Blocking.run { [ledger = self.ledger] in
            (try ledger.appendCompliance(body, operator: staff), try web.live.checkpoint().text)
        }
        let message: String
        var status = HTTPResponse.Status.ok
        switch outcome {
        case .appended: message = "<p class=\"msg\" role=\"status\">\(HTML.escape(done))</p>"
        case .duplicate: message = "<p class=\"msg\" role=\"status\">Already on record; nothing new was appended.</p>"
        case .refused(let v):
            status = .unprocessableContent
            message = "<p class=\"msg error\" role=\"alert\">Refused (\(HTML.escape(v.rule.rawValue))): \(HTML.escape(v.description))</p>"
        }
        return .html(HTML.page(title: "Compliance", current: "compliance", user: user, body: WebPages.compliance(user, checkpoint: text, message: message)),
                     status: status)
    }
}

extension WebPages {
    static func operatorStaff(_ user: WebUser) throws -> String {
        guard let staff = user.token.staff else {
            throw WebRefusal(status: .forbidden, title: "Not allowed",
                             message: "This token acts as no staff member, and compliance actions are recorded with their operator (ledger token create --staff STAFF).")
        }
        return staff
    }

    static func compliance(_ user: WebUser, checkpoint: String, message: String?) -> String {
        let csrf = "<input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(user.session.csrf))\">"
        let who = user.token.staff.map { "You act as <strong>\(HTML.escape($0))</strong>: every action here is recorded with that operator." }
            ?? "<span class=\"bad\">This token acts as no staff member, so it cannot reveal, hold or erase.</span>"
        return """
        \(message ?? "")
        <p>\(who)</p>
        <h2 id="customer">A customer's tickets (subject access)</h2>
        <p>The customer's tickets and compliance history, masked; reveal them there with a stated purpose (recorded first).</p>
        \(WebPages.customerSearch(nil))
        <h2 id="reveal">Reveal a ticket's personal data</h2>
        <p>Personal data is masked everywhere else. Revealing it appends <code>personalDataRevealed</code> (you, your purpose, the customer) before it is shown.</p>
        <form class="stack" method="post" action="/web/compliance/reveal">\(csrf)
        <label>Ticket id <input name="ticket" required></label>
        <label>Purpose (recorded) <input name="purpose" required placeholder="e.g. subject access request 2026-117"></label>
        <button type="submit">Reveal and record</button></form>
        <h2 id="holds">Legal holds</h2>
        <form class="stack" method="post" action="/web/compliance/hold">\(csrf)
        <label>Customer id <input name="customer" required></label>
        <label>Matter <input name="matter" required></label>
        <fieldset><legend>Action</legend>
        <label><input type="radio" name="action" value="place" checked> Place a hold</label>
        <label><input type="radio" name="action" value="release"> Release a hold</label></fieldset>
        <button type="submit">Record</button></form>
        <h2 id="erase">Erase a customer's personal data</h2>
        <p class="bad">Irreversible: every field of that customer reads <code>[erased]</code> from then on. Refused while a legal hold stands.</p>
        <form class="stack" method="post" action="/web/compliance/erase">\(csrf)
        <label>Customer id <input name="customer" required></label>
        <label>Type the customer id again to confirm <input name="confirm" required autocomplete="off"></label>
        <label>Reason (recorded) <input name="reason"></label>
        <button type="submit">Erase</button></form>
        <h2 id="export">Export bundle</h2>
        <p>A signed bundle (docs/EXPORT.md) as one <code>.tar</code> download, as <code>ledger export</code> writes it. The export is recorded
        (<code>exportMade</code>, and <code>personalDataRevealed</code> when it shows customers in clear) with you as operator.</p>
        <form class="stack" method="post" action="/web/compliance/export">\(csrf)
        <label>Purpose (recorded) <input name="purpose" required></label>
        <label>From (seq or time, optional) <input name="from"></label>
        <label>To (seq or time, optional) <input name="to"></label>
        <label>Ticket (optional) <input name="ticket"></label>
        <label>Staff member (optional) <input name="staff"></label>
        <label>Customer (optional) <input name="customer"></label>
        <label><input type="checkbox" name="pseudonymize" value="true"> Pseudonymise customer ids</label>
        <button type="submit">Export and download</button></form>
        <h2 id="checkpoint">Checkpoint and proofs</h2>
        <pre>\(HTML.escape(checkpoint))</pre>
        <p><a href="/web/compliance/checkpoint" download>Download the checkpoint</a></p>
        <form class="filters" method="get" action="/web/compliance/proof">
        <label>Ticket id <input name="ticket" required></label><button type="submit">Download its proof</button></form>
        """
    }
}
