import ArgumentParser
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
            that reached a supervisor, and the cost of senior time spent on their tickets.

            Examples:
              ledger scorecard
              ledger scorecard ag-0017
              ledger scorecard ag-0017 --now 2026-04-01T00:00:00Z --json
            """
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("Only this staff member's scorecard.", valueName: "staff"))
        var staff: String?

        @OptionGroup var query: QueryOptions

        func validate() throws {
            if let staff, staff.isEmpty { throw ValidationError("the staff id must not be empty") }
        }

        func run() throws {
            let ledger = try global.openForQuery()
            let point = try query.point(in: ledger)
            let cards = try ledger.withProjections(at: point) { try $0.scorecards(clock: point.clock, staff: staff) }
            if let staff, cards.isEmpty {
                throw CommandFailure("no staff member \(staff) in \(global.path)" + (point.isHistorical ? " " + point.description : ""), status: ExitStatus.notFound)
            }
            if query.json {
                var w = JSONWriter()
                w.beginArray()
                for c in cards { JSONShape.scorecard(c, into: &w) }
                w.endArray()
                Terminal.printBytes(w.bytes)
                return
            }
            Terminal.print(ScorecardCommand.render(cards, point: point))
        }

        static func render(_ cards: [Scorecard], point: QueryPoint) -> String {
            var table = Table([
                Table.Column("staff"), Table.Column("name"), Table.Column("role"),
                Table.Column("calls", numeric: true), Table.Column("esc.req", numeric: true),
                Table.Column("attempts", numeric: true), Table.Column("de-esc", numeric: true),
                Table.Column("rate", numeric: true), Table.Column("xfers", numeric: true),
                Table.Column("2-ask", numeric: true), Table.Column("cb owed", numeric: true),
                Table.Column("on time", numeric: true), Table.Column("late", numeric: true),
                Table.Column("overdue", numeric: true), Table.Column("declined", numeric: true),
                Table.Column("feedback", numeric: true), Table.Column("sanctions", numeric: true),
                Table.Column("debriefs", numeric: true), Table.Column("findings", numeric: true),
                Table.Column("sup.load", numeric: true), Table.Column("esc.cost", numeric: true),
            ], maxWidth: 24)
            for s in cards {
                let c = s.counters
                table.add([
                    s.staff, s.name, s.role.rawValue,
                    Format.count(c.callsOpened), Format.count(c.escalationRequests), Format.count(c.deEscalationAttempts),
                    Format.count(c.deEscalated), Format.percent(s.deEscalationRate), Format.count(c.transfersOut),
                    Format.percent(s.twoAskCompliance), Format.count(c.callbacksOwed), Format.count(c.callbacksOnTime),
                    Format.count(c.callbacksLate), Format.count(s.callbacksOverdue), Format.count(c.requestsDeclined),
                    Format.count(c.feedbackReceived), Format.count(c.sanctionsReceived), Format.count(c.debriefs),
                    Format.count(s.findingsTotal), Format.count(c.supervisorLoad), Format.money(c.escalationCost),
                ])
            }
            var out = table.render()
            if cards.count == 1, let s = cards.first, !s.findings.isEmpty {
                out += "\n\nFindings by kind: "
                    + s.findings.keys.sorted().map { "\($0.rawValue) \(s.findings[$0]!)" }.joined(separator: ", ")
            }
            out += "\n\n" + Format.clockNote(point)
            return out
        }
    }
}

extension Format {
    /// `clock 2026-…Z; as of seq N` (what a query's figures depend on).
    static func clockNote(_ point: QueryPoint) -> String {
        "clock \(point.clock)" + "; " + point.description
    }
}
