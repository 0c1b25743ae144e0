import ArgumentParser
import Compliance
import Foundation
import Ledger

extension LedgerTool {
    /// `ledger witness init|key|cosign|verify`: a witness (C2SP tlog-cosignature v1), kept in its own state file.
    struct WitnessCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "witness",
            abstract: "Cosign a ledger's checkpoints after checking they extend what was cosigned before.",
            discussion: """
            A witness is a second ledger's operator or an auditor. It keeps, per origin, the \
            last checkpoint it cosigned (a state file, not a ledger) and cosigns a new one only \
            when a consistency proof shows it extends that one; a rewritten log shown to one \
            reader (a split view) or a rollback is refused with exit 4. The cosignature is a C2SP \
            tlog-cosignature v1 line (Ed25519, key ID algorithm 0x04) appended to the note.

            Examples:
              ledger witness init --state auditor.witness --name auditor.example.com/w1
              ledger --ledger L checkpoint > cp.txt
              ledger witness cosign --state auditor.witness --log-key "$(ledger --ledger L key)" cp.txt > cp.cosigned
              ledger --ledger L prove --consistency 1200 > next.json     # 1200: the size cosigned last
              ledger witness cosign --state auditor.witness next.json > next.cosigned
              ledger witness verify --witness-key "$(ledger witness key --state auditor.witness)" \\
                  --log-key "$(ledger --ledger L key)" next.cosigned
            """,
            subcommands: [Init.self, Key.self, Cosign.self, Verify.self]
        )

        struct Init: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create a witness: its state file and its Ed25519 cosigning key; print its verifier key.")

            @Option(help: ArgumentHelp("The witness state file to create.", valueName: "file"))
            var state: String

            @Option(help: ArgumentHelp("The witness's name (its key name), e.g. auditor.example.com/w1.", valueName: "name"))
            var name: String

            @Option(help: ArgumentHelp("The cosigning key file (default: STATE.key; created 0600 when missing).", valueName: "path"))
            var key: String?

            func run() throws {
                let w = try witnessing { try Witness.create(statePath: state, name: name, keyFile: key ?? state + ".key") }
                Terminal.print(try w.verifierKey())
            }
        }

        struct Key: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print the witness's cosignature verifier key.")

            @Option(help: ArgumentHelp("The witness state file.", valueName: "file"))
            var state: String

            func run() throws { Terminal.print(try witnessing { try loadWitness(state).verifierKey() }) }
        }

        struct Cosign: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Check a checkpoint against what the witness saw, cosign it and print the cosigned note.",
                discussion: """
                FILE is a checkpoint note (`ledger checkpoint`) or a consistency proof document \
                (`ledger prove --consistency SIZE`, SIZE being the size this witness cosigned last) \
                whose checkpoint is cosigned. The first checkpoint of an origin is taken on trust \
                and needs --log-key; later ones must be proved consistent with it. Exit 4 when the \
                checkpoint contradicts what the witness cosigned (split view, rollback).
                """)

            @Option(help: ArgumentHelp("The witness state file.", valueName: "file"))
            var state: String

            @Option(name: .customLong("log-key"), help: ArgumentHelp("The ledger's checkpoint verifier key (ledger key); needed the first time.", valueName: "vkey"))
            var logKey: String?

            @Argument(help: ArgumentHelp("A checkpoint note, or a consistency proof document.", valueName: "file"))
            var file: String

            func run() throws {
                let bytes = try readArgumentFile(file, what: "checkpoint")
                var w = try witnessing { try loadWitness(state) }
                var note: String, proof: [MerkleHash]?, oldSize: Int?
                if bytes.first == UInt8(ascii: "{") {
                    guard let doc = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
                          doc["kind"] as? String == "consistency", let text = doc["checkpoint"] as? String,
                          let hexes = doc["proof"] as? [String], let size = doc["oldSize"] as? Int
                    else { throw CommandFailure("\(file) is neither a checkpoint note nor a consistency proof document") }
                    note = text
                    proof = try hexes.map { h in
                        guard let hash = MerkleHash(hex: h) else { throw CommandFailure("\(file): a proof hash is not 64 hex digits") }
                        return hash
                    }
                    oldSize = size
                } else {
                    note = String(decoding: bytes, as: UTF8.self)
                    while note.hasSuffix("\n\n") { note.removeLast() }
                }
                let key = try logKey.map { try parseVerifierKey($0).text }  // text, or a file holding it
                let cosigned = try witnessing { try w.cosign(note: note, logKey: key, proof: proof, proofOldSize: oldSize) }
                Terminal.write(1, cosigned.encoded)
            }
        }

        struct Verify: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Check a cosigned checkpoint: the ledger's signature and the witness's cosignature.")

            @Option(name: .customLong("witness-key"), help: ArgumentHelp("The witness's verifier key (ledger witness key).", valueName: "vkey"))
            var witnessKey: String

            @Option(name: .customLong("log-key"), help: ArgumentHelp("The ledger's checkpoint verifier key (ledger key).", valueName: "vkey"))
            var logKey: String

            @Argument(help: ArgumentHelp("The cosigned checkpoint note.", valueName: "file"))
            var file: String

            func run() throws {
                let text = try readCheckpointFile(file)
                let log = try parseVerifierKey(logKey), witness = try parseVerifierKey(witnessKey)
                do {
                    let (checkpoint, note) = try Checkpoint.open(text, key: log)
                    let time = try note.verifyCosignature(witness)
                    Terminal.print("ok: \(checkpoint.origin) at size \(checkpoint.treeSize), cosigned by \(witness.name) at \(time) (POSIX seconds)")
                } catch {
                    Terminal.print("DAMAGED: \(error)")
                    throw ExitCode(ExitStatus.damaged)
                }
            }
        }
    }
}

private func loadWitness(_ path: String) throws -> Witness {
    guard FileManager.default.fileExists(atPath: path) else {
        throw CommandFailure("no witness state at \(path): create it with `ledger witness init --state \(path) --name NAME`", status: ExitStatus.notFound)
    }
    return try Witness.load(statePath: path)
}

/// Maps a witness's refusals to exit statuses: 4 for an inconsistent checkpoint, 1 otherwise.
private func witnessing<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let r as Witness.Refusal {
        if case .inconsistent = r { throw CommandFailure("REFUSED: " + r.description, status: ExitStatus.damaged) }
        throw CommandFailure(r.description)
    } catch let e as SignedNoteError {
        throw CommandFailure("REFUSED: " + e.description, status: ExitStatus.damaged)
    }
}
