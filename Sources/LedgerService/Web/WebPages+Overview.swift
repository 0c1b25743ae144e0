import Compliance
import EscalationDomain
import EventLog
import Foundation
import Hummingbird
import Ledger
import Projections

extension LedgerService {
    /// The period and cut of the Overview, and the report for them (as `ledger report`).
    struct OverviewQuery {
        var from: Timestamp?
        var to: Timestamp?
        var cut: WebCut

        init(_ q: [String: String], clock: WebClock) throws {
            cut = try WebCut(q, clock: clock)
            func time(_ name: String, _ label: String, endOfDay: Bool) throws -> Timestamp? {
                guard let v = q[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
                guard var t = clock.parse(v) else { throw WebRefusal.badInput("\(label) '\(v)' is not a date or time such as 2026-03-01") }
                // A bare date as the end of a period means the whole of that day.
                if endOfDay, v.count == 10 { t = t.adding(microseconds: 86_400_000_000 - 1_000_000) }
                return t
            }
            from = try time("from", "From", endOfDay: false)
            to = try time("to", "To", endOfDay: true)
            if let from, let to, to < from { throw WebRefusal.badInput("The period ends before it starts") }
        }

        var params: [(String, String?)] { [("from", from?.description), ("to", to?.description)] + cut.params }

        /// The report. At the head (no `asOf`, no `knownAt`) it comes from the live figures, kept
        /// up to date as the log grows; a view of another moment is computed and cached by the
        /// log's head and the query. The clock is `now`, else the period's end, else the current
        /// time to the minute.
        func report(_ ledger: Ledger, _ web: WebState) throws -> (Report, QueryPoint) {
            if cut.asOf == nil, cut.knownAt == nil {
                let clock = cut.now ?? to ?? WebState.minute()
                try web.live.refresh()
                let (r, seq) = web.live.report(from: from, to: to, clock: clock)
                return (r, QueryPoint(seq: seq, eventTime: nil, clock: clock, head: seq))
            }
            var point = try cut.point(ledger)
            if cut.now == nil, let to { point.clock = to }
            if cut.now == nil, to == nil, point.eventTime == nil {
                let minute: Int64 = 60_000_000
                point.clock = Timestamp(microsecondsSinceEpoch: point.clock.microsecondsSinceEpoch / minute * minute)
            }
            let key = "report|\(point.head)|\(point.seq)|\(point.eventTime?.description ?? "")|\(point.clock)|\(from?.description ?? "")|\(to?.description ?? "")"
            return (try web.cached(key) { try ledger.report(from: from, to: to, at: point) }, point)
        }
    }

    func overviewPage(_ request: Request, _ user: WebUser, _ web: WebState) async throws -> Response {
        let clock = user.clock
        let q = try OverviewQuery(request.webQuery, clock: clock)
        let (r, point, stats, checkpoint) = try await Blocking.run { [ledger = self.ledger] in
            let (r, point) = try q.report(ledger, web)
            let stats = try ledger.stats()
            let checkpoint = try web.live.checkpoint()
            return (r, point, stats, checkpoint)
        }
        var b = """
        <form class="filters" method="get" action="/web/overview" aria-label="Period">
        \(WebPages.input("from", "Tickets opened from", q.from.map { String(clock.text($0).prefix(19)) }, placeholder: "e.g. 2026-03-01"))
        \(WebPages.input("to", "to", q.to.map { String(clock.text($0).prefix(19)) }, placeholder: "e.g. 2026-03-31"))
        \(q.cut.fields(clock))
        <button type="submit">Show</button> <a href="/web/overview">Reset</a></form>
        \(q.cut.describe(point, clock))
        <p><a href="\(HTML.escape(HTML.link("/web/overview.csv", q.params)))" download>Download these figures as CSV</a></p>
        """
        func figure(_ key: String, _ label: String, _ value: Double?, _ of: String) -> String {
            """
            <div class="figure"><span class="v" data-figure="\(key)" data-value="\(value.map { String($0) } ?? "")">\(HTML.percent(value))</span>\
            \(HTML.escape(label))<span class="of">\(HTML.escape(of))</span></div>
            """
        }
        b += "<h2>Rates</h2><div class=\"figures\">"
        b += "<div class=\"figure\"><span class=\"v\" data-figure=\"tickets\" data-value=\"\(r.tickets)\">\(HTML.count(r.tickets))</span>tickets (calls)<span class=\"of\">opened in the period</span></div>"
        b += figure("escalationRate", "escalation rate", r.escalationRate, "\(HTML.count(r.escalated)) of \(HTML.count(r.tickets)) tickets had a request")
        b += figure("deEscalationRate", "de-escalation rate", r.deEscalationRate, "\(HTML.count(r.deEscalated)) of \(HTML.count(r.escalated)) de-escalated by the opener")
        b += figure("twoAskCompliance", "two-ask compliance", r.twoAskCompliance, "\(HTML.count(r.compliantTransfers)) of \(HTML.count(r.transfersAfterRequest)) transfers after two declined asks")
        b += figure("callbackOnTimeRate", "callbacks on time", r.callbackOnTimeRate, "\(HTML.count(r.callbacksOnTime)) of \(HTML.count(r.callbacksDue)) due")
        b += "</div>"
        var outcomes: [[String]] = []
        for (k, n) in r.resolutions.sorted(by: { $0.key < $1.key }) {
            outcomes.append([HTML.escape(k), "<span data-outcome=\"\(HTML.escape(k))\">\(n)</span>", HTML.percent(Double(n) / Double(max(1, r.tickets)))])
        }
        for (k, n) in r.unresolved.sorted(by: { $0.key < $1.key }) {
            outcomes.append(["still " + HTML.escape(k), "<span data-outcome=\"\(HTML.escape(k))\">\(n)</span>", HTML.percent(Double(n) / Double(max(1, r.tickets)))])
        }
        b += "<h2>Outcomes</h2>" + HTML.table(caption: "Outcomes of the period's tickets", id: "outcomes",
                                            headers: [("outcome", false), ("tickets", true), ("share", true)], rows: outcomes)
        b += "<h2>Findings</h2>"
        b += HTML.hbarChart(title: "Findings per 1,000 calls, by kind",
                            items: Finding.Kind.allCases.map { k in (k.rawValue, r.perThousandCalls(k), String(format: "%.1f", r.perThousandCalls(k))) })
        b += HTML.table(caption: "Findings by kind", id: "findings-by-kind", headers: [("kind", false), ("count", true), ("per 1,000 calls", true)],
                        rows: Finding.Kind.allCases.map { k in
                            ["<a href=\"\(HTML.escape(HTML.link("/web/findings", [("kind", k.rawValue)] + q.cut.params)))\">\(k.rawValue)</a>",
                             "<span data-kind=\"\(k.rawValue)\" data-value=\"\(r.findings[k] ?? 0)\">\(HTML.count(r.findings[k] ?? 0))</span>",
                             "<span data-per-thousand=\"\(k.rawValue)\">\(String(format: "%.2f", r.perThousandCalls(k)))</span>"]
                        })
        b += "<h2>Weekly trend</h2>"
        b += HTML.barChart(title: "Tickets, escalated and de-escalated tickets, and findings per week (by the week a ticket was opened)",
                           labels: r.weeks.map { String($0.start.description.prefix(10)) },
                           series: [("tickets", "#9db9d9", r.weeks.map(\.tickets)), ("escalated", "#d97a1e", r.weeks.map(\.escalated)),
                                    ("de-escalated", "#2e8b57", r.weeks.map(\.deEscalated)), ("findings", "#a4161a", r.weeks.map(\.findings))])
        b += HTML.table(caption: "Weekly trend (weeks start Monday 00:00 UTC)", id: "weeks",
                        headers: [("week of", false), ("tickets", true), ("escalated", true), ("de-escalated", true), ("findings", true)],
                        rows: r.weeks.map { [String($0.start.description.prefix(10)), String($0.tickets), String($0.escalated), String($0.deEscalated), String($0.findings)] })
        b += "<h2>The chain</h2>"
        var chain: [[String]] = [
            ["Events", "<span data-figure=\"lastSeq\" data-value=\"\(stats.lastSeq)\">\(stats.lastSeq)</span>"],
            ["Head hash", "<span class=\"hash\">\(HTML.escape(stats.headHash))</span>"],
            ["Last recorded", clock.html(stats.lastRecordedAt)],
            ["Current checkpoint", "tree size \(checkpoint.checkpoint.treeSize), root <span class=\"hash\">\(HTML.escape(checkpoint.checkpoint.rootHash.hex))</span> (origin \(HTML.escape(checkpoint.checkpoint.origin)))"],
        ]
        if let v = web.verification {
            let at = Timestamp(microsecondsSinceEpoch: Int64(v.at.timeIntervalSince1970 * 1_000_000))
            chain.append(["Last verification", (v.result.ok ? "<span class=\"ok\">intact</span>" : "<span class=\"bad\">DAMAGED</span>")
                          + ": \(v.result.checked) events checked at \(clock.html(at)) by \(HTML.escape(v.by))"
                          + (v.result.problem.map { " — " + HTML.escape($0) } ?? "")])
        } else {
            chain.append(["Last verification", "not run from this service since it started (<code>ledger verify</code> checks it from the command line)"])
        }
        b += HTML.table(caption: "The chain's state", id: "chain", headers: [("", false), ("", false)], rows: chain)
        b += """
        <form method="post" action="/web/verify"><input type="hidden" name="csrf" value="\(HTML.escape(user.session.csrf))">
        <button type="submit">Verify the chain now</button> <span class="muted">(reads every event; on a large ledger this takes a while)</span></form>
        <p><a href="/checkpoint">The current signed checkpoint</a> (text)</p>
        """
        return .html(HTML.page(title: "Overview", current: "overview", user: user, body: b))
    }

    func overviewCSV(_ request: Request, _ user: WebUser, _ web: WebState) async throws -> Response {
        let q = try OverviewQuery(request.webQuery, clock: user.clock)
        let r = try await Blocking.run { [ledger = self.ledger] in try q.report(ledger, web).0 }
        var rows = r.summaryCSVRows
        for w in r.weeks {
            let week = w.start.description
            rows += [["weekTickets", week, String(w.tickets)], ["weekEscalated", week, String(w.escalated)],
                     ["weekDeEscalated", week, String(w.deEscalated)], ["weekFindings", week, String(w.findings)]]
        }
        return .download(rows.flatMap(CSVRow.line), contentType: "text/csv; charset=utf-8", filename: "overview.csv")
    }
}
