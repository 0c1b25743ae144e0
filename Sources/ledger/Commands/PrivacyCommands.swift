import ArgumentParser
import Compliance
import EscalationDomain
import Foundation
import Ledger

extension LedgerTool {
    /// `ledger erase CUSTOMER --operator STAFF [--reason TEXT]`.
    struct EraseCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "erase",
            abstract: "Erase a customer's personal data, irreversibly (appends personalDataErased).",
            discussion: """
            Every personal field of every event recorded before it (the customer's id, name, \
            phone and the free text of their tickets) reads [erased] from then on, in every \
            query and export; the customer's key is destroyed and the key store re-sealed, so \
            nothing in the ledger's files recovers or confirms the erased values \
            (docs/PRIVACY.md). Refused while a legal hold is placed. A new call by the same \
            customer id later starts a new record that nothing links to the erased one.

            Example:
              ledger erase C-1042 --operator co-1 --reason "GDPR request 2026-117"
            """
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The customer's id.", valueName: "customer"))
        var customer: String

        @Option(name: .customLong("operator"), help: ArgumentHelp("The compliance officer, manager or director erasing.", valueName: "staff"))
        var staffOperator: String

        @Option(help: "Why (recorded in the event).")
        var reason: String?

        @Flag(help: "Print the import report as JSON.")
        var json = false

        func run() throws {
            try runCompliance(global: global, operator: staffOperator, json: json,
                              .personalDataErased(.init(customer: customer, reason: reason)))
        }
    }

    /// `ledger hold place|release CUSTOMER --matter M --operator STAFF`.
    struct HoldCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hold",
            abstract: "Place or release a legal hold on a customer's personal data.",
            discussion: """
            While a hold is placed, erasing the customer is refused (rule legalHold). \
            Releasing a matter that holds nothing is refused (noLegalHold).

            Examples:
              ledger hold place C-1042 --matter M-2026-07 --operator co-1
              ledger hold release C-1042 --matter M-2026-07 --operator co-1
            """
        )

        enum Action: String, ExpressibleByArgument, CaseIterable { case place, release }

        @OptionGroup var global: GlobalOptions

        @Argument(help: "place or release.")
        var action: Action

        @Argument(help: ArgumentHelp("The customer's id.", valueName: "customer"))
        var customer: String

        @Option(help: "The legal matter.")
        var matter: String

        @Option(name: .customLong("operator"), help: ArgumentHelp("The compliance officer, manager or director.", valueName: "staff"))
        var staffOperator: String

        @Flag(help: "Print the import report as JSON.")
        var json = false

        func run() throws {
            let hold = Event.LegalHold(customer: customer, matter: matter)
            try runCompliance(global: global, operator: staffOperator, json: json,
                              action == .place ? .legalHoldPlaced(hold) : .legalHoldReleased(hold))
        }
    }

    /// `ledger customer ID [--reveal --operator STAFF --purpose TEXT]`.
    struct CustomerCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "customer",
            abstract: "A customer's tickets and compliance history (subject access).",
            discussion: """
            Masked by default (the customer shown by pseudonym, personal data as [masked]); \
            --reveal shows it in clear after recording personalDataRevealed. Exit 5 when no \
            live customer has that id (never recorded, or erased).

            Example:
              ledger customer C-1042 --reveal --operator co-1 --purpose "subject access request 17"
            """
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The customer's id (or pseudonym).", valueName: "id"))
        var id: String

        @OptionGroup var query: QueryOptions
        @OptionGroup var reveal: RevealOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let after = output.after, UInt64(after) == nil { throw ValidationError("--after takes an event's seq") }
        }

        func run() throws {
            let ledger = try global.openForQuery()
            let point = try query.point(in: ledger)
            guard let history = try ledger.customerHistory(id, reveal: reveal.request) else {
                throw CommandFailure("no customer \(id) in \(global.path) (never recorded, or erased)", status: ExitStatus.notFound)
            }
            var events = history.events.filter { point.includes(seq: $0.record.seq, at: $0.event.at) }
            if let after = output.after.flatMap(UInt64.init) { events = events.filter { $0.record.seq > after } }
            let more = output.pageLimit.map { events.count > $0 } ?? false
            if let limit = output.pageLimit { events = Array(events.prefix(limit)) }
            switch output.resolved {
            case .json:
                var out = Array("{\"customer\":".utf8)
                JSONString.append(history.pseudonym, to: &out)
                out += Array(",\"events\":[".utf8)
                for (i, e) in events.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    out += e.json
                }
                out += Array("]}".utf8)
                Terminal.printBytes(out)
            case .jsonl, .csv:
                let list = ListOutput(output.resolved, columns: CSVRow.columns.map { Table.Column($0) })
                for e in events { try list.add(e) }
                try list.finish(empty: "")
            case .table:
                let list = ListOutput(.table, columns: [Table.Column("seq", numeric: true), Table.Column("at"), Table.Column("ticket"),
                                                        Table.Column("type"), Table.Column("summary")])
                for e in events {
                    try list.add(cursor: String(e.record.seq),
                                 cells: [String(e.record.seq), e.event.at.description, e.event.ticket ?? "-", e.event.type.rawValue, e.event.summary]) { _ in }
                }
                Terminal.print("Customer \(history.pseudonym): \(history.events.count) events" + (point.isHistorical ? " (\(point.description))" : ""))
                try list.finish(empty: "No events in this cut.", more: more)
            }
        }
    }
}

/// Appends one compliance event by `operator` and reports it as `import` does (exit 3 when refused).
private func runCompliance(global: GlobalOptions, operator staff: String, json: Bool, _ body: Event.Body) throws {
    let ledger = try global.openForQuery()
    guard !ledger.readOnly else { throw CommandFailure("the ledger at \(global.path) is read-only here") }
    let report = ImportReport(line: try ledger.appendCompliance(body, operator: staff))
    if json {
        var w = JSONWriter()
        JSONShape.importReport(report, atomic: false, into: &w)
        Terminal.printBytes(w.bytes)
    } else if let r = report.refused.first {
        Terminal.error(LedgerTool.ImportCommand.refusalLine(r))
    } else {
        Terminal.print("recorded \(body.type.rawValue) by \(staff)")
    }
    if !report.refused.isEmpty { throw ExitCode(ExitStatus.refused) }
}
