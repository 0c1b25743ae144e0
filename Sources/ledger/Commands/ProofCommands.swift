import ArgumentParser
import Compliance
import Foundation
import Ledger

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body`, turning "does not exist" into exit 5.
func mappingNotFound<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as LedgerError {
        if case .notFound = e { throw CommandFailure(e.description, status: ExitStatus.notFound) }
        throw CommandFailure(e.description)
    }
}

/// Reads a whole file given on the command line; exit 5 when it does not exist.
func readArgumentFile(_ path: String, what: String) throws -> [UInt8] {
    guard FileManager.default.fileExists(atPath: path) else { throw CommandFailure("\(what) \(path) does not exist", status: ExitStatus.notFound) }
    guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("cannot read \(what) \(path)") }
    return Array(data)
}

/// A checkpoint note read from a file: the text ends in exactly one newline, whatever the file adds.
func readCheckpointFile(_ path: String) throws -> String {
    var text = String(decoding: try readArgumentFile(path, what: "checkpoint"), as: UTF8.self)
    while text.hasSuffix("\n") { text.removeLast() }
    return text + "\n"
}

/// A note verifier key given as text or as a file holding it.
func parseVerifierKey(_ argument: String) throws -> SignedNote.VerifierKey {
    var text = argument
    if !argument.contains("+"), FileManager.default.fileExists(atPath: argument) {
        text = String(decoding: try readArgumentFile(argument, what: "key file"), as: UTF8.self)
    }
    do { return try SignedNote.VerifierKey(text) } catch { throw CommandFailure("--key: \(error)") }
}

/// Writes bytes to standard output as they come.
func writeStdout(_ bytes: [UInt8]) throws {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { Glibc.write(1, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 {
            if errno == EINTR { continue }
            if errno == EPIPE { throw ExitCode.success }  // the reader closed the pipe (`| head`): it has what it wanted
            throw CommandFailure("cannot write to standard output: errno \(errno)")
        }
        offset += n
    }
}

extension LedgerTool {
    /// `ledger init [--origin NAME] [--signing-key PATH]`.
    struct InitCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create a ledger: its log, its key store, its signing key and its checkpoint origin.",
            discussion: """
            The origin is the first line of every checkpoint and the name of the ledger's note \
            key; it never changes. Default: escalation-ledger/<host name>/<16 random hex digits>. \
            With --signing-key PATH (or $LEDGER_SIGNING_KEY) the private key lives in that file \
            (created 0600 when missing) and never in the ledger directory: checkpoints, proofs and \
            exports then need the same option. Prints the verifier key (see `ledger key`).

            Examples:
              ledger --ledger /srv/esc.ledger init --origin example.com/escalations
              ledger --ledger /srv/esc.ledger init --signing-key /secure/esc-ledger.key
            """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var signing: SigningOptions

        @Option(help: ArgumentHelp("The checkpoint origin: a name without spaces or '+', at most 200 bytes.", valueName: "name"))
        var origin: String?

        @Option(help: ArgumentHelp("The currency of hourlyCost and of every cost shown (ISO 4217, e.g. EUR; default USD).", valueName: "code"))
        var currency: String?

        func validate() throws {
            if let origin, let problem = Ledger.originProblem(origin) { throw ValidationError("--origin: \(problem)") }
            if let currency, !Format.isCurrencyCode(currency) { throw ValidationError("--currency '\(currency)' is not three capital letters (ISO 4217, e.g. EUR)") }
        }

        func run() throws {
            if GlobalOptions.holdsLedger(global.path) { throw CommandFailure("\(global.path) already holds a ledger") }
            if let key = signing.path {
                let parent = Paths.parent(of: key)
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw CommandFailure("the signing key's directory \(parent) does not exist")
                }
            }
            var options = Ledger.Options()
            options.origin = origin
            options.signingKeyPath = signing.path
            let ledger: Ledger
            do { ledger = try Ledger.open(at: global.path, options: options) } catch {
                throw CommandFailure("cannot create a ledger at \(global.path): \(CommandFailure.describe(error))")
            }
            if let currency { try Data((currency + "\n").utf8).write(to: URL(fileURLWithPath: global.path + "/" + Format.currencyFile)) }
            Terminal.print("created ledger \(global.path); origin \(try ledger.origin())" + (currency.map { "; costs in \($0)" } ?? ""))
            Terminal.print(try ledger.verifierKey().text)
        }
    }

    /// `ledger key`.
    struct KeyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "key",
            abstract: "Print the checkpoint verifier key: <origin>+<hex key ID>+<base64 key>.",
            discussion: """
            The C2SP signed-note verifier key of the ledger's checkpoints (Ed25519, algorithm 1). \
            Give it to auditors over a channel they trust; Go's golang.org/x/mod/sumdb/note, \
            `ledger verify --proof FILE --key KEY` and tools/verify_bundle.py --key take it.

            Example:
              ledger key > ledger.vkey
            """
        )

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let ledger = try global.openForQuery(readOnly: true)
            Terminal.print(try ledger.verifierKey().text)
        }
    }

    /// `ledger checkpoint`.
    struct CheckpointCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "checkpoint",
            abstract: "Print a signed checkpoint of the whole log (C2SP tlog-checkpoint, signed note).",
            discussion: """
            Three lines (the origin, the tree size, the base64 RFC 6962 root hash), a blank \
            line, and the Ed25519 note signature `— <origin> <base64(key ID ‖ signature)>`. Keep \
            it somewhere the ledger's operator cannot change: later, `ledger verify --checkpoint \
            FILE` shows the log still extends it, and `ledger prove --consistency SIZE` proves \
            it to anyone.

            Example:
              ledger checkpoint > checkpoint-$(date +%F).txt
            """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var signing: SigningOptions

        func run() throws {
            let ledger = try global.openForQuery(readOnly: true, signingKey: signing.path)
            try writeStdout(Array(try ledger.checkpoint().text.utf8))
        }
    }

    /// `ledger prove --seq N | --range A..B | --ticket T | --consistency OLD_SIZE`.
    struct ProveCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prove",
            abstract: "Print a proof document against a fresh signed checkpoint.",
            discussion: """
            --seq N: one event is in the log (its record and RFC 9162 audit path). \
            --range A..B: every event of seqs A to B (their records and the subtree hashes that \
            rebuild the root with them). --ticket T: every event of the ticket (records and \
            shared nodes, streamed). --consistency OLD_SIZE: the log of OLD_SIZE events (a kept \
            checkpoint's size) is a prefix of the log now. Each document carries the checkpoint \
            it proves against. Formats: docs/EXPORT.md. Verify with `ledger verify --proof FILE`, \
            tools/verify_bundle.py --proof FILE, or tools/c2sp-check.

            Examples:
              ledger prove --seq 1042 > seq-1042.json
              ledger prove --range 1..5000 > first-5000.json
              ledger prove --ticket T-42 > t42-proof.json
              ledger prove --consistency 120000 > consistency.json
            """
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var signing: SigningOptions

        @Option(help: ArgumentHelp("Prove the inclusion of the event at this seq.", valueName: "seq"))
        var seq: UInt64?

        @Option(help: ArgumentHelp("Prove the inclusion of every event of seqs A to B.", valueName: "A..B"))
        var range: String?

        @Option(help: "Prove the inclusion of this ticket's events.")
        var ticket: String?

        @Option(help: ArgumentHelp("Prove that the log of this many events is a prefix of the current log.", valueName: "old-size"))
        var consistency: UInt64?

        var parsedRange: (UInt64, UInt64)? {
            guard let range else { return nil }
            let parts = range.components(separatedBy: "..")
            guard parts.count == 2, let a = UInt64(parts[0]), let b = UInt64(parts[1]), a >= 1, a <= b else { return nil }
            return (a, b)
        }

        func validate() throws {
            if [seq != nil, range != nil, ticket != nil, consistency != nil].filter({ $0 }).count != 1 {
                throw ValidationError("give exactly one of --seq N, --range A..B, --ticket T or --consistency OLD_SIZE")
            }
            if let seq, seq < 1 { throw ValidationError("--seq takes a seq of at least 1") }
            if range != nil, parsedRange == nil { throw ValidationError("--range takes A..B with 1 <= A <= B, e.g. 1..5000") }
            if let c = consistency, c < 1 { throw ValidationError("--consistency takes a tree size of at least 1") }
        }

        func run() throws {
            let subject: Ledger.ProofSubject
            if let seq { subject = .seq(seq) } else if let (a, b) = parsedRange { subject = .range(from: a, to: b) } else if let ticket {
                subject = .ticket(ticket)
            } else { subject = .consistency(oldSize: consistency!) }
            let ledger = try global.openForQuery(readOnly: true, signingKey: signing.path)
            try mappingNotFound { try ledger.writeProof(subject, to: writeStdout) }
            try writeStdout([0x0A])
        }
    }
}

/// `ledger verify --proof FILE` and `ledger verify --checkpoint FILE`.
enum ProofCheck {
    /// The trusted checkpoint key: `--key`, else the ledger's own `checkpoint.vkey`.
    static func trustedKey(_ key: String?, global: GlobalOptions) throws -> SignedNote.VerifierKey {
        if let key { return try parseVerifierKey(key) }
        guard GlobalOptions.holdsLedger(global.path) else {
            throw CommandFailure("give the ledger's verifier key with --key KEY (from `ledger key`): there is no ledger at \(global.path) to take it from")
        }
        return try global.openForQuery(readOnly: true).verifierKey()
    }

    static func report(ok: Bool, checked: Int, firstBadSeq: UInt64?, problem: String?, json: Bool, okText: String) throws {
        if json {
            var w = JSONWriter()
            w.beginObject()
            w.field("ok", ok); w.field("checked", checked)
            w.key("firstBadSeq"); if let s = firstBadSeq { w.int(s) } else { w.null() }
            w.field("problem", problem)
            w.endObject()
            Terminal.printBytes(w.bytes)
        } else if ok {
            Terminal.print(okText)
        } else {
            Terminal.print("DAMAGED" + (firstBadSeq.map { " at seq \($0)" } ?? "") + ": \(problem ?? "unknown problem")")
        }
        if !ok { throw ExitCode(ExitStatus.damaged) }
    }

    static func proof(_ path: String, old: String?, key: String?, global: GlobalOptions, json: Bool) throws {
        let trusted = try trustedKey(key, global: global)
        let bytes = try readArgumentFile(path, what: "proof document")
        let kept = try old.map(readCheckpointFile)
        var doc = bytes
        while let last = doc.last, last == 0x0A || last == 0x0D { doc.removeLast() }
        let r = ProofDocument.verify(doc, key: trusted, kept: kept)
        let size = r.checkpoint.map { " against the checkpoint of \($0.treeSize) events" } ?? ""
        try report(ok: r.ok, checked: r.checked, firstBadSeq: r.firstBadSeq, problem: r.problem, json: json,
                   okText: "ok: \(r.kind ?? "proof") proof verified\(size) signed by \(trusted.name)"
                       + (r.kind == "consistency" && kept == nil ? " (pass --old KEPT_CHECKPOINT to tie it to a checkpoint you kept)" : ""))
    }

    static func checkpoint(_ path: String, key: String?, global: GlobalOptions, json: Bool) throws {
        let ledger = try global.openForQuery(readOnly: true)
        let trusted = try key.map(parseVerifierKey)
        let text = try readCheckpointFile(path)
        let r = try ledger.verifyExtends(checkpoint: text, key: trusted)
        try report(ok: r.ok, checked: Int(r.checked), firstBadSeq: r.firstBadSeq, problem: r.problem, json: json,
                   okText: "ok: the log (\(r.checked) events) extends the checkpoint \(path)")
    }
}
