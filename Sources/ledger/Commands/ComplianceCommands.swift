import ArgumentParser
import Compliance
import EscalationDomain
import Foundation
import Ledger

extension LedgerTool {
    /// `ledger export --out DIR [--from SEQ|TIME] [--to SEQ|TIME] [--ticket T] [--staff S] [--pseudonymize]`.
    struct ExportCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write a signed bundle that a third party verifies without this software.",
            discussion: """
            The bundle holds events.jsonl (each event's stored bytes with its seq, version, \
            recordedAt and hashes), events.csv (one flattened row per event), personal.jsonl \
            (customer data revealed, pseudonymised or shown as [erased]) and manifest.json \
            (range, count, chain hashes, the RFC 9162 Merkle root, the ledger's public key, \
            and an Ed25519 signature). Every export is itself recorded as an exportMade event. \
            See docs/EXPORT.md; verify with `ledger verify --bundle DIR` or tools/verify_bundle.py.

            Examples:
              ledger export --out bundle --operator co-1 --purpose "annual audit"
              ledger export --out march --from 2026-03-01T00:00:00Z --to 2026-04-01T00:00:00Z --pseudonymize --operator a-1 --purpose "QA review"
              ledger export --out t42 --ticket T-42 --operator co-1 --purpose "complaint 42"
            """
        )

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("The bundle directory to create (must not exist, or be empty).", valueName: "dir"))
        var out: String

        @Option(help: ArgumentHelp("First seq, or the first time recorded (RFC 3339).", valueName: "seq|time"))
        var from: String?

        @Option(help: ArgumentHelp("Last seq, or the last time recorded (RFC 3339).", valueName: "seq|time"))
        var to: String?

        @Option(help: "Only this ticket's events.")
        var ticket: String?

        @Option(help: "Only events whose actor or subject is this staff member.")
        var staff: String?

        @Option(help: "Only this customer's tickets and compliance events (real id or pseudonym).")
        var customer: String?

        @Flag(help: "Show customers by their pseudonym and mask their names, phones and free text.")
        var pseudonymize = false

        @Option(name: .customLong("operator"), help: ArgumentHelp("The staff member exporting (recorded in exportMade; a compliance officer, manager or director unless --pseudonymize).", valueName: "staff"))
        var staffOperator: String

        @Option(help: ArgumentHelp("Why (recorded in exportMade).", valueName: "text"))
        var purpose: String

        @Flag(help: "Print a JSON summary.")
        var json = false

        @OptionGroup var signing: SigningOptions

        func validate() throws {
            if let from, AsOf(from) == nil { throw ValidationError("--from takes a seq or an RFC 3339 time, got '\(from)'") }
            if let to, AsOf(to) == nil { throw ValidationError("--to takes a seq or an RFC 3339 time, got '\(to)'") }
        }

        func run() throws {
            let ledger = try global.openForQuery(signingKey: signing.path)
            let bar = ProgressBar("exporting", unit: "events")
            var filter: [String] = []
            if let from { filter.append("--from " + from) }
            if let to { filter.append("--to " + to) }
            if let ticket { filter.append("--ticket " + ticket) }
            if let staff { filter.append("--staff " + staff) }
            // --customer is recorded by the ledger, as the customer's pseudonym.
            let s = try ledger.export(to: out, .init(from: from.flatMap(AsOf.init), to: to.flatMap(AsOf.init), ticket: ticket,
                                                     staff: staff, customer: customer, pseudonymize: pseudonymize,
                                                     operator: staffOperator, purpose: purpose,
                                                     filter: filter.joined(separator: " "))) { done, total in
                bar.update(Double(done))
                _ = total
            }
            bar.finish()
            for stale in s.staleRemoved {
                Terminal.error("ledger: removed \(stale), the unfinished export of a process that died (it was never on record as a bundle)")
            }
            if json {
                var w = JSONWriter()
                w.beginObject()
                w.field("out", s.directory); w.field("count", s.count); w.field("fromSeq", s.fromSeq); w.field("toSeq", s.toSeq)
                w.field("merkleRoot", s.merkleRoot); w.field("exportMadeSeq", s.recordedAt.seq)
                w.endObject()
                Terminal.printBytes(w.bytes)
            } else {
                Terminal.print("exported \(s.count) events (seq \(s.fromSeq)…\(s.toSeq)) to \(s.directory); Merkle root \(s.merkleRoot); "
                               + "recorded as exportMade at seq \(s.recordedAt.seq)")
            }
        }
    }
}

/// `ledger verify --bundle DIR`: checks an export bundle without opening a ledger (only its
/// key is read from `--ledger DIR` when no `--public-key` is given).
struct BundleCheck {
    /// The trusted key: `--public-key` (64 hex digits, a note verifier key, or a file holding
    /// either), else the verifier key of a ledger named with `--ledger`; nil when neither.
    static func trustedKey(_ argument: String?, global: GlobalOptions) throws -> (key: [UInt8], origin: String?)? {
        if let argument {
            var text = argument.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.utf8.count != 64, !text.contains("+"), FileManager.default.fileExists(atPath: text) {
                text = String(decoding: try readArgumentFile(text, what: "key file"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            if text.utf8.count == 64, let bytes = Hex.decode(text) { return (bytes, nil) }
            guard let vkey = try? SignedNote.VerifierKey(text), vkey.algorithm == SignedNote.ed25519 else {
                throw CommandFailure("--public-key takes the ledger's Ed25519 public key as 64 hex digits, its verifier key (ledger key), or a file holding either")
            }
            return (vkey.publicKey, vkey.name)
        }
        guard global.directory != nil else { return nil }
        let vkey = try global.openForQuery(readOnly: true).verifierKey()
        return (vkey.publicKey, vkey.name)
    }

    static func run(directory: String, publicKey: String?, checkpoint: String?, witnessKeys: [String], global: GlobalOptions, json: Bool) throws {
        guard FileManager.default.fileExists(atPath: directory) else {
            throw CommandFailure("bundle \(directory) does not exist", status: ExitStatus.notFound)
        }
        let trusted = try trustedKey(publicKey, global: global)
        if trusted == nil, checkpoint != nil || !witnessKeys.isEmpty {
            throw CommandFailure("--checkpoint and --witness-key need the ledger's key: pass --public-key KEY or --ledger DIR")
        }
        let trust = try trusted.map { t in
            BundleTrust(publicKey: t.key, origin: t.origin, keptCheckpoint: try checkpoint.map(readCheckpointFile),
                        witnesses: try witnessKeys.map(parseVerifierKey))
        }
        let r = BundleVerifier.verify(directory: directory, trust: trust)
        if json {
            var w = JSONWriter()
            w.beginObject()
            w.field("ok", r.ok); w.field("checked", r.checked)
            w.key("firstBadLine"); if let l = r.firstBadLine { w.int(l) } else { w.null() }
            w.key("firstBadSeq"); if let s = r.firstBadSeq { w.int(s) } else { w.null() }
            w.field("problem", r.problem)
            w.field("signerTrusted", trust != nil)
            w.endObject()
            Terminal.printBytes(w.bytes)
        } else if r.ok {
            Terminal.print("ok: bundle \(directory) verified: \(r.checked) events, every file and claim of its manifest, and its checkpoint, "
                           + "signed by the trusted key" + (witnessKeys.isEmpty ? "" : " and cosigned by \(witnessKeys.count) witness(es)"))
        } else if trust == nil, r.firstBadLine == nil, r.problem?.hasPrefix("every check passed") == true {
            Terminal.print("NOT VERIFIED: \(r.problem!)")
        } else {
            Terminal.print("DAMAGED" + (r.firstBadLine.map { " at line \($0)" } ?? "") + ": \(r.problem ?? "unknown problem")")
        }
        if !r.ok { throw ExitCode(ExitStatus.damaged) }
    }
}
