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

        @OptionGroup var query: QueryOptions

        func validate() throws {
            if let kind, Finding.Kind(rawValue: kind) == nil {
                throw ValidationError("--kind '\(kind)' is not a finding kind; use one of: "
                                      + Finding.Kind.allCases.map(\.rawValue).joined(separator: ", "))
            }
        }

        func run() throws {
            let ledger = try global.openForQuery()
            let point = try query.point(in: ledger)
            let list = try ledger.withProjections(at: point) {
                try $0.findings(clock: point.clock, kind: kind.flatMap(Finding.Kind.init), staff: staff, ticket: ticket)
            }
            if query.json {
                var w = JSONWriter()
                JSONShape.findings(list, into: &w)
                Terminal.printBytes(w.bytes)
                return
            }
            var table = Table([Table.Column("seq", numeric: true), Table.Column("kind"), Table.Column("ticket"),
                               Table.Column("accountable")])
            for f in list { table.add([String(f.seq), f.kind.rawValue, f.ticket, f.staff]) }
            var out = list.isEmpty ? "No findings." : table.render()
            if list.count > 1 {
                var byKind: [Finding.Kind: Int] = [:]
                for f in list { byKind[f.kind, default: 0] += 1 }
                out += "\n\n\(Format.count(list.count)) findings: "
                    + byKind.keys.sorted().map { "\($0.rawValue) \(Format.count(byKind[$0]!))" }.joined(separator: ", ")
            }
            Terminal.print(out + "\n" + Format.clockNote(point))
        }
    }
}
