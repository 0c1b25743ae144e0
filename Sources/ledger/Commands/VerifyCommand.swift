import ArgumentParser
import EventLog
import Ledger

extension LedgerTool {
    /// `ledger verify [--bundle DIR [--public-key HEX]] [--json]`.
    struct VerifyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check the hash chain: nothing altered, removed or reordered.",
            discussion: """
            Walks every event from seq 1: each record at its own seq, no gaps, each chain \
            hash = SHA-256(previous hash ‖ record), each leaf hash, and the head. Exits 4 \
            at the first damaged seq, 0 when the whole chain verifies.

            With --bundle DIR it checks an export bundle instead (docs/VERIFY.md): the manifest's \
            canonical bytes and signature by the trusted key (--public-key, else the key of the \
            ledger named with --ledger; without one it never says ok), every claim of the \
            manifest (range, first and last seq, count, chain ends, Merkle root, the exact list of \
            files with their sizes and digests, the filter), each line, the CSV rows and personal \
            fields rebuilt from the lines, and the checkpoint the events are proved into \
            (--checkpoint: the same tree as one you kept; --witness-key: cosigned by that \
            witness). Exit 4 naming the first problem. JSON: \
            {"ok","checked","firstBadLine","firstBadSeq","problem","signerTrusted"}.

            With --proof FILE it checks a proof document (ledger prove) against the trusted \
            verifier key (--key, else the ledger's own): the checkpoint's note signature, then \
            the inclusion path, the records and nodes that rebuild the root, or the consistency \
            proof (from the checkpoint given with --old, when given). With --checkpoint FILE it \
            checks that the log extends a checkpoint kept elsewhere: the chain, then the root of \
            the log's first treeSize events recomputed from its leaves, then the consistency \
            proof to the head; a dropped tail or a rewritten history exits 4.

            Examples:
              ledger verify
              ledger --ledger /srv/ledger verify --json
              ledger verify --proof t42-proof.json --key "$(cat ledger.vkey)"
              ledger verify --checkpoint checkpoint-2026-03-01.txt --json
              ledger verify --bundle out/t42 --public-key "$(cat ledger.vkey)" --witness-key "$(cat witness.vkey)"
            """
        )

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("Check an export bundle instead of the ledger (no ledger needed).", valueName: "dir"))
        var bundle: String?

        @Option(name: .customLong("public-key"),
                help: ArgumentHelp("With --bundle: the ledger's key the bundle must be signed with: 64 hex digits, the verifier key "
                                   + "(ledger key), or a file holding either (default: the key of the ledger named with --ledger).",
                                   valueName: "key"))
        var publicKey: String?

        @Option(name: .customLong("witness-key"),
                help: ArgumentHelp("With --bundle: a witness verifier key (ledger witness key) whose cosignature the bundle's "
                                   + "checkpoint must carry; repeat for several.", valueName: "key"))
        var witnessKeys: [String] = []

        @Option(help: ArgumentHelp("Check a proof document (ledger prove) instead of the ledger; exit 4 when it does not prove what it says.",
                                   valueName: "file"))
        var proof: String?

        @Option(help: ArgumentHelp("Check that the log extends this checkpoint kept elsewhere (ledger checkpoint): "
                                   + "nothing dropped, nothing rewritten.", valueName: "file"))
        var checkpoint: String?

        @Option(help: ArgumentHelp("With --proof: a checkpoint you kept, which a consistency proof must start from.", valueName: "file"))
        var old: String?

        @Option(help: ArgumentHelp("With --proof or --checkpoint: the trusted checkpoint verifier key (ledger key), as text or a file "
                                   + "(default: the ledger's own).", valueName: "key"))
        var key: String?

        @Flag(help: "Print {\"ok\":bool,\"checked\":N,\"firstBadSeq\":N|null} instead of a sentence.")
        var json = false

        func validate() throws {
            if [bundle != nil, proof != nil].filter({ $0 }).count > 1 { throw ValidationError("give at most one of --bundle and --proof") }
            if proof != nil, checkpoint != nil { throw ValidationError("--checkpoint goes with --bundle or alone, not with --proof (use --old)") }
            if bundle == nil, publicKey != nil || !witnessKeys.isEmpty { throw ValidationError("--public-key and --witness-key go with --bundle") }
            if old != nil, proof == nil { throw ValidationError("--old goes with --proof") }
            if key != nil, proof == nil, checkpoint == nil { throw ValidationError("--key goes with --proof or --checkpoint") }
        }

        func run() throws {
            if let proof { return try ProofCheck.proof(proof, old: old, key: key, global: global, json: json) }
            if let bundle {
                return try BundleCheck.run(directory: bundle, publicKey: publicKey, checkpoint: checkpoint, witnessKeys: witnessKeys,
                                           global: global, json: json)
            }
            if let checkpoint { return try ProofCheck.checkpoint(checkpoint, key: key, global: global, json: json) }
            let ledger = try global.openForQuery(readOnly: true)
            let head = try ledger.log.head()
            let bar = ProgressBar("verifying", unit: "events", total: Double(head.seq))
            let result = try ledger.log.verify { done, _ in bar.update(Double(done)) }
            bar.finish()
            if json {
                var w = JSONWriter()
                JSONShape.verify(result, into: &w)
                Terminal.printBytes(w.bytes)
            } else if result.ok {
                Terminal.print("ok: \(Format.count(result.checked)) events verified; head hash \(head.hash.hex)")
            } else {
                Terminal.print("DAMAGED at seq \(result.firstBadSeq.map(String.init) ?? "?"): \(result.problem ?? "unknown problem"); "
                               + "\(Format.count(result.checked)) events before it verified")
            }
            if !result.ok { throw ExitCode(ExitStatus.damaged) }
        }
    }
}
