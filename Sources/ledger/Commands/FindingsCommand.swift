import ArgumentParser
import Ledger
import Projections

extension LedgerTool {
    /// `ledger findings [--kind K] [--staff S] [--ticket T] [--as-of X] [--now T] [--json]`.
    struct FindingsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "findings",
            abstract: "List policy findings: breaches that were recorded, then flagged.",
            discussion: """
            Kinds: \(Finding.Kind.allCases.map(\.rawValue).joined(separator: ", ")).

            Deadline findings (callbackOverdue, noDebrief after 7 days, followUpMissing \
            after 14 days) depend on the clock: --now, else the --as-of time, else now. \
            The same cut and the same clock always give the same findings.

            Examples:
              ledger findings
              ledger findings --kind callbackOverdue --now 2026-04-01T00:00:00Z
              ledger findings --staff tl-003 --json
              ledger findings --ticket T-0000042 --as-of 2026-03-05T17:00:00Z
            """
        )

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("Only findings of this kind.", valueName: "kind"))
        var kind: String?

        @Option(help: ArgumentHelp("Only findings this staff member is accountable for.", valueName: "staff"))
        var staff: String?

        @Option(help: ArgumentHelp("Only findings on this ticket.", valueName: "ticket"))
        var ticket: String?

        @Option(name: .customLong("changed-since"),
                help: ArgumentHelp("Only what changed after this seq: findings raised or cleared by the events after it "
                                   + "(same clock both sides), each with change = raised|cleared.", valueName: "seq"))
        var changedSince: UInt64?

        @OptionGroup var query: QueryOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let kind, Finding.Kind(rawValue: kind) == nil {
                throw ValidationError("--kind '\(kind)' is not a finding kind; use one of: "
                                      + Finding.Kind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            if let after = output.after, Finding.cursor(after) == nil {
                throw ValidationError("--after '\(after)' is not a finding id (<ticket>/<seq>/<kind>)")
            }
        }

        func run() throws {
            let ledger = try global.openForQuery()
            let point = try query.point(in: ledger)
            let k = kind.flatMap(Finding.Kind.init)
            var (list, changes) = try ledger.findings(at: point, kind: k, staff: staff, ticket: ticket,
                                                      changedSince: changedSince, after: output.after)
            let more = output.pageLimit.map { list.count > $0 } ?? false
            if let limit = output.pageLimit { list = Array(list.prefix(limit)) }
            var columns = [Table.Column("seq", numeric: true), Table.Column("at"), Table.Column("kind"), Table.Column("ticket"),
                           Table.Column("accountable"), Table.Column("reason"), Table.Column("id")]
            if changedSince != nil { columns.insert(Table.Column("change"), at: 0) }
            let out = ListOutput(output.resolved, columns: columns, maxWidth: output.resolved == .table ? 72 : 0)
            for f in list {
                var cells = [String(f.seq), f.at.description, f.kind.rawValue, f.ticket, f.staff, f.reason, f.id]
                if let c = changes[f.id] { cells.insert(c, at: 0) }
                try out.add(cursor: f.id, cells: cells) { w in JSONShape.finding(f, change: changes[f.id], into: &w) }
            }
            var byKind: [Finding.Kind: Int] = [:]
            for f in list { byKind[f.kind, default: 0] += 1 }
            let summary = "\(Format.count(list.count)) findings: "
                + byKind.keys.sorted().map { "\($0.rawValue) \(Format.count(byKind[$0]!))" }.joined(separator: ", ")
            try out.finish(empty: (changedSince == nil ? "No findings" : "No findings raised or cleared after seq \(changedSince!)")
                               + " (\(Format.clockNote(point))).",
                           footer: summary + "\n" + Format.clockNote(point), more: more)
        }
    }
}
