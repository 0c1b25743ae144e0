import Compliance
import EscalationDomain
import Foundation
import Hummingbird
import Ledger
import Projections

extension LedgerService {
    /// One scorecard column: its key (as in `ledger scorecard --json`), its header, and its value.
    struct ScoreColumn: Sendable {
        enum Value: Sendable { case text(String), number(Double?, String) }
        var key: String
        var label: String
        var numeric: Bool
        var value: @Sendable (Scorecard, String?) -> Value
    }

    static let scoreColumns: [ScoreColumn] = {
        func n(_ k: String, _ l: String, _ f: @escaping @Sendable (Scorecard) -> Int) -> ScoreColumn {
            ScoreColumn(key: k, label: l, numeric: true) { c, _ in .number(Double(f(c)), String(f(c))) }
        }
        func rate(_ k: String, _ l: String, _ f: @escaping @Sendable (Scorecard) -> Double?) -> ScoreColumn {
            ScoreColumn(key: k, label: l, numeric: true) { c, _ in .number(f(c), HTML.percent(f(c))) }
        }
        return [
            ScoreColumn(key: "staff", label: "staff", numeric: false) { c, _ in .text(c.staff) },
            ScoreColumn(key: "name", label: "name", numeric: false) { c, _ in .text(c.name) },
            ScoreColumn(key: "role", label: "role", numeric: false) { c, _ in .text(c.role.rawValue) },
            ScoreColumn(key: "reportsTo", label: "team (reports to)", numeric: false) { _, t in .text(t ?? "") },
            n("callsOpened", "calls opened") { $0.counters.callsOpened },
            n("escalationRequests", "escalation requests") { $0.counters.escalationRequests },
            n("deEscalationAttempts", "de-escalation attempts") { $0.counters.deEscalationAttempts },
            n("deEscalated", "de-escalated") { $0.counters.deEscalated },
            rate("deEscalationRate", "de-escalation rate") { $0.deEscalationRate },
            n("transfersOut", "transfers out") { $0.counters.transfersOut },
            rate("twoAskCompliance", "two-ask compliance") { $0.twoAskCompliance },
            n("callbacksOwed", "callbacks owed") { $0.counters.callbacksOwed },
            n("callbacksOnTime", "on time") { $0.counters.callbacksOnTime },
            n("callbacksLate", "late") { $0.counters.callbacksLate },
            n("callbacksOverdue", "overdue") { $0.callbacksOverdue },
            n("requestsDeclined", "requests declined") { $0.counters.requestsDeclined },
            n("feedbackReceived", "feedback") { $0.counters.feedbackReceived },
            n("sanctionsReceived", "sanctions") { $0.counters.sanctionsReceived },
            n("debriefs", "debriefs") { $0.counters.debriefs },
            n("findings", "findings") { $0.findingsTotal },
            n("supervisorLoad", "supervisor load") { $0.counters.supervisorLoad },
            ScoreColumn(key: "escalationCost", label: "escalation cost", numeric: true) { c, _ in
                .number(c.counters.escalationCost, String(format: "%.2f", c.counters.escalationCost))
            },
        ]
    }()

    func scorecardsPage(_ request: Request, _ user: WebUser, csv: Bool) async throws -> Response {
        let q = request.webQuery
        let clock = user.clock
        let cut = try WebCut(q, clock: clock)
        let role = q["role"], team = q["reportsTo"], only = q["staff"]
        if let role, Role(rawValue: role) == nil { throw WebRefusal.badInput("'\(role)' is not a role") }
        let sortKey = q["sort"] ?? "staff"
        guard let sortColumn = LedgerService.scoreColumns.first(where: { $0.key == sortKey }) else {
            throw WebRefusal.badInput("'\(sortKey)' is not a column")
        }
        let descending = (q["dir"] ?? (sortColumn.numeric ? "desc" : "asc")) == "desc"
        let (cards, teams, point) = try await Blocking.run { [ledger = self.ledger] in
            let point = try cut.point(ledger)
            var teams: [String: String?] = [:]
            let cards = try ledger.withProjections(at: point) { s in
                for r in try s.staffRecords() { teams[r.info.staff] = r.info.reportsTo }
                return try s.scorecards(clock: point.clock, staff: nil)
            }
            return (cards, teams, point)
        }
        var shown = cards.filter { c in
            (role == nil || c.role.rawValue == role) && (team == nil || teams[c.staff] == .some(team)) && (only == nil || c.staff == only)
        }
        func sortValue(_ c: Scorecard) -> ScoreColumn.Value { sortColumn.value(c, teams[c.staff] ?? nil) }
        shown.sort { a, b in
            switch (sortValue(a), sortValue(b)) {
            case let (.number(x, _), .number(y, _)):
                // Empty values (no transfers: no compliance) always last.
                if let x, let y, x != y { return descending ? x > y : x < y }
                if x != nil, y == nil { return true }
                if x == nil, y != nil { return false }
            case let (.text(x), .text(y)) where x != y: return descending ? x > y : x < y
            default: break
            }
            return a.staff < b.staff
        }
        let columns = LedgerService.scoreColumns
        let filterParams: [(String, String?)] = [("role", role), ("reportsTo", team), ("staff", only)] + cut.params
        if csv {
            var bytes = CSVRow.line(columns.map(\.key))
            for c in shown {
                bytes += CSVRow.line(columns.map { col in
                    switch col.value(c, teams[c.staff] ?? nil) {
                    case .text(let s): return s
                    case .number(let v, _):
                        guard let v else { return "" }
                        return col.key == "escalationCost" ? String(format: "%.2f", v) : v == v.rounded() && col.key != "deEscalationRate" && col.key != "twoAskCompliance" ? String(Int(v)) : String(v)
                    }
                })
            }
            return .download(bytes, contentType: "text/csv; charset=utf-8", filename: "scorecards.csv")
        }
        let leads = Set(teams.values.compactMap { $0 }).sorted()
        var b = """
        <form class="filters" method="get" action="/web/scorecards" aria-label="Filter scorecards">
        \(WebPages.select("role", "Role", Role.allCases.map { ($0.rawValue, $0.rawValue) }, selected: role))
        \(WebPages.select("reportsTo", "Team (reports to)", leads.map { ($0, $0) }, selected: team))
        \(cut.fields(clock))
        <input type="hidden" name="sort" value="\(HTML.escape(sortKey))"><input type="hidden" name="dir" value="\(descending ? "desc" : "asc")">
        <button type="submit">Filter</button> <a href="/web/scorecards">Reset</a></form>
        \(cut.describe(point, clock))
        <p>\(shown.count) of \(cards.count) staff members. Select a column's heading to sort by it.
        <a href="\(HTML.escape(HTML.link("/web/scorecards.csv", filterParams + [("sort", sortKey), ("dir", descending ? "desc" : "asc")])))" download>Download as CSV</a></p>
        """
        let headerHTML = columns.map { col -> String in
            let active = col.key == sortKey
            let nextDir = active ? (descending ? "asc" : "desc") : (col.numeric ? "desc" : "asc")
            let href = HTML.link("/web/scorecards", filterParams + [("sort", col.key), ("dir", nextDir)])
            let arrow = active ? (descending ? " ▼" : " ▲") : ""
            return "<a href=\"\(HTML.escape(href))\" data-sort=\"\(col.key)\">\(HTML.escape(col.label))\(arrow)<span class=\"skip\">, sort \(nextDir == "asc" ? "ascending" : "descending")</span></a>"
        }
        let rows = shown.map { c in
            columns.map { col -> String in
                switch col.value(c, teams[c.staff] ?? nil) {
                case .text(let s):
                    if col.key == "staff" { return "<a href=\"/web/staff/\(HTML.url(s))\(HTML.escape(HTML.link("", cut.params)))\" data-col=\"staff\">\(HTML.escape(s))</a>" }
                    if col.key == "reportsTo", !s.isEmpty { return "<a href=\"/web/staff/\(HTML.url(s))\">\(HTML.escape(s))</a>" }
                    return "<span data-col=\"\(col.key)\">\(HTML.escape(s))</span>"
                case .number(let v, let text):
                    return "<span data-col=\"\(col.key)\" data-value=\"\(v.map { String($0) } ?? "")\">\(HTML.escape(text))</span>"
                }
            }
        }
        var table = HTML.table(caption: "Scorecards", id: "scorecards", headers: columns.map { ($0.label, $0.numeric) }, rows: rows, headerHTML: headerHTML)
        if let i = columns.firstIndex(where: { $0.key == sortKey }) {
            // aria-sort on the sorted column's header.
            let marker = "<th scope=\"col\"\(columns[i].numeric ? " class=\"n\"" : "")>\(headerHTML[i])"
            table = table.replacingOccurrences(of: marker, with: marker.replacingOccurrences(of: "<th scope=\"col\"", with: "<th scope=\"col\" aria-sort=\"\(descending ? "descending" : "ascending")\""))
        }
        b += table
        return .html(HTML.page(title: "Scorecards", current: "scorecards", user: user, body: b))
    }

    /// A staff member: their scorecard, their findings, and their weekly trend.
    func staffPage(_ request: Request, _ user: WebUser, _ web: WebState) async throws -> Response {
        let id = try WebPages.pathID(request, "/web/staff/")
        let clock = user.clock
        let cut = try WebCut(request.webQuery, clock: clock)
        let (card, record, findings, point) = try await Blocking.run { [ledger = self.ledger] in
            let point = try cut.point(ledger)
            return try ledger.withProjections(at: point) { s in
                (try s.scorecards(clock: point.clock, staff: id).first, try s.staffRecords().first { $0.info.staff == id },
                 try s.findings(clock: point.clock, staff: id), point)
            }
        }
        guard let card else { throw ServiceError.notFound("no staff member \(id)" + (point.isHistorical ? " " + point.description : "")) }
        var b = cut.describe(point, clock)
        b += "<p>\(HTML.escape(card.name)), \(HTML.escape(card.role.rawValue))"
        if let lead = record?.info.reportsTo { b += ", reports to <a href=\"/web/staff/\(HTML.url(lead))\">\(HTML.escape(lead))</a>" }
        b += ". <a href=\"\(HTML.escape(HTML.link("/web/audit", [("staff", id)])))\">Their audit trail</a></p>"
        b += HTML.table(caption: "Scorecard", id: "scorecard", headers: [("figure", false), ("value", true)],
                        rows: LedgerService.scoreColumns.dropFirst(4).map { col in
                            switch col.value(card, nil) {
                            case .number(let v, let text): return [HTML.escape(col.label), "<span data-col=\"\(col.key)\" data-value=\"\(v.map { String($0) } ?? "")\">\(HTML.escape(text))</span>"]
                            case .text(let s): return [HTML.escape(col.label), HTML.escape(s)]
                            }
                        })
        // Weekly trend of their findings, by the week of the time each concerns.
        var weeks: [Int64: [Finding.Kind: Int]] = [:]
        let day: Int64 = 86_400_000_000
        for f in findings {
            let days = f.at.microsecondsSinceEpoch >= 0 ? f.at.microsecondsSinceEpoch / day : (f.at.microsecondsSinceEpoch - day + 1) / day
            let start = (days - ((days % 7) + 7 + 3) % 7) * day
            weeks[start, default: [:]][f.kind, default: 0] += 1
        }
        let starts = weeks.keys.sorted()
        let labels = starts.map { String(Timestamp(microsecondsSinceEpoch: $0).description.prefix(10)) }
        b += "<p><a href=\"\(HTML.escape(HTML.link("/web/scorecards.csv", [("staff", id)] + cut.params)))\" download>Download this scorecard as CSV</a></p>"
        b += "<h2>Trend</h2>"
        if starts.isEmpty {
            b += "<p>No findings in this cut.</p>"
        } else {
            b += HTML.barChart(title: "Findings per week for \(id)", labels: labels,
                               series: [("findings", "#a4161a", starts.map { weeks[$0]!.values.reduce(0, +) })])
            b += HTML.table(caption: "Findings per week (weeks start Monday 00:00 UTC)", id: "trend",
                            headers: [("week of", false), ("findings", true), ("by kind", false)],
                            rows: zip(starts, labels).map { s, l in
                                [l, String(weeks[s]!.values.reduce(0, +)), HTML.escape(weeks[s]!.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", "))]
                            })
        }
        b += "<h2>Findings</h2><p><a href=\"\(HTML.escape(HTML.link("/web/findings", [("staff", id)] + cut.params)))\">Filter these findings</a> · "
            + "<a href=\"\(HTML.escape(HTML.link("/web/findings.csv", [("staff", id)] + cut.params)))\" download>Download them as CSV</a></p>"
        b += WebFindings.table(Array(findings.prefix(200)), clock: clock, caption: "Findings for which \(HTML.escape(id)) is accountable"
                               + (findings.count > 200 ? " (the first 200 of \(findings.count))" : ""))
        return .html(HTML.page(title: "Staff member \(id)", current: "scorecards", user: user, body: b))
    }
}
