import ArgumentParser
import Compliance
import EscalationDomain
import Ledger
import Projections

extension LedgerTool {
    /// `ledger ticket ID [--as-of X] [--now T] [--json]`.
    struct TicketCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ticket",
            abstract: "Show one ticket's state, findings and timeline.",
            discussion: """
            The state is the ticket projection (CONTRACT.md section 6): status, owner, \
            highest level requested, declined asks since the last request, counts of \
            escalations and transfers, callbacks, and the findings at the clock.

            Examples:
              ledger ticket T-0000042
              ledger ticket T-0000042 --as-of 1200     # as it stood at seq 1200
              ledger ticket T-0000042 --now 2026-04-01T00:00:00Z
              ledger ticket T-0000042 --json | jq .findings
              ledger ticket T-0000042 --reveal --operator co-1 --purpose "subject access request 17"

            Customers' personal data (id, name, phone, free text) is masked unless revealed; \
            a reveal is recorded first as a personalDataRevealed event.
            """
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The ticket id.", valueName: "id"))
        var id: String

        @OptionGroup var query: QueryOptions

        @OptionGroup var reveal: RevealOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if id.isEmpty { throw ValidationError("the ticket id must not be empty") }
            if let after = output.after, UInt64(after) == nil { throw ValidationError("--after takes an event's seq for a ticket") }
        }

        func run() throws {
            let ledger = try global.openForQuery()
            let point = try query.point(in: ledger)
            guard let (state, findings) = try ledger.ticket(id, at: point) else {
                throw CommandFailure("no ticket \(id) in \(global.path)" + (point.isHistorical ? " " + point.description : ""), status: ExitStatus.notFound)
            }
            let view = try ledger.revealTicket(id, reveal.request)
            let after = output.after.flatMap(UInt64.init) ?? 0
            switch output.resolved {
            case .json:
                // The ticket object, its events streamed into it (a ticket of a million events stays small in memory).
                var w = JSONWriter()
                JSONShape.ticket(state, findings: findings, events: nil, into: &w)
                var head = w.bytes
                head.removeLast()  // the closing brace
                try writeStdout(head + Array(",\"events\":[".utf8))
                var first = true, buffer: [UInt8] = []
                try ledger.forEachTicketEvent(id, at: point, view: view, after: after, limit: output.limit ?? .max) { e in
                    if !first { buffer.append(UInt8(ascii: ",")) }
                    first = false
                    buffer += e.json
                    if buffer.count >= 1 << 16 { try writeStdout(buffer); buffer.removeAll(keepingCapacity: true) }
                }
                try writeStdout(buffer + Array("]}\n".utf8))
            case .jsonl, .csv:
                // The timeline, one event a line: the display JSON, or the events.csv row (docs/EXPORT.md).
                let out = ListOutput(output.resolved, columns: CSVRow.columns.map { Table.Column($0) })
                try ledger.forEachTicketEvent(id, at: point, view: view, after: after, limit: output.limit ?? .max) { try out.add($0) }
                try out.finish(empty: "")
            case .table:
                let page = output.pageLimit ?? .max
                var events: [Ledger.DisplayEvent] = []
                try ledger.forEachTicketEvent(id, at: point, view: view, after: after, limit: page == .max ? .max : page + 1) { events.append($0) }
                let more = events.count > page
                if more { events.removeLast() }
                Terminal.print(TicketCommand.render(state, findings: findings, events: events, point: point)
                               + (more ? "\n(more: --after \(events.last!.record.seq))" : ""))
            }
        }

        static func render(_ t: TicketState, findings: [Finding], events: [Ledger.DisplayEvent], point: QueryPoint) -> String {
            var lines: [String] = []
            lines.append("Ticket \(t.ticket)" + (point.isHistorical ? "  (\(point.description))" : "")
                         + "  clock \(point.clock)")
            var facts = Table([Table.Column("field"), Table.Column("value")])
            facts.add(["status", t.status.rawValue])
            facts.add(["owner", t.owner])
            facts.add(["opened by", t.openedBy + " at " + t.openedAt.description])
            facts.add(["level", t.level?.rawValue ?? "-"])
            facts.add(["asks", String(t.asks)])
            facts.add(["escalations", String(t.escalations)])
            facts.add(["transfers", String(t.transfers.count)])
            if let r = t.resolution { facts.add(["resolution", r.rawValue + (t.resolvedAt.map { " at \($0)" } ?? "")]) }
            facts.add(["version", String(t.version)])
            facts.add(["last seq", String(t.lastSeq)])
            lines.append(facts.render())

            if !t.callbacks.isEmpty {
                lines.append("")
                lines.append("Callbacks")
                var table = Table([Table.Column("owner"), Table.Column("due by"), Table.Column("completed at"), Table.Column("state")])
                for c in t.callbacks {
                    let state: String
                    if let done = c.completedAt {
                        state = done <= c.dueBy ? "on time" : "late"
                    } else {
                        state = point.clock > c.dueBy ? "OVERDUE" : "open"
                    }
                    table.add([c.owner, c.dueBy.description, c.completedAt?.description ?? "-", state])
                }
                lines.append(table.render())
            }

            lines.append("")
            if findings.isEmpty {
                lines.append("Findings: none")
            } else {
                lines.append("Findings")
                var table = Table([Table.Column("seq", numeric: true), Table.Column("at"), Table.Column("kind"), Table.Column("accountable"),
                                   Table.Column("reason")], maxWidth: 72)
                for f in findings { table.add([String(f.seq), f.at.description, f.kind.rawValue, f.staff, f.reason]) }
                lines.append(table.render())
            }

            lines.append("")
            lines.append("Timeline")
            var timeline = Table([Table.Column("seq", numeric: true), Table.Column("at"), Table.Column("actor"),
                                  Table.Column("type"), Table.Column("summary")])
            for e in events {
                timeline.add([String(e.record.seq), e.event.at.description, e.event.actor, e.event.type.rawValue, e.event.summary])
            }
            lines.append(timeline.render())
            return lines.joined(separator: "\n")
        }
    }
}
