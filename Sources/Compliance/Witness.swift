import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A witness (C2SP tlog-cosignature v1): it cosigns a log's checkpoint only after checking that
/// it is consistent with the last checkpoint it cosigned for that origin, and remembers what it
/// saw in its own state file. Two readers shown different histories (a split view) cannot both
/// get the witness's cosignature.
///
/// The state file is JSON: `{"format":"escalation-ledger-witness/1","keyFile":"…","name":"…",
/// "logs":{"<origin>":{"logKey":"<vkey>","rootHash":"<hex>","time":<s>,"treeSize":<n>}}}`.
public struct Witness {
    public static let format = "escalation-ledger-witness/1"

    /// Where the state is kept.
    public let statePath: String
    /// The cosigner's name (its key name).
    public let name: String
    /// The cosigner's Ed25519 key file (SigningKeyFile format).
    public let keyFile: String

    /// What the witness last cosigned for one origin.
    public struct Seen: Sendable, Equatable {
        public var logKey: String
        public var treeSize: Int
        public var rootHash: MerkleHash
        public var time: UInt64
    }
    public private(set) var logs: [String: Seen]

    /// Why a checkpoint was not cosigned.
    public enum Refusal: Error, CustomStringConvertible {
        /// The checkpoint contradicts what the witness saw: a split view or a rollback.
        case inconsistent(String)
        /// The evidence does not suffice (no consistency proof from the size the witness saw, another key).
        case cannotCheck(String)

        public var description: String {
            switch self {
            case .inconsistent(let s), .cannotCheck(let s): return s
            }
        }
    }

    /// Creates a witness: its key file (0600, created when missing) and its state file (must not exist).
    public static func create(statePath: String, name: String, keyFile: String) throws -> Witness {
        guard SignedNote.isValidName(name) else { throw Refusal.cannotCheck("a witness name has no spaces, '+' or control characters") }
        guard !FileManager.default.fileExists(atPath: statePath) else { throw Refusal.cannotCheck("\(statePath) already exists") }
        if !FileManager.default.fileExists(atPath: keyFile) { _ = try SigningKeyFile.create(at: keyFile) }
        let w = Witness(statePath: statePath, name: name, keyFile: keyFile, logs: [:])
        try w.save()
        return w
    }

    private init(statePath: String, name: String, keyFile: String, logs: [String: Seen]) {
        self.statePath = statePath
        self.name = name
        self.keyFile = keyFile
        self.logs = logs
    }

    /// Loads a witness's state.
    public static func load(statePath: String) throws -> Witness {
        guard let data = FileManager.default.contents(atPath: statePath),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              object["format"] as? String == format,
              let name = object["name"] as? String, let keyFile = object["keyFile"] as? String,
              let logs = object["logs"] as? [String: [String: Any]]
        else { throw Refusal.cannotCheck("\(statePath) is not a witness state file (\(format))") }
        var seen: [String: Seen] = [:]
        for (origin, l) in logs {
            guard let key = l["logKey"] as? String, let size = l["treeSize"] as? Int, let rootHex = l["rootHash"] as? String,
                  let root = MerkleHash(hex: rootHex), let time = l["time"] as? UInt64
            else { throw Refusal.cannotCheck("\(statePath): the entry for \(origin) is malformed") }
            seen[origin] = Seen(logKey: key, treeSize: size, rootHash: root, time: time)
        }
        return Witness(statePath: statePath, name: name, keyFile: keyFile, logs: seen)
    }

    /// The cosigner's verifier key: `<name>+<hex key ID>+<base64(0x04 ‖ public key)>`.
    public func verifierKey() throws -> String {
        SignedNote.verifierKey(name: name, algorithm: SignedNote.cosignatureV1, publicKey: try SigningKeyFile.load(from: keyFile).publicKey)
    }

    /// Cosigns the checkpoint `note` of the log whose note key is `logKey` (nil: the one seen
    /// before for its origin). `proof` is a consistency proof from the size the witness last
    /// cosigned to the checkpoint's size, in RFC 9162 order; `proofOldSize` the size it starts from.
    /// Returns the note with the cosignature added, and records the checkpoint.
    public mutating func cosign(note text: String, logKey: String?, proof: [MerkleHash]?, proofOldSize: Int?,
                                now: UInt64 = UInt64(time(nil))) throws -> SignedNote.Note {
        let origin = try Checkpoint(text: try SignedNote.Note(text).text).origin
        let known = logs[origin]
        guard let keyText = logKey ?? known?.logKey else {
            throw Refusal.cannotCheck("the witness has not seen \(origin) before: give the log's verifier key (--log-key)")
        }
        let key = try SignedNote.VerifierKey(keyText)
        if let known, known.logKey.trimmingCharacters(in: .whitespacesAndNewlines) != key.text {
            throw Refusal.cannotCheck("\(origin) was witnessed under the key \(known.logKey), not \(key.text)")
        }
        var (checkpoint, note) = try Checkpoint.open(text, key: key)
        if let known {
            if checkpoint.treeSize < known.treeSize {
                throw Refusal.inconsistent("\(origin): the checkpoint holds \(checkpoint.treeSize) events, fewer than the \(known.treeSize) the witness cosigned: a rollback")
            }
            if checkpoint.treeSize == known.treeSize {
                guard checkpoint.rootHash == known.rootHash else {
                    throw Refusal.inconsistent("\(origin): a second root for size \(known.treeSize) (\(checkpoint.rootHash.hex), the witness cosigned \(known.rootHash.hex)): a split view")
                }
            } else {
                guard let proof, proofOldSize == known.treeSize else {
                    throw Refusal.cannotCheck("\(origin): the witness last cosigned size \(known.treeSize); give a consistency proof from it (ledger prove --consistency \(known.treeSize))")
                }
                do {
                    try MerkleTree.verifyConsistency(oldSize: known.treeSize, newSize: checkpoint.treeSize, oldRoot: known.rootHash,
                                                     newRoot: checkpoint.rootHash, proof: proof)
                } catch {
                    throw Refusal.inconsistent("\(origin): the checkpoint of \(checkpoint.treeSize) events is not consistent with the one of \(known.treeSize) the witness cosigned (\(error)): a split view or a rewritten history")
                }
            }
        }
        let time = max(now, known?.time ?? 0)
        try note.cosign(name: name, key: try SigningKeyFile.load(from: keyFile), time: time)
        logs[origin] = Seen(logKey: key.text, treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, time: time)
        try save()
        return note
    }

    /// Writes the state atomically (a temporary file renamed over it).
    func save() throws {
        var logObjects: [String: Any] = [:]
        for (origin, s) in logs {
            logObjects[origin] = ["logKey": s.logKey, "treeSize": s.treeSize, "rootHash": s.rootHash.hex, "time": s.time]
        }
        let object: [String: Any] = ["format": Witness.format, "name": name, "keyFile": keyFile, "logs": logObjects]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        let partial = statePath + ".partial"
        try data.write(to: URL(fileURLWithPath: partial))
        guard rename(partial, statePath) == 0 else { throw Refusal.cannotCheck("cannot replace \(statePath): errno \(errno)") }
    }
}
