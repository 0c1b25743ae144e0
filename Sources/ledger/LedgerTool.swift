import ArgumentParser
import EscalationDomain
import Ledger
import Foundation

/// `ledger`: the escalation ledger's command-line tool (CONTRACT.md section 8).
///
/// Every subcommand is a nested type in `Commands/`; the options they share
/// are in ``GlobalOptions`` and ``QueryOptions``. Errors are turned into exit
/// statuses and messages in one place, ``main()``.
@main
struct LedgerTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "An append-only, verifiable ledger of contact-centre escalations.",
        discussion: """
        The ledger records every escalation action on a call (requests, de-escalation \
        attempts, transfers, callbacks, debriefs, feedback) as events in a hash-chained \
        log, refuses events that break the procedures, and flags the breaches that \
        really happened as findings. Everything else is a projection of the log: \
        ticket states, agent scorecards, findings and the audit trail, each also \
        available as of any earlier point.

        A ledger is a directory (default ./escalations.ledger, chosen with --ledger \
        DIR before or after the command). It is created by `init` (which also fixes its \
        checkpoint origin and where its signing key lives), by the first `import`, or by `demo`.

        Events come in as JSON Lines, one interchange object a line:
          {"id":"4f6c…","type":"callOpened","at":"2026-03-02T09:00:00Z",
           "actor":"a-1","channel":"ask:billing","ticket":"T-1","agent":"a-1",
           "customer":{"id":"c-9"},"issue":"double charge"}

        Getting started:
          ledger demo                      # simulate a contact centre (./demo.ledger)
          ledger import calls.jsonl        # append events; exit 3 if a line is refused
          ledger ticket T-42               # a ticket's state, findings and timeline
          ledger scorecard a-17            # an agent's scorecard
          ledger findings --kind callbackOverdue --now 2026-04-01T00:00:00Z
          ledger audit --staff a-17 --from 2026-03-01T00:00:00Z
          ledger verify                    # check the hash chain; exit 4 if damaged
          ledger stats --json
          ledger export --out bundle --operator co-1 --purpose audit   # a signed bundle a third party can verify
          ledger verify --bundle bundle --public-key ledger.vkey   # check a bundle (exit 4 naming the first bad line)
          ledger report --from 2026-03-01T00:00:00Z   # the manager's summary of a period
          ledger tail --after 0 --follow   # the log as JSON Lines, then new events as they commit
          ledger key                       # the checkpoint verifier key, for auditors
          ledger checkpoint > cp.txt       # a C2SP signed checkpoint: keep it elsewhere
          ledger prove --ticket T-42       # proofs: --seq, --range A..B, --ticket, --consistency
          ledger verify --checkpoint cp.txt   # the log still extends a kept checkpoint
          ledger witness cosign ...        # a witness cosigns consistent checkpoints

        Queries take --as-of TIME|SEQ (the state of affairs at that moment of event time, \
        as the ledger knows it now; a seq cuts the log), --known-at TIME|SEQ (what the ledger \
        had recorded by then), --now TIME (the clock deadlines are judged against), \
        --format table|json|jsonl|csv (--json for short), --limit N and --after CURSOR.

        Exit status: 0 success; 3 an import refused a line; 4 verify found damage (or a \
        witness refused an inconsistent checkpoint); 5 the ledger, ticket, staff member, \
        customer, seq or file asked for does not exist (a query never creates a ledger), or \
        a cut holds no event; 1 any other failure, with the reason on standard error (and, \
        with --format json, as {"error":{"kind","message"}}).
        """,
        version: "1.0",
        subcommands: [
            ImportCommand.self,
            TicketCommand.self,
            ScorecardCommand.self,
            FindingsCommand.self,
            AuditCommand.self,
            VerifyCommand.self,
            ReplayCommand.self,
            TailCommand.self,
            ReportCommand.self,
            StatsCommand.self,
            DemoCommand.self,
            ExportCommand.self,
            InitCommand.self,
            KeyCommand.self,
            CheckpointCommand.self,
            ProveCommand.self,
            EraseCommand.self,
            HoldCommand.self,
            CustomerCommand.self,
            WitnessCommand.self,
            ServeCommand.self,
            TokenCommand.self,
        ]
    )

    /// Lets `--ledger DIR` stand before the command name too.
    @OptionGroup var global: GlobalOptions

    /// Parses, runs, and maps every failure to the contract's exit status:
    /// help and version exit 0, ``CommandFailure`` its own status, usage and
    /// validation errors and anything else 1, with one line on standard error.
    static func main() {
        let command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }  // --help, --version
            Terminal.error(fullMessage(for: error))
            Foundation.exit(1)
        }
        do {
            var command = command
            try command.run()
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }
            let (status, message) = LedgerTool.failure(error)
            Terminal.error("ledger: " + Display.escaped(message))
            if LedgerTool.wantsJSON {
                // CONTRACT.md section 8: with --format json a failure is also one JSON object on stderr.
                var w = JSONWriter()
                w.beginObject(); w.key("error"); w.beginObject()
                w.field("kind", LedgerTool.kind(of: status)); w.field("message", message)
                w.endObject(); w.endObject()
                Terminal.error(String(decoding: w.bytes, as: UTF8.self))
            }
            Foundation.exit(status)
        }
    }

    /// The exit status and message of a failure: what does not exist is 5 (CONTRACT.md section 8).
    static func failure(_ error: any Error) -> (Int32, String) {
        switch error {
        case let f as CommandFailure: return (f.status, f.message)
        case let e as EmptyCut: return (ExitStatus.notFound, e.description)
        case LedgerError.notFound(let what): return (ExitStatus.notFound, "no \(what)")
        default: return (ExitStatus.failure, CommandFailure.describe(error))
        }
    }

    static func kind(of status: Int32) -> String {
        switch status {
        case ExitStatus.refused: return "refused"
        case ExitStatus.damaged: return "damaged"
        case ExitStatus.notFound: return "notFound"
        default: return "failure"
        }
    }

    /// True when the command line asks for JSON output (`--format json` or `--json`).
    static var wantsJSON: Bool {
        let args = CommandLine.arguments
        if args.contains("--json") || args.contains("--format=json") { return true }
        if let i = args.firstIndex(of: "--format"), i + 1 < args.count { return args[i + 1] == "json" }
        return false
    }
}
