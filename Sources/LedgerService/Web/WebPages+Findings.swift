import Compliance
import EscalationDomain
import Foundation
import Hummingbird
import Ledger
import Projections

/// The findings table, shared by the Findings page and a staff member's page.
enum WebFindings {
    /// Each finding links to its ticket as it stood at the moment the finding concerns.
    static func table(_ findings: [Finding], clock: WebClock, caption: String) -> String {
        HTML.table(caption: caption, id: "findings",
                   headers: [("at", false), ("kind", false), ("ticket", false), ("accountable", false), ("reason", false), ("seq", true)],
                   rows: findings.map { f in
                       let ticket = HTML.link("/web/tickets/" + HTML.url(f.ticket), [("asOf", f.at.description), ("finding", f.id)])
                       return [clock.html(f.at), "<span data-col=\"kind\">\(f.kind.rawValue)</span>",
                               "<a href=\"\(HTML.escape(ticket))\" data-finding=\"\(HTML.escape(f.id))\">\(HTML.escape(f.ticket))</a>",
                               "<a href=\"/web/staff/\(HTML.url(f.staff))\">\(HTML.escape(f.staff))</a>",
                               HTML.escape(f.reason), String(f.seq)]
                   })
    }
}

extension LedgerService {
    func findingsPage(_ request: Request, _ user: WebUser, _ web: WebState, csv: Bool) async throws -> Response {
        let q = request.webQuery
        let clock = user.clock
        let cut = try WebCut(q, clock: clock)
        var kindParsed: Finding.Kind?
        if let k = q["kind"] {
            guard let parsed = Finding.Kind(rawValue: k) else { throw WebRefusal.badInput("'\(k)' is not a finding kind") }
            kindParsed = parsed
        }
        let kind = kindParsed
        let staff = q["staff"]?.trimmingCharacters(in: .whitespaces), ticket = q["ticket"]?.trimmingCharacters(in: .whitespaces)
        func time(_ name: String, _ endOfDay: Bool) throws -> Timestamp? {
            guard let v = q[name] else { return nil }
            guard var t = clock.parse(v) else { throw WebRefusal.badInput("'\(v)' is not a date or time such as 2026-03-01") }
            if endOfDay, v.trimmingCharacters(in: .whitespaces).count == 10 { t = t.adding(microseconds: 86_400_000_000 - 1_000_000) }
            return t
        }
        let from = try time("from", false), to = try time("to", true)
        let start = max(0, Int(q["start"] ?? "0") ?? 0)
        let pageSize = 100
        let (list, point) = try await Blocking.run { [ledger = self.ledger] in
            // Every finding, or those of a kind, at the head: from the live figures.
            if cut.asOf == nil, cut.knownAt == nil, staff == nil, ticket == nil {
                let clock = cut.now ?? WebState.minute()
                try web.live.refresh()
                let (all, seq) = web.live.findings(clock: clock, kind: kind)
                let list = (from == nil && to == nil) ? all : all.filter { f in (from.map { f.at >= $0 } ?? true) && (to.map { f.at <= $0 } ?? true) }
                return (list, QueryPoint(seq: seq, eventTime: nil, clock: clock, head: seq))
            }
            var point = try cut.point(ledger)
            if cut.now == nil, point.eventTime == nil {
                let minute: Int64 = 60_000_000
                point.clock = Timestamp(microsecondsSinceEpoch: point.clock.microsecondsSinceEpoch / minute * minute)
            }
            let key = "findings|\(point.head)|\(point.seq)|\(point.eventTime?.description ?? "")|\(point.clock)|\(kind?.rawValue ?? "")|\(staff ?? "")|\(ticket ?? "")"
            let all: [Finding] = try web.cached(key) {
                try ledger.withProjections(at: point) { try $0.findings(clock: point.clock, kind: kind, staff: staff, ticket: ticket) }
            }
            let list = (from == nil && to == nil) ? all : all.filter { f in (from.map { f.at >= $0 } ?? true) && (to.map { f.at <= $0 } ?? true) }
            return (list, point)
        }
        if csv {
            var bytes = CSVRow.line(["seq", "at", "kind", "ticket", "accountable", "reason", "id"])
            for f in list { bytes += CSVRow.line([String(f.seq), f.at.description, f.kind.rawValue, f.ticket, f.staff, f.reason, f.id]) }
            return .download(bytes, contentType: "text/csv; charset=utf-8", filename: "findings.csv")
        }
        let params: [(String, String?)] = [("kind", kind?.rawValue), ("staff", staff), ("ticket", ticket),
                                           ("from", from?.description), ("to", to?.description)] + cut.params
        var b = """
        <form class="filters" method="get" action="/web/findings" aria-label="Filter findings">
        \(WebPages.select("kind", "Kind", Finding.Kind.allCases.map { ($0.rawValue, $0.rawValue) }, selected: kind?.rawValue))
        \(WebPages.input("staff", "Accountable staff", staff, size: 10))
        \(WebPages.input("ticket", "Ticket", ticket, size: 12))
        \(WebPages.input("from", "At from", from.map { String(clock.text($0).prefix(19)) }, placeholder: "e.g. 2026-03-01", size: 14))
        \(WebPages.input("to", "to", to.map { String(clock.text($0).prefix(19)) }, placeholder: "e.g. 2026-03-31", size: 14))
        \(cut.fields(clock))
        <button type="submit">Filter</button> <a href="/web/findings">Reset</a></form>
        \(cut.describe(point, clock))
        """
        let page = Array(list.dropFirst(start).prefix(pageSize))
        b += "<p><span data-figure=\"findingsCount\" data-value=\"\(list.count)\">\(HTML.count(list.count))</span> findings"
        if !list.isEmpty { b += "; showing \(start + 1)–\(start + page.count)" }
        b += ". <a href=\"\(HTML.escape(HTML.link("/web/findings.csv", params)))\" download>Download all \(HTML.count(list.count)) as CSV</a></p>"
        b += WebFindings.table(page, clock: clock, caption: "Findings")
        var nav: [String] = []
        if start > 0 { nav.append("<a rel=\"prev\" href=\"\(HTML.escape(HTML.link("/web/findings", params + [("start", String(max(0, start - pageSize)))])))\">Previous page</a>") }
        if start + pageSize < list.count { nav.append("<a rel=\"next\" href=\"\(HTML.escape(HTML.link("/web/findings", params + [("start", String(start + pageSize))])))\">Next page</a>") }
        if !nav.isEmpty { b += "<nav aria-label=\"Pages\"><p>" + nav.joined(separator: " · ") + "</p></nav>" }
        return .html(HTML.page(title: "Findings", current: "findings", user: user, body: b))
    }

    /// A ticket: its state, findings and timeline in event time, as of any moment and as known at any moment.
    func ticketPage(_ request: Request, _ user: WebUser, id given: String? = nil, csv: Bool, reveal: Ledger.RevealRequest? = nil) async throws -> Response {
        let id = try given ?? WebPages.pathID(request, "/web/tickets/")
        let q = request.webQuery
        let clock = user.clock
        let cut = try WebCut(q, clock: clock)
        let (state, findings, events, point) = try await Blocking.run { [ledger = self.ledger] in
            let point = try cut.point(ledger)
            guard let (state, findings) = try ledger.ticket(id, at: point) else {
                throw ServiceError.notFound("no ticket \(id)" + (point.isHistorical ? " " + point.description : ""))
            }
            let view = try ledger.revealTicket(id, reveal)
            var events: [Ledger.DisplayEvent] = []
            try ledger.forEachTicketEvent(id, at: point, view: view, limit: 5000) { events.append($0) }
            return (state, findings, events, point)
        }
        if csv {
            var bytes = CSVRow.line(CSVRow.columns)
            for e in events {
                bytes += CSVRow.line(CSVRow.cells(e.event, seq: e.record.seq, version: e.record.version, recordedAt: e.record.recordedAt,
                                                  stream: e.record.stream, hash: e.record.hash))
            }
            return .download(bytes, contentType: "text/csv; charset=utf-8", filename: "ticket-\(id).csv")
        }
        var b = ""
        if reveal != nil {
            b += "<p class=\"msg\" role=\"status\">Personal data is shown in clear. This reveal is on record (<code>personalDataRevealed</code>) with your purpose.</p>"
        }
        b += """
        <form class="filters" method="get" action="/web/tickets/\(HTML.url(id))" aria-label="See the ticket at another moment">
        \(cut.fields(clock))
        <button type="submit">Show</button> <a href="/web/tickets/\(HTML.url(id))">Now</a></form>
        \(cut.describe(point, clock))
        """
        b += HTML.table(caption: "State", id: "state", headers: [("", false), ("", false)], rows: [
            ["status", "<span data-field=\"status\">\(HTML.escape(state.status.rawValue))</span>" + (state.resolution.map { " (" + HTML.escape($0.rawValue) + ")" } ?? "")],
            ["owner", "<a href=\"/web/staff/\(HTML.url(state.owner))\">\(HTML.escape(state.owner))</a>"],
            ["opened by", "<a href=\"/web/staff/\(HTML.url(state.openedBy))\">\(HTML.escape(state.openedBy))</a> at \(clock.html(state.openedAt))"],
            ["customer", "<span data-field=\"customer\">\(HTML.escape(events.first(where: { $0.event.customerID != nil })?.event.customerID ?? state.customer))</span>"],
            ["level", HTML.escape(state.level?.rawValue ?? "–")],
            ["escalations", "<span data-field=\"escalations\">\(state.escalations)</span>"], ["declined asks since the last request", String(state.asks)],
            ["transfers", String(state.transfers.count)],
            ["callbacks", state.callbacks.isEmpty ? "none" : state.callbacks.map { c in
                "\(HTML.escape(c.owner)), due \(clock.html(c.dueBy))" + (c.completedAt.map { ", completed \(clock.html($0))" + (c.completedBy.map { " by " + HTML.escape($0) } ?? "") } ?? ", open")
            }.joined(separator: "<br>")],
            ["version", "<span data-field=\"version\">\(state.version)</span> (last seq \(state.lastSeq))"],
        ])
        let marked = q["finding"]
        b += "<h2>Findings</h2><p><a href=\"\(HTML.escape(HTML.link("/web/findings.csv", [("ticket", id)] + cut.params)))\" download>Download as CSV</a></p>"
            + WebFindings.table(findings, clock: clock, caption: "Findings on this ticket at this moment")
        if let marked, !findings.contains(where: { $0.id == marked }) {
            b += "<p class=\"msg\">The finding \(HTML.escape(marked)) is not raised at this moment (its deadline may not have passed yet at this clock).</p>"
        }
        let markedSeq = marked.flatMap { m in findings.first { $0.id == m }?.seq }
        b += "<h2>Timeline</h2><p><a href=\"\(HTML.escape(HTML.link("/web/tickets/\(HTML.url(id))/csv", cut.params)))\" download>Download as CSV</a> · "
        b += "<a href=\"\(HTML.escape(HTML.link("/web/audit", [("ticket", id)])))\">Its audit trail</a></p>"
        b += HTML.table(caption: "Events in event time", id: "timeline",
                        headers: [("at", false), ("event", false), ("actor", false), ("channel", false), ("recorded", false), ("seq", true), ("", false)],
                        rows: events.sorted { ($0.event.at, $0.record.seq) < ($1.event.at, $1.record.seq) }.map { e in
                            [clock.html(e.event.at), "<strong>\(HTML.escape(e.event.type.rawValue))</strong> \(HTML.escape(e.event.summary))"
                                + e.event.personalText.map { "<br><span class=\"pd\">\(HTML.escape($0.path)): \(HTML.escape($0.value))</span>" }.joined(),
                             HTML.escape(e.event.actor), HTML.escape(e.event.channel),
                             clock.html(Timestamp(microsecondsSinceEpoch: e.record.recordedAt)), String(e.record.seq),
                             "<a href=\"\(HTML.escape(HTML.link("/web/tickets/\(HTML.url(id))", [("asOf", e.event.at.description)])))\">as of this</a>"]
                        },
                        rowClasses: events.sorted { ($0.event.at, $0.record.seq) < ($1.event.at, $1.record.seq) }.map { $0.record.seq == markedSeq ? "mark" : nil })
        if events.count >= 5000 { b += "<p>The first 5,000 events are shown; download the CSV for all.</p>" }
        return .html(HTML.page(title: "Ticket \(id)", current: "tickets", user: user, body: WebPages.ticketSearch(id) + b))
    }

    func auditPage(_ request: Request, _ user: WebUser, csv: Bool) async throws -> Response {
        let q = request.webQuery
        let clock = user.clock
        let cut = try WebCut(q, clock: clock)
        func time(_ name: String, _ endOfDay: Bool) throws -> Timestamp? {
            guard let v = q[name] else { return nil }
            guard var t = clock.parse(v) else { throw WebRefusal.badInput("'\(v)' is not a date or time such as 2026-03-01") }
            if endOfDay, v.trimmingCharacters(in: .whitespaces).count == 10 { t = t.adding(microseconds: 86_400_000_000 - 1_000_000) }
            return t
        }
        let from = try time("from", false), to = try time("to", true)
        var afterParsed: UInt64 = 0
        if let a = q["after"] {
            guard let n = UInt64(a) else { throw WebRefusal.badInput("after takes a seq") }
            afterParsed = n
        }
        let after = afterParsed
        let ticket = q["ticket"]?.trimmingCharacters(in: .whitespaces), staff = q["staff"]?.trimmingCharacters(in: .whitespaces)
        let channel = q["channel"]?.trimmingCharacters(in: .whitespaces)
        let pageSize = 100
        let filterParams: [(String, String?)] = [("ticket", ticket), ("staff", staff), ("from", from?.description), ("to", to?.description),
                                                 ("channel", channel)] + cut.params
        let ledger = self.ledger
        @Sendable func filter(_ point: QueryPoint) -> Ledger.AuditFilter {
            Ledger.AuditFilter(ticket: ticket, staff: staff, from: from, to: to, channel: channel, afterSeq: after, point: point.isHistorical ? point : nil)
        }
        if csv {
            var response = try await Response.streamed(contentType: "text/csv; charset=utf-8") { pipe in
                let point = try cut.point(ledger)
                var out = ListWriter(.csv, columns: ["seq", "recordedAt", "at", "actor", "channel", "type", "ticket", "hash", "summary"], pipe: pipe)
                try ledger.audit(filter(point), reveal: nil) { e in
                    try out.add(cells: [String(e.seq), e.recordedAt.description, e.at.description, e.actor, e.channel, e.type,
                                        e.ticket ?? "", e.hash, e.summary]) { _ in }
                }
                try out.finish()
            }
            response.headers[.contentDisposition] = "attachment; filename=\"audit.csv\""
            response.headers[.cacheControl] = "no-store"
            return response
        }
        let (entries, point) = try await Blocking.run {
            let point = try cut.point(ledger)
            return (try ledger.audit(filter(point), reveal: nil, limit: pageSize + 1), point)
        }
        let page = Array(entries.prefix(pageSize))
        var b = """
        <form class="filters" method="get" action="/web/audit" aria-label="Search the audit trail">
        \(WebPages.input("ticket", "Ticket", ticket, size: 12))
        \(WebPages.input("staff", "Staff (actor or subject)", staff, size: 10))
        \(WebPages.input("from", "Event time from", from.map { String(clock.text($0).prefix(19)) }, placeholder: "e.g. 2026-03-01", size: 14))
        \(WebPages.input("to", "to", to.map { String(clock.text($0).prefix(19)) }, placeholder: "e.g. 2026-03-31", size: 14))
        \(WebPages.input("channel", "Channel", channel, placeholder: "e.g. ask:billing", size: 12))
        \(cut.fields(clock))
        <button type="submit">Search</button> <a href="/web/audit">Reset</a></form>
        \(cut.describe(point, clock))
        <p><a href="\(HTML.escape(HTML.link("/web/audit.csv", filterParams)))" download>Download every matching entry as CSV</a></p>
        """
        b += HTML.table(caption: "Audit trail" + (after > 0 ? " after seq \(after)" : ""), id: "audit",
                        headers: [("seq", true), ("recorded", false), ("at", false), ("actor", false), ("channel", false), ("type", false),
                                  ("ticket", false), ("summary", false), ("hash", false)],
                        rows: page.map { e in
                            [String(e.seq), clock.html(e.recordedAt), clock.html(e.at), HTML.escape(e.actor), HTML.escape(e.channel),
                             "<span data-col=\"type\">\(HTML.escape(e.type))</span>",
                             e.ticket.map { "<a href=\"/web/tickets/\(HTML.url($0))\">\(HTML.escape($0))</a>" } ?? "",
                             HTML.escape(e.summary), "<span class=\"hash\" title=\"\(HTML.escape(e.hash))\">\(HTML.escape(String(e.hash.prefix(12))))…</span>"]
                        })
        var nav: [String] = []
        if after > 0 { nav.append("<a href=\"\(HTML.escape(HTML.link("/web/audit", filterParams)))\">First page</a>") }
        if entries.count > pageSize, let last = page.last {
            nav.append("<a rel=\"next\" href=\"\(HTML.escape(HTML.link("/web/audit", filterParams + [("after", String(last.seq))])))\">Next page</a>")
        }
        if !nav.isEmpty { b += "<nav aria-label=\"Pages\"><p>" + nav.joined(separator: " · ") + "</p></nav>" }
        return .html(HTML.page(title: "Audit trail", current: "audit", user: user, body: b))
    }
}
