import ArgumentParser
import EscalationDomain
import Foundation
import Ledger

/// Options every command takes: where the ledger is.
struct GlobalOptions: ParsableArguments {
    static let defaultPath = "./escalations.ledger"

    @Option(name: .customLong("ledger"),
            help: ArgumentHelp("The ledger directory (default: \(defaultPath); for demo: ./demo.ledger). "
                               + "Created by the first write.",
                               valueName: "dir"))
    var directory: String?

    /// The directory to use.
    var path: String { directory ?? GlobalOptions.defaultPath }

    func validate() throws {
        if let directory, directory.isEmpty { throw ValidationError("--ledger needs a directory name") }
    }

    /// True when `path` holds a ledger.
    static func holdsLedger(_ path: String) -> Bool { Ledger.exists(at: path) }

    /// Opens the ledger for writing, creating it when missing (import, replay, demo).
    /// A new ledger's signing key goes to `$LEDGER_SIGNING_KEY` when that is set.
    func openForWriting() throws -> Ledger {
        do {
            var options = Ledger.Options()
            options.signingKeyPath = SigningOptions.environmentPath
            return try Ledger.open(at: path, options: options)
        } catch {
            throw CommandFailure("cannot open the ledger at \(path) for writing: \(CommandFailure.describe(error))")
        }
    }

    /// Opens an existing ledger for a query: writable when the files allow it, so that
    /// the projections can catch up with the log; read-only otherwise, or when
    /// `readOnly` (a check such as `verify` that must change nothing).
    /// - throws: a ``CommandFailure`` when there is no ledger at `path`.
    func openForQuery(readOnly: Bool = false, signingKey: String? = nil) throws -> Ledger {
        guard GlobalOptions.holdsLedger(path) else {
            throw CommandFailure("no ledger at \(path): create one (ledger --ledger \(path) init, or import FILE), "
                                 + "or point --ledger at an existing ledger directory", status: ExitStatus.notFound)
        }
        Format.loadCurrency(ledger: path)
        var options = Ledger.Options()
        options.create = false
        options.readOnly = readOnly || !GlobalOptions.writable(path)
        options.signingKeyPath = signingKey
        do {
            return try Ledger.open(at: path, options: options)
        } catch {
            throw CommandFailure("cannot open the ledger at \(path): \(CommandFailure.describe(error))")
        }
    }

    /// True when the ledger's files and folders can be written by this process.
    static func writable(_ path: String) -> Bool {
        for p in [path, path + "/log", path + "/log/data.mdb", path + "/keys"] where FileManager.default.fileExists(atPath: p) {
            if access(p, W_OK) != 0 { return false }
        }
        return true
    }
}

/// The signing key of commands that sign (checkpoint, prove, export): `--signing-key PATH`,
/// else `$LEDGER_SIGNING_KEY`, else `signing.key` in the ledger directory.
struct SigningOptions: ParsableArguments {
    static let environmentVariable = "LEDGER_SIGNING_KEY"

    @Option(name: .customLong("signing-key"),
            help: ArgumentHelp("The ledger's Ed25519 signing key file, when it is kept outside the ledger directory "
                               + "(default: $LEDGER_SIGNING_KEY, else DIR/signing.key). Format: docs/EXPORT.md.",
                               valueName: "path"))
    var signingKey: String?

    /// `$LEDGER_SIGNING_KEY`, when set and not empty.
    static var environmentPath: String? {
        guard let v = ProcessInfo.processInfo.environment[environmentVariable], !v.isEmpty else { return nil }
        return v
    }

    /// The key file to use; nil for the ledger's own `signing.key`.
    var path: String? { signingKey ?? SigningOptions.environmentPath }
}

/// Options of every query: the point in history, the clock, and the output format.
struct QueryOptions: ParsableArguments {
    @Option(name: .customLong("as-of"),
            help: ArgumentHelp("The state of affairs at an RFC 3339 time (events whose `at` is no later), as the ledger knows it "
                               + "now; or the log cut at a seq (e.g. 1200).",
                               valueName: "time|seq"))
    var asOf: String?

    @Option(name: .customLong("known-at"),
            help: ArgumentHelp("What the ledger knew then: only events recorded (by recordedAt or seq) no later. Combines with --as-of.",
                               valueName: "time|seq"))
    var knownAt: String?

    @Option(name: .customLong("now"),
            help: ArgumentHelp("The clock deadlines are judged against (RFC 3339). Default: the --as-of time, else the current time.",
                               valueName: "time"))
    var now: String?

    func validate() throws {
        for (name, value) in [("--as-of", asOf), ("--known-at", knownAt)] {
            if let value, AsOf(value) == nil {
                throw ValidationError("\(name) '\(value)' is neither a seq (a whole number) nor an RFC 3339 time such as 2026-03-05T17:00:00Z")
            }
        }
        if let now, Timestamp(rfc3339: now) == nil {
            throw ValidationError("--now '\(now)' is not an RFC 3339 time such as 2026-03-05T17:00:00Z")
        }
    }

    var parsedAsOf: AsOf? { asOf.flatMap(AsOf.init) }
    var parsedNow: Timestamp? { now.flatMap { Timestamp(rfc3339: $0) } }

    /// Resolves the query point on `ledger`.
    func point(in ledger: Ledger) throws -> QueryPoint {
        try ledger.point(asOf: parsedAsOf, knownAt: knownAt.flatMap(AsOf.init), now: parsedNow)
    }
}

/// Parses an RFC 3339 option value in `validate()`.
func validateTime(_ value: String?, option: String) throws {
    if let value, Timestamp(rfc3339: value) == nil {
        throw ValidationError("\(option) '\(value)' is not an RFC 3339 time such as 2026-03-05T17:00:00Z")
    }
}

/// `--reveal --operator STAFF --purpose TEXT`: show personal data in clear, on the record.
struct RevealOptions: ParsableArguments {
    @Flag(help: "Show customers' personal data in clear (recorded first as personalDataRevealed; needs --operator and --purpose).")
    var reveal = false

    @Option(name: .customLong("operator"), help: ArgumentHelp("The staff member revealing (role compliance, manager or director).", valueName: "staff"))
    var staffOperator: String?

    @Option(help: ArgumentHelp("Why, recorded with the reveal.", valueName: "text"))
    var purpose: String?

    func validate() throws {
        if reveal, staffOperator == nil || purpose == nil {
            throw ValidationError("--reveal needs --operator STAFF and --purpose TEXT: revealing personal data is recorded")
        }
    }

    /// The reveal asked for, if any.
    var request: Ledger.RevealRequest? {
        guard reveal, let staffOperator, let purpose else { return nil }
        return Ledger.RevealRequest(operator: staffOperator, purpose: purpose)
    }
}
