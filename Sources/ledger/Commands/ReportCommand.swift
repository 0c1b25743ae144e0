import ArgumentParser
import EscalationDomain
import Foundation
import Ledger
import Projections

extension LedgerTool {
    /// `ledger report [--from T1] [--to T2] [--as-of X] [--known-at X] [--now T] [--format table|json|csv]`.
    struct ReportCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "The manager's summary of a period: outcomes, rates, findings, best and worst de-escalators, costs, weekly trend.",
            discussion: """
            Covers the tickets opened between --from and --to (event time, both inclusive; \
            default: all), as the ledger stands at the cut (--as-of, --known-at), with deadlines \
            judged at --now, else --to, else the --as-of time, else the current time.

            Rates: escalation = tickets with a request / tickets; de-escalation = tickets the \
            opener de-escalated (a request, then resolved by the agent or withdrawn, with no \
            transfer or callback) / tickets with a request; two-ask compliance = transfers on \
            escalated tickets made after two declined asks / all such transfers; callbacks on \
            time = completed by dueBy / callbacks whose dueBy has passed. Findings per 1,000 \
            calls count the findings on the period's tickets. Costs are senior staff's time on \
            the tickets an opener opened, at their hourlyCost (in the ledger's currency: ledger init --currency).

            Examples:
              ledger report --from 2026-03-01T00:00:00Z --to 2026-03-31T23:59:59Z
              ledger report --format json
            """
        )

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("Tickets opened at or after this RFC 3339 time.", valueName: "time"))
        var from: String?

        @Option(help: ArgumentHelp("Tickets opened at or before this RFC 3339 time (also the default clock).", valueName: "time"))
        var to: String?

        @Option(name: .customLong("min-requests"),
                help: ArgumentHelp("Rank agents with at least this many tickets with a request (default: half the average, 3 to 30).",
                                   valueName: "n"))
        var minRequests: Int?

        @OptionGroup var query: QueryOptions

        @Option(help: ArgumentHelp("table, json or csv (one row per figure: section, name, value).", valueName: "format"))
        var format: OutputFormat?

        @Flag(name: .customLong("json"), help: "The same as --format json.")
        var json = false

        func validate() throws {
            try validateTime(from, option: "--from")
            try validateTime(to, option: "--to")
            if format == .jsonl { throw ValidationError("report has no JSON Lines form: use --format json or csv") }
        }

        func run() throws {
            let ledger = try global.openForQuery()
            var point = try query.point(in: ledger)
            let to = self.to.flatMap { Timestamp(rfc3339: $0) }
            if query.now == nil, let to { point.clock = to }
            let r = try ledger.report(from: from.flatMap { Timestamp(rfc3339: $0) }, to: to, at: point, minimumRequests: minRequests)
            switch json ? .json : format ?? .table {
            case .json: Terminal.printBytes(ReportCommand.json(r))
            case .csv: try writeStdout(ReportCommand.csv(r))
            default: Terminal.print(ReportCommand.table(r, point: point))
            }
        }

        static func rate(_ v: Double?, into w: inout JSONWriter, _ key: String) { w.field(key, v, decimals: 4) }

        static func json(_ r: Report) -> [UInt8] {
            var w = JSONWriter()
            w.beginObject()
            w.field("from", r.from?.description); w.field("to", r.to?.description); w.field("clock", r.clock.description)
            w.field("tickets", r.tickets)
            w.key("outcomes"); w.beginObject()
            for k in r.resolutions.keys.sorted() { w.field(k, r.resolutions[k]!) }
            for k in r.unresolved.keys.sorted() { w.field(k, r.unresolved[k]!) }
            w.endObject()
            w.field("escalated", r.escalated); rate(r.escalationRate, into: &w, "escalationRate")
            w.field("deEscalated", r.deEscalated); rate(r.deEscalationRate, into: &w, "deEscalationRate")
            w.field("transfersAfterRequest", r.transfersAfterRequest); w.field("compliantTransfers", r.compliantTransfers)
            rate(r.twoAskCompliance, into: &w, "twoAskCompliance")
            w.field("callbacksDue", r.callbacksDue); w.field("callbacksOnTime", r.callbacksOnTime)
            rate(r.callbackOnTimeRate, into: &w, "callbackOnTimeRate")
            w.key("findings"); w.beginObject()
            for k in Finding.Kind.allCases {
                w.key(k.rawValue); w.beginObject(); w.field("count", r.findings[k] ?? 0); w.field("perThousandCalls", r.perThousandCalls(k), decimals: 2); w.endObject()
            }
            w.endObject()
            w.field("minimumRequests", r.minimumRequests)
            w.key("deEscalators"); w.beginArray()
            for a in r.deEscalators {
                w.beginObject(); w.field("staff", a.staff); w.field("ticketsWithRequest", a.ticketsWithRequest)
                w.field("deEscalated", a.deEscalated); w.field("rate", a.rate, decimals: 4); w.endObject()
            }
            w.endArray()
            w.field("currency", Format.currency)
            w.key("costliestSources"); w.beginArray()
            for s in r.sources {
                w.beginObject(); w.field("staff", s.staff); w.field("tickets", s.tickets); w.field("reachedSupervisor", s.reachedSupervisor)
                w.field("cost", s.cost, decimals: 2); w.endObject()
            }
            w.endArray()
            w.key("weeks"); w.beginArray()
            for wk in r.weeks {
                w.beginObject(); w.field("week", wk.start.description); w.field("tickets", wk.tickets); w.field("escalated", wk.escalated)
                w.field("deEscalated", wk.deEscalated); w.field("findings", wk.findings); w.endObject()
            }
            w.endArray()
            w.endObject()
            return w.bytes
        }

        static func csv(_ r: Report) -> [UInt8] {
            var rows = r.summaryCSVRows
            func num(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "" }
            for a in r.deEscalators { rows.append(["deEscalationRate", a.staff, num(a.rate)]) }
            for s in r.sources { rows.append(["escalationCost" + Format.currency, s.staff, String(format: "%.2f", s.cost)]) }
            for w in r.weeks { rows.append(["weekTickets", w.start.description, String(w.tickets)]) }
            return rows.flatMap(ListOutput.csvLine)
        }

        static func table(_ r: Report, point: QueryPoint) -> String {
            func pct(_ v: Double?) -> String { Format.percent(v) }
            var out: [String] = []
            let period = r.from == nil && r.to == nil ? "" : " opened" + (r.from.map { " from \($0)" } ?? "") + (r.to.map { " to \($0)" } ?? "")
            out.append("Report: \(Format.count(r.tickets)) tickets\(period); clock \(r.clock)"
                       + (point.isHistorical ? "; \(point.description)" : ""))
            guard r.tickets > 0 else { return (out + ["No tickets were opened in this period."]).joined(separator: "\n") }
            var rates = Table([Table.Column("figure"), Table.Column("value", numeric: true), Table.Column("of")])
            rates.add(["escalation rate", pct(r.escalationRate), "\(Format.count(r.escalated)) of \(Format.count(r.tickets)) tickets had a request"])
            rates.add(["de-escalation rate", pct(r.deEscalationRate), "\(Format.count(r.deEscalated)) of \(Format.count(r.escalated)) de-escalated by the opener"])
            rates.add(["asked twice before transferring", pct(r.twoAskCompliance), "\(Format.count(r.compliantTransfers)) of \(Format.count(r.transfersAfterRequest)) transfers"])
            rates.add(["callbacks on time", pct(r.callbackOnTimeRate), "\(Format.count(r.callbacksOnTime)) of \(Format.count(r.callbacksDue)) due"])
            out += ["", rates.render()]
            var outcomes = Table([Table.Column("outcome"), Table.Column("tickets", numeric: true), Table.Column("share", numeric: true)])
            for (k, n) in r.resolutions.sorted(by: { $0.key < $1.key }) { outcomes.add([k, Format.count(n), pct(Double(n) / Double(r.tickets))]) }
            for (k, n) in r.unresolved.sorted(by: { $0.key < $1.key }) { outcomes.add(["still " + k, Format.count(n), pct(Double(n) / Double(r.tickets))]) }
            out += ["", "Outcomes", outcomes.render()]
            var findings = Table([Table.Column("finding"), Table.Column("count", numeric: true), Table.Column("per 1,000 calls", numeric: true)])
            for k in Finding.Kind.allCases { findings.add([k.rawValue, Format.count(r.findings[k] ?? 0), String(format: "%.1f", r.perThousandCalls(k))]) }
            out += ["", "Findings", findings.render()]
            if r.deEscalators.isEmpty {
                out += ["", "De-escalators: no agent had \(r.minimumRequests) or more tickets with a request"]
            } else {
                let n = min(5, max(1, r.deEscalators.count / 2))
                func rows(_ list: ArraySlice<Report.Agent>) -> String {
                    var t = Table([Table.Column("staff"), Table.Column("rate", numeric: true), Table.Column("de-escalated", numeric: true),
                                   Table.Column("with a request", numeric: true)])
                    for a in list { t.add([a.staff, pct(a.rate), Format.count(a.deEscalated), Format.count(a.ticketsWithRequest)]) }
                    return t.render()
                }
                out += ["", "Best de-escalators (at least \(r.minimumRequests) tickets with a request)", rows(r.deEscalators.prefix(n)),
                        "", "Worst de-escalators", rows(ArraySlice(r.deEscalators.suffix(n).reversed()))]
            }
            if !r.sources.isEmpty {
                var t = Table([Table.Column("opened by"), Table.Column("tickets", numeric: true), Table.Column("reached a supervisor", numeric: true),
                               Table.Column("cost (\(Format.currency))", numeric: true)])
                for s in r.sources.prefix(5) { t.add([s.staff, Format.count(s.tickets), Format.count(s.reachedSupervisor), Format.money(s.cost)]) }
                out += ["", "Costliest escalation sources (senior time on the tickets they opened)", t.render()]
            }
            var weeks = Table([Table.Column("week of"), Table.Column("tickets", numeric: true), Table.Column("escalated", numeric: true),
                               Table.Column("de-escalated", numeric: true), Table.Column("findings", numeric: true)])
            for w in r.weeks { weeks.add([String(w.start.description.prefix(10)), Format.count(w.tickets), Format.count(w.escalated), Format.count(w.deEscalated), Format.count(w.findings)]) }
            out += ["", "Weekly trend (by the week a ticket was opened)", weeks.render()]
            return out.joined(separator: "\n")
        }
    }
}
