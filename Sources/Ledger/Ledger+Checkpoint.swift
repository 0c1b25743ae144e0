import Compliance
import EventLog
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The ledger's checkpoint identity and its checkpoints (CONTRACT.md section 10).
///
/// A ledger has an **origin** (the first line of its checkpoints, and the name of its note
/// key) and an Ed25519 signing key. Both are fixed when the ledger is created; the directory
/// keeps the public half as the note verifier key in `checkpoint.vkey`
/// (`<origin>+<hex key ID>+<base64(0x01 ‖ public key)>`, one line). The private key is
/// `signing.key` in the directory, or a file kept elsewhere (``Options/signingKeyPath``): then
/// nothing in the directory can sign, and a checkpoint cannot be forged from it.
extension Ledger {
    /// `escalation-ledger/<host name>/<16 random hex digits>`: unique without configuration.
    public static func defaultOrigin() -> String {
        var name = [CChar](repeating: 0, count: 256)
        var host = gethostname(&name, name.count) == 0 ? String(cString: name) : ""
        host = String(host.unicodeScalars.filter { ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "." || $0 == "-" }.map(Character.init))
        if host.isEmpty { host = "localhost" }
        var random = SystemRandomNumberGenerator()
        let suffix = Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255, using: &random) })
        return "escalation-ledger/\(host.lowercased())/\(suffix)"
    }

    /// Why an origin cannot be used, or nil when it can: 1 to 200 bytes, printable, no space, no `+`
    /// (it is a note key name too).
    public static func originProblem(_ origin: String) -> String? {
        if origin.utf8.count > 200 { return "an origin is at most 200 bytes" }
        if !SignedNote.isValidName(origin) { return "an origin is a non-empty name without spaces, '+' or control characters" }
        return nil
    }

    var verifierKeyPath: String { path + "/checkpoint.vkey" }

    /// Creates the signing key and `checkpoint.vkey` when the ledger has none (a new ledger, or
    /// one made before checkpoints had an origin: it gets the default origin).
    func prepareSigningIdentity(_ options: Options) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: verifierKeyPath) { return }
        if let origin = options.origin, let problem = Ledger.originProblem(origin) { throw LedgerError.invalid(problem) }
        let keyPath = externalSigningKeyPath ?? signingKeyPath
        let key = fm.fileExists(atPath: keyPath) ? try SigningKeyFile.load(from: keyPath) : try SigningKeyFile.create(at: keyPath)
        let vkey = SignedNote.verifierKey(name: options.origin ?? Ledger.defaultOrigin(), publicKey: key.publicKey)
        let partial = verifierKeyPath + ".partial"
        try Data((vkey + "\n").utf8).write(to: URL(fileURLWithPath: partial))
        guard rename(partial, verifierKeyPath) == 0 else { throw LedgerError.invalid("cannot write \(verifierKeyPath): errno \(errno)") }
    }

    /// Loads the signing key and checks that it is this ledger's (the key of `checkpoint.vkey`).
    func loadSigningKey() throws -> SigningKeyFile {
        let keyPath = externalSigningKeyPath ?? signingKeyPath
        guard FileManager.default.fileExists(atPath: keyPath) else {
            throw LedgerError.missing(externalSigningKeyPath == nil
                ? "signing key: this ledger's key is kept outside its directory; pass --signing-key PATH or set LEDGER_SIGNING_KEY"
                : "signing key file \(keyPath)")
        }
        let key = try SigningKeyFile.load(from: keyPath)
        let vkey = try verifierKey()
        guard key.publicKey == vkey.publicKey else {
            throw LedgerError.invalid("the signing key \(keyPath) is not this ledger's key (its verifier key is \(vkey.text))")
        }
        return key
    }

    /// The note verifier key of the ledger's checkpoints (`ledger key`).
    /// - throws: ``LedgerError/missing(_:)`` for a ledger made before checkpoint origins that was never opened for writing since.
    public func verifierKey() throws -> SignedNote.VerifierKey {
        guard let text = try? String(contentsOfFile: verifierKeyPath, encoding: .utf8) else {
            throw LedgerError.missing("checkpoint.vkey: this ledger predates checkpoint origins; open it once for writing (ledger replay) to give it one")
        }
        return try SignedNote.VerifierKey(text)
    }

    /// The ledger's checkpoint origin.
    public func origin() throws -> String { try verifierKey().name }

    /// A signed checkpoint: its body and the note that carries it.
    public struct SignedCheckpoint: Sendable {
        public var checkpoint: Checkpoint
        public var note: SignedNote.Note
        /// The signed note, as printed and kept.
        public var text: String { note.encoded }
    }

    /// Signs the checkpoint of the tree of `size` leaves whose root is `root`.
    func signCheckpoint(size: Int, root: MerkleHash) throws -> SignedCheckpoint {
        let key = try loadSigningKey()
        let body = Checkpoint(origin: try origin(), treeSize: size, rootHash: root)
        return SignedCheckpoint(checkpoint: body, note: try SignedNote.Note.sign(text: body.text, name: body.origin, key: key))
    }

    /// A fresh checkpoint of the whole log (C2SP tlog-checkpoint in a signed note).
    public func checkpoint(progress: ((UInt64, UInt64) -> Void)? = nil) throws -> SignedCheckpoint {
        let size = try log.head().seq
        return try signCheckpoint(size: Int(size), root: try merkleRoot(size: size, progress: progress))
    }

    /// Parses a checkpoint note and checks it is signed by `key` (default: this ledger's verifier key).
    public func openCheckpoint(_ text: String, key: SignedNote.VerifierKey? = nil) throws -> (Checkpoint, SignedNote.Note) {
        try Checkpoint.open(text, key: try key ?? verifierKey())
    }
}

extension Ledger {
    /// Checks that the log extends a checkpoint kept elsewhere (`ledger verify --checkpoint`):
    /// the checkpoint is signed by `key` (default: this ledger's verifier key), the chain and
    /// every leaf hash verify against the records, the log holds at least the checkpoint's
    /// events, the root of its first `treeSize` leaves, recomputed from the log, is the
    /// checkpoint's, and the RFC 9162 consistency proof from it to the current head verifies.
    /// A dropped tail or a history rewritten with consistent hashes fails.
    public func verifyExtends(checkpoint text: String, key: SignedNote.VerifierKey? = nil,
                              progress: ((UInt64, UInt64) -> Void)? = nil) throws -> VerifyResult {
        let kept: Checkpoint
        do {
            kept = try openCheckpoint(text, key: key).0
        } catch {
            return VerifyResult(ok: false, checked: 0, firstBadSeq: nil, problem: "the kept checkpoint: \(error)")
        }
        let chain = try log.verify(progress: progress)
        guard chain.ok else { return chain }
        return try log.environment.read { txn in
            let n = try log.head(in: txn).seq
            let m = UInt64(kept.treeSize)
            guard m <= n else {
                return VerifyResult(ok: false, checked: n, firstBadSeq: n + 1,
                                    problem: "the log holds \(n) events but the checkpoint kept elsewhere holds \(m): events \(n + 1)...\(m) were removed")
            }
            guard m > 0 else { return VerifyResult(ok: true, checked: n, firstBadSeq: nil, problem: nil) }
            let oldRoot = try merkleRoot(size: m, in: txn, fresh: true)
            guard oldRoot == kept.rootHash else {
                return VerifyResult(ok: false, checked: m, firstBadSeq: nil,
                                    problem: "the root of the log's first \(m) events is \(oldRoot.hex), the kept checkpoint's is \(kept.rootHash.hex): history was rewritten")
            }
            let newRoot = try merkleRoot(size: n, in: txn, fresh: true)
            let reader = { (i: Int) throws -> MerkleHash in MerkleHash(bytes: try self.log.leafHash(UInt64(i + 1), txn))! }
            let proof = try MerkleTree.consistencyProof(oldSize: Int(m), newSize: Int(n), leafHash: reader)
            do {
                try MerkleTree.verifyConsistency(oldSize: Int(m), newSize: Int(n), oldRoot: kept.rootHash, newRoot: newRoot, proof: proof)
            } catch {
                return VerifyResult(ok: false, checked: n, firstBadSeq: nil, problem: "consistency from \(m) to \(n): \(error)")
            }
            return VerifyResult(ok: true, checked: n, firstBadSeq: nil, problem: nil)
        }
    }
}
