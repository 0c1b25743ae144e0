import ArgumentParser
import Foundation
import Ledger

#if canImport(Glibc)
import Glibc
#endif

extension LedgerTool {
    /// `ledger tail [--after SEQ] [--limit N] [--follow]`.
    struct TailCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tail",
            abstract: "Print the log's events as JSON Lines from a seq, then (--follow) new ones as they commit.",
            discussion: """
            Each line is an events.jsonl line of an export bundle (docs/EXPORT.md): the stored \
            event (customer ids pseudonymised, personal data sealed) with its seq, stream, \
            version, recordedAt and chain hashes, so a consumer can check each line's hash and \
            that each prevHash is the previous line's hash. Reads in chunks: memory does not grow \
            with the log. --follow keeps polling for new events (committed by any process) until \
            interrupted; a consumer restarts with --after the last seq it stored.

            Examples:
              ledger tail --after 0 --limit 100
              ledger tail --after 875972 --follow | my-indexer
            """
        )

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("Start after this seq (0: from the first event).", valueName: "seq"))
        var after: UInt64 = 0

        @Option(help: ArgumentHelp("Stop after this many events.", valueName: "n"))
        var limit: Int?

        @Flag(help: "After the history, wait for new events and print them as they commit (until interrupted).")
        var follow = false

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        }

        func run() throws {
            let ledger = try global.openForQuery(readOnly: true)
            signal(SIGPIPE, SIG_IGN)
            // A follower runs until it is told to stop: take the signals a parent may have blocked
            // (test harnesses and some supervisors spawn children with most signals blocked).
            var none = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, nil)
            do {
                try ledger.tail(after: after, limit: limit, follow: follow) { bytes in try writeStdout(bytes) }
            } catch let e as LedgerError {
                if case .notFound(let what) = e { throw CommandFailure("no \(what)", status: ExitStatus.notFound) }
                throw e
            }
        }
    }
}
