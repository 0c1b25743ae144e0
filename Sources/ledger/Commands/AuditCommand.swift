import ArgumentParser
import EscalationDomain
import Ledger

extension LedgerTool {
    /// `ledger audit [--ticket T] [--staff S] [--from T1] [--to T2] [--channel C] [--reveal --operator S --purpose P] [--json]`.
    struct AuditCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audit",
            abstract: "Show the audit trail: every event with its seq, times, actor, channel and hash.",
            discussion: """
            Entries are in seq order. Filters combine: --staff matches the actor and any \
            staff field of the event (the agent, the transfer's from and to, a callback's \
            owner…); --from and --to bound the event's time (`at`, both inclusive).

            Examples:
              ledger audit --ticket T-0000042
              ledger audit --staff ag-0017 --from 2026-03-02T00:00:00Z \\
                --to 2026-03-03T00:00:00Z
              ledger audit --channel ask:billing --json
              ledger audit --ticket T-0000042 --reveal --operator co-1 --purpose "complaint 88"

            Customers' personal data in the summaries (customer ids, free text) is masked \
            unless revealed: the customer shown by pseudonym, text as [masked], and \
            [erased] once erased. A reveal is recorded first as one personalDataRevealed \
            event naming the customers shown.
            """
        )

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("Only events of this ticket.", valueName: "ticket"))
        var ticket: String?

        @Option(help: ArgumentHelp("Only events by or about this staff member.", valueName: "staff"))
        var staff: String?

        @Option(help: ArgumentHelp("Only events that happened at or after this RFC 3339 time.", valueName: "time"))
        var from: String?

        @Option(help: ArgumentHelp("Only events that happened at or before this RFC 3339 time.", valueName: "time"))
        var to: String?

        @Option(help: ArgumentHelp("Only events logged in this channel (e.g. ask:billing).", valueName: "channel"))
        var channel: String?

        @OptionGroup var query: QueryOptions
        @OptionGroup var reveal: RevealOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try validateTime(from, option: "--from")
            try validateTime(to, option: "--to")
            if let f = from.flatMap({ Timestamp(rfc3339: $0) }), let t = to.flatMap({ Timestamp(rfc3339: $0) }), t < f {
                throw ValidationError("--to \(to!) is before --from \(from!)")
            }
            if let after = output.after, UInt64(after) == nil { throw ValidationError("--after takes the seq of the last entry shown") }
        }

        func run() throws {
            let ledger = try global.openForQuery()
            let point = try query.point(in: ledger)
            let filter = Ledger.AuditFilter(ticket: ticket, staff: staff, from: from.flatMap { Timestamp(rfc3339: $0) },
                                            to: to.flatMap { Timestamp(rfc3339: $0) }, channel: channel,
                                            afterSeq: output.after.flatMap(UInt64.init) ?? 0, point: point.isHistorical ? point : nil)
            let format = output.resolved
            let out = ListOutput(format, columns: [
                Table.Column("seq", numeric: true), Table.Column(format == .table ? "recorded at" : "recordedAt"), Table.Column("at"),
                Table.Column("actor"), Table.Column("channel"), Table.Column("type"), Table.Column("ticket"),
                Table.Column("hash"), Table.Column("summary")])
            // One more than the page, to know whether there is a next one.
            let page = output.pageLimit  // read once: the option's getter costs more than writing an entry
            let limit = page.map { $0 + 1 } ?? .max
            var more = false
            try ledger.audit(filter, reveal: reveal.request, limit: limit) { e in
                if let page, out.count == page { more = true; return }
                // The cells are written in the call, so that only the formats that show them build them.
                try out.add(cursor: String(e.seq),
                            cells: [String(e.seq), e.recordedAt.description, e.at.description, e.actor, e.channel, e.type,
                                    e.ticket ?? (format == .table ? "-" : ""), format == .table ? String(e.hash.prefix(12)) : e.hash,
                                    e.summary]) { JSONShape.audit(e, into: &$0) }
            }
            try out.finish(empty: "No events match" + (point.isHistorical ? " (\(point.description))." : "."),
                           footer: "\(Format.count(out.count)) events", more: more)
        }
    }
}
