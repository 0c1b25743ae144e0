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

            With --bundle DIR it checks an export bundle instead: the manifest's signature, \
            each line's canonical form, hash and chain link, the Merkle root, the count and \
            every file's digest; exit 4 naming the first bad line. JSON: \
            {"ok","checked","firstBadLine","firstBadSeq","problem","signerTrusted"}.

            Examples:
              ledger verify
              ledger --ledger /srv/ledger verify --json
            """
        )

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("Check an export bundle instead of the ledger (no ledger needed).", valueName: "dir"))
        var bundle: String?

        @Option(name: .customLong("public-key"),
                help: ArgumentHelp("With --bundle: the ledger's public key (hex) the bundle must be signed with.", valueName: "hex"))
        var publicKey: String?

        @Flag(help: "Print {\"ok\":bool,\"checked\":N,\"firstBadSeq\":N|null} instead of a sentence.")
        var json = false

        func run() throws {
            if let bundle { return try BundleCheck.run(directory: bundle, publicKey: publicKey, json: json) }
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
