import ArgumentParser
import EventLog
import Ledger

extension LedgerTool {
    /// `ledger verify [--deep] [--checkpoint FILE] [--bundle DIR [--public-key HEX]] [--json]`.
    struct VerifyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check the hash chain: nothing altered, removed or reordered.",
            discussion: """
            Walks every event from seq 1: each record under its own seq, no gaps, each chain \
            hash = SHA-256(previous hash ‖ record), each leaf hash, and the head; and every \
            entry of the log's indexes (ids, streams, stream_links, stream_marks) against the events, so \
            a changed key or value in any of the log's own tables is found. Exits 4 at the \
            first damage (naming the seq when there is one), 0 when everything verifies.

            With --deep it also rebuilds, from the log alone, everything derived from it and \
            compares it with what is stored: every event's index entries looked up as queries \
            look them up, the content digests id entries of format 4 still keep, the rules' state, the personal-data \
            links (ticket to customer, live customer records and their look-up entries) and \
            the projections; it names the first divergence (table, key, stored vs expected, \
            seq). Slower than the plain check; its replay is kept in a scratch directory \
            under $TMPDIR, removed afterwards. A ledger too damaged to open, a malformed \
            entry or an LMDB error of a damaged file is also exit 4.

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
              ledger verify --deep --json
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

        @Flag(help: ArgumentHelp("Also rebuild every index, the rules' state, the personal-data links and the projections "
                                 + "from the log and compare them with what is stored (slower)."))
        var deep = false

        @Flag(help: "Print {\"ok\":bool,\"checked\":N,\"firstBadSeq\":N|null,\"problem\":…} instead of a sentence.")
        var json = false

        func validate() throws {
            if [bundle != nil, proof != nil].filter({ $0 }).count > 1 { throw ValidationError("give at most one of --bundle and --proof") }
            if proof != nil, checkpoint != nil { throw ValidationError("--checkpoint goes with --bundle or alone, not with --proof (use --old)") }
            if bundle == nil, publicKey != nil || !witnessKeys.isEmpty { throw ValidationError("--public-key and --witness-key go with --bundle") }
            if old != nil, proof == nil { throw ValidationError("--old goes with --proof") }
            if key != nil, proof == nil, checkpoint == nil { throw ValidationError("--key goes with --proof or --checkpoint") }
            if deep, bundle != nil || proof != nil { throw ValidationError("--deep checks the ledger, not a bundle or a proof") }
        }

        func run() throws {
            if let proof { return try ProofCheck.proof(proof, old: old, key: key, global: global, json: json) }
            if let bundle {
                return try BundleCheck.run(directory: bundle, publicKey: publicKey, checkpoint: checkpoint, witnessKeys: witnessKeys,
                                           global: global, json: json)
            }
            if let checkpoint, !deep { return try ProofCheck.checkpoint(checkpoint, key: key, global: global, json: json) }
            try LedgerVerify.run(global: global, deep: deep, checkpoint: checkpoint, key: key, json: json)
        }
    }
}
