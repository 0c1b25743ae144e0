import ArgumentParser
import EscalationDomain
import Foundation
import Ledger
import Projections

extension LedgerTool {
    /// `ledger scorecard [STAFF] [--as-of X] [--now T] [--json]`.
    struct ScorecardCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scorecard",
            abstract: "Show staff scorecards: de-escalation, transfers, callbacks, findings, cost.",
            discussion: """
            One row per staff member (or only STAFF): calls opened, escalation requests, \
            de-escalation rate (tickets with a request resolved by the agent or withdrawn, \
            with no transfer and no callback), two-ask compliance of their transfers, \
            callbacks on time / late / overdue at the clock, requests declined, feedback \
            and sanctions received, debriefs, findings they are accountable for, tickets \
            that reached a supervisor, and the cost of senior time spent on their tickets. \
            With --format csv the findings column holds the counts by kind, \
            `kind=n;kind=n` (empty when none).

            Examples:
              ledger scorecard
              ledger scorecard ag-0017
              ledger scorecard ag-0017 --now 2026-04-01T00:00:00Z --json
            """
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("Only this staff member's scorecard.", valueName: "staff"))
        var staff: String?

        @Option(help: ArgumentHelp("Only staff of this role (agent, sme, teamLead, supervisor, manager, director, compliance).",
                                   valueName: "role"))
        var role: String?

        @Option(name: .customLong("reports-to"), help: ArgumentHelp("Only staff who report directly to this member.", valueName: "staff"))
        var reportsTo: String?

        @Option(help: ArgumentHelp("Sort by this column (descending for figures), e.g. findings, deEscalationRate, escalationCost. "
                                   + "Default: staff id.", valueName: "column"))
        var sort: String?

        @Option(help: ArgumentHelp("The table's columns, comma-separated (default: a set that fits a terminal). Columns: "
                                   + ScorecardCommand.columns.map(\.key).joined(separator: ", ") + ".", valueName: "list"))
        var columns: String?

        @OptionGroup var query: QueryOptions
        @OptionGroup var output: OutputOptions

        /// A column: its key (the JSON field and the CSV header), its header for people, its cell.
        struct Column: Sendable {
            var key: String
            var title: String
            var numeric: Bool
            var cell: @Sendable (Scorecard) -> String
            /// For sorting: a number (figures) or nil (text columns sort by text).
            var number: @Sendable (Scorecard) -> Double?
            /// The header for people (costs name the ledger's currency, known once it is opened).
            var header: String { key == "escalationCost" ? "escalation cost (\(Format.currency))" : title }
        }

        static let columns: [Column] = {
            func count(_ key: String, _ title: String, _ v: @escaping @Sendable (Scorecard) -> Int) -> Column {
                Column(key: key, title: title, numeric: true, cell: { Format.count(v($0)) }, number: { Double(v($0)) })
            }
            func rate(_ key: String, _ title: String, _ v: @escaping @Sendable (Scorecard) -> Double?) -> Column {
                Column(key: key, title: title, numeric: true, cell: { Format.percent(v($0)) }, number: { v($0) })
            }
            return [
                Column(key: "staff", title: "staff", numeric: false, cell: { $0.staff }, number: { _ in nil }),
                Column(key: "name", title: "name", numeric: false, cell: { $0.name }, number: { _ in nil }),
                Column(key: "role", title: "role", numeric: false, cell: { $0.role.rawValue }, number: { _ in nil }),
                count("callsOpened", "calls", { $0.counters.callsOpened }),
                count("escalationRequests", "escalation requests", { $0.counters.escalationRequests }),
                count("deEscalationAttempts", "de-escalation attempts", { $0.counters.deEscalationAttempts }),
                count("deEscalated", "de-escalated", { $0.counters.deEscalated }),
                rate("deEscalationRate", "de-escalation rate", { $0.deEscalationRate }),
                count("transfersOut", "transfers", { $0.counters.transfersOut }),
                rate("twoAskCompliance", "asked twice", { $0.twoAskCompliance }),
                count("callbacksOwed", "callbacks owed", { $0.counters.callbacksOwed }),
                count("callbacksOnTime", "on time", { $0.counters.callbacksOnTime }),
                count("callbacksLate", "late", { $0.counters.callbacksLate }),
                count("callbacksOverdue", "overdue", { $0.callbacksOverdue }),
                count("requestsDeclined", "requests declined", { $0.counters.requestsDeclined }),
                count("feedbackReceived", "feedback", { $0.counters.feedbackReceived }),
                count("sanctionsReceived", "sanctions", { $0.counters.sanctionsReceived }),
                count("debriefs", "debriefs held", { $0.counters.debriefs }),
                count("findings", "findings", { $0.findingsTotal }),
                count("supervisorLoad", "supervisor load", { $0.counters.supervisorLoad }),
                Column(key: "escalationCost", title: "escalation cost", numeric: true,
                       cell: { Format.money($0.counters.escalationCost) }, number: { $0.counters.escalationCost }),
            ]
        }()

        static let defaultTable = ["staff", "name", "role", "callsOpened", "escalationRequests", "deEscalationRate", "twoAskCompliance",
                                   "transfersOut", "callbacksOverdue", "findings", "escalationCost"]

        func validate() throws {
            if let staff, staff.isEmpty { throw ValidationError("the staff id must not be empty") }
            if let role, Role(rawValue: role) == nil {
                throw ValidationError("--role '\(role)' is not a role; use one of: " + Role.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let keys = Set(ScorecardCommand.columns.map(\.key))
            if let sort, !keys.contains(sort) { throw ValidationError("--sort '\(sort)' is not a column; columns: " + ScorecardCommand.columns.map(\.key).joined(separator: ", ")) }
            for c in (columns ?? "").split(separator: ",") where !keys.contains(String(c)) {
                throw ValidationError("--columns: '\(c)' is not a column; columns: " + ScorecardCommand.columns.map(\.key).joined(separator: ", "))
            }
        }

        func run() throws {
            let ledger = try global.openForQuery()
            let point = try query.point(in: ledger)
            var reporting: [String: String?] = [:]
            var cards = try ledger.withProjections(at: point) { snapshot in
                for r in try snapshot.staffRecords() { reporting[r.info.staff] = r.info.reportsTo }
                return try snapshot.scorecards(clock: point.clock, staff: staff)
            }
            if let staff, cards.isEmpty {
                throw CommandFailure("no staff member \(staff) in \(global.path)" + (point.isHistorical ? " " + point.description : ""), status: ExitStatus.notFound)
            }
            if let role { cards = cards.filter { $0.role.rawValue == role } }
            if let reportsTo { cards = cards.filter { reporting[$0.staff] == .some(reportsTo) } }
            cards.sort { $0.staff < $1.staff }
            if let sort, let column = ScorecardCommand.columns.first(where: { $0.key == sort }) {
                cards.sort { a, b in
                    if let x = column.number(a), let y = column.number(b), x != y { return x > y }
                    if column.number(a) != nil, column.number(b) == nil { return true }
                    if column.number(a) == nil, column.number(b) != nil { return false }
                    let (x, y) = (column.cell(a), column.cell(b))
                    return x != y ? x < y : a.staff < b.staff
                }
            }
            // Paging: --after STAFF continues after that member, in the order shown.
            if let after = output.after {
                guard let at = cards.firstIndex(where: { $0.staff == after }) else {
                    throw CommandFailure("--after \(after): no such staff member in this listing")
                }
                cards = Array(cards[(at + 1)...])
            }
            let more = output.pageLimit.map { cards.count > $0 } ?? false
            if let limit = output.pageLimit { cards = Array(cards.prefix(limit)) }
            let format = output.resolved
            let chosen = columns.map { $0.split(separator: ",").map(String.init) } ?? (format == .table ? ScorecardCommand.defaultTable : ScorecardCommand.columns.map(\.key))
            let shown = chosen.compactMap { key in ScorecardCommand.columns.first { $0.key == key } }
            let out = ListOutput(format, columns: shown.map { Table.Column(format == .table ? $0.header : $0.key, numeric: $0.numeric) },
                                 maxWidth: 24)
            for c in cards {
                let cells = shown.map { format == .csv ? ScorecardCommand.csvValue($0.key, c) : $0.cell(c) }
                try out.add(cursor: c.staff, cells: cells) { JSONShape.scorecard(c, into: &$0) }
            }
            var footer = ""
            if cards.count == 1, let s = cards.first, !s.findings.isEmpty {
                footer = "Findings by kind: " + s.findings.keys.sorted().map { "\($0.rawValue) \(s.findings[$0]!)" }.joined(separator: ", ") + "\n"
            }
            try out.finish(empty: "No staff match.", footer: footer + Format.clockNote(point), more: more)
        }

        /// A CSV cell: plain numbers (no thousands separators; rates as fractions; money with two decimals);
        /// `findings` as `kind=n;kind=n` (``Scorecard/findingsCell``).
        static func csvValue(_ key: String, _ c: Scorecard) -> String {
            if key == "findings" { return c.findingsCell }  // the JSON's object as `kind=n;kind=n`
            var w = JSONWriter()
            JSONShape.scorecard(c, into: &w)
            guard let object = try? JSONSerialization.jsonObject(with: Data(w.bytes)) as? [String: Any], let v = object[key] else { return "" }
            if v is NSNull { return "" }
            if let s = v as? String { return s }
            if let n = v as? NSNumber { return n.stringValue }
            return ""
        }
    }
}

extension Format {
    /// `clock 2026-…Z; as of seq N` (what a query's figures depend on).
    static func clockNote(_ point: QueryPoint) -> String {
        "clock \(point.clock)" + "; " + point.description
    }
}
