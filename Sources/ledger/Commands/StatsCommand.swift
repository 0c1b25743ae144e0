import ArgumentParser
import Ledger

extension LedgerTool {
    /// `ledger stats [--json]`.
    struct StatsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Show counts, sizes, the last seq and the head hash.",
            discussion: """
            Example:
              ledger stats --json
            """
        )

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Print {\"events\",\"streams\",\"lastSeq\",\"headHash\",\"bytes\",…} instead of a table.")
        var json = false

        func run() throws {
            let ledger = try global.openForQuery()
            let s = try ledger.stats()
            if json {
                var w = JSONWriter()
                JSONShape.stats(s, into: &w)
                Terminal.printBytes(w.bytes)
                return
            }
            var t = Table([Table.Column("stat"), Table.Column("value")])
            t.add(["ledger", ledger.path])
            t.add(["events", Format.count(s.events)])
            t.add(["streams", Format.count(s.streams)])
            t.add(["tickets", Format.count(s.tickets)])
            t.add(["staff", Format.count(s.staff)])
            t.add(["customers with keys", Format.count(s.customersWithKeys)])
            t.add(["last seq", String(s.lastSeq)])
            t.add(["last recorded at", s.lastRecordedAt?.description ?? "-"])
            t.add(["head hash", s.headHash])
            t.add(["log file", Format.bytes(s.bytes)])
            t.add(["map used / size", Format.bytes(s.mapUsed) + " / " + Format.bytes(s.mapSize)])
            t.add(["projections at seq", String(s.projectionCheckpoint)])
            Terminal.print(t.render())
        }
    }
}
