import ArgumentParser
import EscalationDomain
import Foundation
import Ledger
import LMDB
import Projections

extension LedgerTool {
    /// `ledger import FILE|- [--atomic] [--json]`.
    struct ImportCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Append a JSON Lines file of events to the ledger.",
            discussion: """
            Each line is one event (CONTRACT.md section 2). Lines that break a rule are \
            refused and reported on standard error as
              line N: rule: message (id …, field …)
            and the command exits with status 3; the other lines are appended. With \
            --atomic the file is all or nothing: one refused line appends none.

            Importing the same file again is safe: events already in the ledger (same \
            id, same content) are counted as duplicates and stored once.

            Examples:
              ledger import calls.jsonl
              platform-export | ledger import - --json
              ledger --ledger /srv/ledger import nightly.jsonl --atomic
            """
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The JSON Lines file to import, or - for standard input.", valueName: "file"))
        var file: String

        @Flag(help: "All or nothing: if any line is refused, append none.")
        var atomic = false

        @Flag(help: "Print the report as JSON: {\"appended\",\"duplicates\",\"refused\":[…]}.")
        var json = false

        func validate() throws {
            if file != "-" {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
                    throw ValidationError("no file at \(file)")
                }
                if isDirectory.boolValue { throw ValidationError("\(file) is a directory, not a JSON Lines file") }
            }
        }

        func run() throws {
            let ledger = try global.openForWriting()
            let bar = ProgressBar("importing", unit: "MB")
            // The projections follow the import on the other core, a whole chunk at a time (not
            // under an address-space limit, where the import sizes its batches to what memory is left).
            let follower = atomic || AddressSpace.limit != nil ? nil : ProjectionFollower(ledger.projector, wholeChunks: true)
            defer { follower?.stop() }
            let report = try ledger.importFile(file, atomic: atomic) { read, total in
                bar.total = total.map { Double($0) / 1_048_576 }
                bar.update(Double(read) / 1_048_576)
            }
            follower?.stop()
            bar.finish()
            if report.appended > 0 { try ProjectionWork.catchUp(ledger, label: "projecting") }

            if json {
                var w = JSONWriter()
                JSONShape.importReport(report, atomic: atomic, into: &w)
                Terminal.printBytes(w.bytes)
            } else {
                for r in report.refused { Terminal.error(ImportCommand.refusalLine(r)) }
                var summary = "\(Format.count(report.appended)) appended, \(Format.count(report.duplicates)) duplicates, "
                    + "\(Format.count(report.refused.count)) refused (\(Format.count(report.lines)) lines)"
                if report.rolledBack { summary += "; --atomic: nothing was appended" }
                Terminal.print(summary)
            }
            if !report.refused.isEmpty { throw ExitCode(ExitStatus.refused) }
        }

        /// `line N: rule: message (id …, field …)`.
        static func refusalLine(_ r: Refusal) -> String {
            var details: [String] = []
            if let id = r.id { details.append("id \(Display.escaped(id))") }
            if let field = r.field { details.append("field \(Display.escaped(field))") }
            return "line \(r.line): \(Display.escaped(r.rule)): \(Display.escaped(r.message))"
                + (details.isEmpty ? "" : " (\(details.joined(separator: ", ")))")
        }
    }
}
