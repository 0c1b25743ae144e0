import ArgumentParser
import Ledger

extension LedgerTool {
    /// `ledger replay`: rebuilds every projection from the log.
    struct ReplayCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "replay",
            abstract: "Rebuild every projection (tickets, scorecards, findings) from the log alone.",
            discussion: """
            Queries keep the projections up to date by themselves; replay rebuilds them \
            from scratch, for instance after an upgrade or to check that the stored \
            projections are what the log implies. Readers keep seeing the old projection \
            until the new one is complete.

            Example:
              ledger replay
            """
        )

        @OptionGroup var global: GlobalOptions

        func run() throws {
            guard GlobalOptions.holdsLedger(global.path) else {
                throw CommandFailure("no ledger at \(global.path): nothing to replay")
            }
            let ledger = try global.openForWriting()
            let head = try ledger.log.head()
            let bar = ProgressBar("replaying", unit: "events", total: Double(head.seq))
            let started = bar.elapsed
            try ledger.projector.rebuild { done, total in
                bar.total = Double(total)
                bar.update(Double(done))
            }
            bar.finish()
            let seconds = bar.elapsed - started
            Terminal.print("replayed \(Format.count(head.seq)) events in \(Format.seconds(seconds)); "
                           + "projections at seq \(try ledger.projector.checkpoint())")
        }
    }
}
