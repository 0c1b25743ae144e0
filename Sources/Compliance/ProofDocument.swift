import EventLog
import Foundation

// MARK: Multi-leaf proofs

extension MerkleTree {
    /// The largest power of two strictly smaller than `n` (`n >= 2`), as RFC 9162 splits a tree.
    public static func splitPoint(_ n: Int) -> Int { split(n) }

    /// Rebuilds the root of a tree of `treeSize` leaves from some of its leaves and the
    /// **nodes** of a multi-leaf proof (docs/EXPORT.md, "Range and ticket proofs").
    ///
    /// `leaves` are (leaf index, leaf hash) in strictly increasing index order. `nodes` are the
    /// hashes of the maximal subtrees of the RFC 9162 tree that hold none of those leaves, left to
    /// right. The rebuild is `MTH` with the recursion stopped at a given leaf or at a subtree
    /// without one (which takes the next node). Every node must be used.
    public static func rootFromMultiLeafProof(
        treeSize: Int, leaves: [(index: Int, hash: MerkleHash)], nodes: [MerkleHash]
    ) throws(MerkleVerificationError) -> MerkleHash {
        guard treeSize > 0 else { throw .negativeTreeSize(treeSize) }
        var previous = -1
        for l in leaves {
            guard l.index > previous, l.index < treeSize else { throw .leafIndexOutOfRange(leafIndex: l.index, treeSize: treeSize) }
            previous = l.index
        }
        var nextLeaf = 0, nextNode = 0
        var failed = false
        func build(_ lo: Int, _ hi: Int) -> MerkleHash {
            if failed { return emptyRoot }
            if nextLeaf == leaves.count || leaves[nextLeaf].index >= hi {
                guard nextNode < nodes.count else { failed = true; return emptyRoot }
                nextNode += 1
                return nodes[nextNode - 1]
            }
            if hi - lo == 1 {
                nextLeaf += 1
                return leaves[nextLeaf - 1].hash
            }
            let k = split(hi - lo)
            let left = build(lo, lo + k)
            return nodeHash(left, build(lo + k, hi))
        }
        let root = build(0, treeSize)
        guard !failed, nextNode == nodes.count else {
            throw .wrongProofLength(expected: failed ? nodes.count + 1 : nextNode, actual: nodes.count)
        }
        return root
    }
}

// MARK: Proof documents

/// Checks the proof documents of docs/EXPORT.md ("Proof documents") against a trusted note
/// verifier key, without a ledger: `ledger verify --proof FILE`.
public enum ProofDocument {
    /// The `format` of every proof document.
    public static let format = "escalation-ledger-proof/1"

    /// The outcome, in the shape of CONTRACT.md section 8's `verify`.
    public struct Result: Sendable, Equatable {
        public var ok: Bool
        /// Leaves proved (records checked), or proof hashes for a consistency proof.
        public var checked: Int
        public var firstBadSeq: UInt64?
        public var problem: String?
        public var kind: String?
        /// The checkpoint the document proves against (when its signature verified).
        public var checkpoint: Checkpoint?
    }

    struct Failure: Error { var problem: String; var seq: UInt64? }

    /// Verifies the document `bytes` with the trusted checkpoint key `key`. `kept` is a checkpoint
    /// note kept earlier: a consistency proof must lead from it (its size is `oldSize`).
    public static func verify(_ bytes: [UInt8], key: SignedNote.VerifierKey, kept: String? = nil) -> Result {
        var result = Result(ok: false, checked: 0)
        do {
            try check(bytes, key: key, kept: kept, into: &result)
            result.ok = true
        } catch let f as Failure {
            result.problem = f.problem
            result.firstBadSeq = f.seq
        } catch {
            result.problem = "\(error)"
        }
        return result
    }

    private static func check(_ bytes: [UInt8], key: SignedNote.VerifierKey, kept: String?, into result: inout Result) throws {
        let json: CanonicalJSON
        do { json = try CanonicalJSON.parse(bytes) } catch { throw Failure(problem: "not a JSON document: \(error)") }
        guard let doc = json.objectValue else { throw Failure(problem: "not a JSON object") }
        guard doc["format"]?.stringValue == format else {
            throw Failure(problem: "format is not \(format): this verifier reads only that version")
        }
        guard let kind = doc["kind"]?.stringValue else { throw Failure(problem: "no kind") }
        result.kind = kind
        guard let noteText = doc["checkpoint"]?.stringValue else { throw Failure(problem: "no checkpoint") }
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.open(noteText, key: key).0 } catch { throw Failure(problem: "checkpoint: \(error)") }
        result.checkpoint = checkpoint
        let n = checkpoint.treeSize
        func keys(_ expected: Set<String>) throws {
            guard Set(doc.keys) == expected else {
                throw Failure(problem: "a \(kind) proof has exactly the keys \(expected.sorted()), this one \(doc.keys.sorted())")
            }
        }
        func hashes(_ name: String) throws -> [MerkleHash] {
            guard case .array(let items)? = doc[name] else { throw Failure(problem: "\(name) is not an array") }
            return try items.map { item in
                guard let s = item.stringValue, s.count == 64, s == s.lowercased(), let h = MerkleHash(hex: s) else {
                    throw Failure(problem: "\(name) holds something other than 64 lowercase hex digits")
                }
                return h
            }
        }
        func int(_ name: String) throws -> Int {
            guard let v = doc[name]?.integerValue, v >= 0, let i = Int(exactly: v) else { throw Failure(problem: "\(name) is not a whole number") }
            return i
        }
        switch kind {
        case "inclusion":
            try keys(["checkpoint", "format", "kind", "leafIndex", "path", "record", "seq"])
            let seq = try int("seq")
            let records = try parseRecords(.array([doc["record"] ?? .null]))
            guard records[0].seq == UInt64(seq), try int("leafIndex") == seq - 1 else {
                throw Failure(problem: "the record's seq, seq and leafIndex + 1 differ", seq: UInt64(seq))
            }
            guard seq >= 1, seq <= n else { throw Failure(problem: "seq \(seq) is not in the checkpoint's tree of \(n)", seq: UInt64(seq)) }
            do {
                try MerkleTree.verifyInclusion(leafHash: records[0].leaf, leafIndex: seq - 1, treeSize: n, proof: try hashes("path"), rootHash: checkpoint.rootHash)
            } catch { throw Failure(problem: "inclusion of seq \(seq): \(error)", seq: UInt64(seq)) }
            result.checked = 1
        case "range", "ticket":
            try keys(kind == "range" ? ["checkpoint", "format", "fromSeq", "kind", "nodes", "records", "toSeq"]
                                     : ["checkpoint", "format", "kind", "nodes", "records", "ticket"])
            let records = try parseRecords(doc["records"] ?? .null)
            guard !records.isEmpty else { throw Failure(problem: "no records") }
            if kind == "range" {
                let from = try int("fromSeq"), to = try int("toSeq")
                guard from >= 1, from <= to, to <= n else { throw Failure(problem: "the range \(from)..\(to) is not within the checkpoint's tree of \(n)") }
                for (i, r) in records.enumerated() where r.seq != UInt64(from + i) {
                    throw Failure(problem: "record \(i + 1) has seq \(r.seq), expected \(from + i): a range proof holds every seq of its range", seq: r.seq)
                }
                guard records.count == to - from + 1 else { throw Failure(problem: "\(records.count) records for the range \(from)..\(to)", seq: UInt64(from + records.count)) }
            } else {
                guard let ticket = doc["ticket"]?.stringValue else { throw Failure(problem: "ticket is not a string") }
                for (i, r) in records.enumerated() {
                    guard r.stream == "ticket:" + ticket else { throw Failure(problem: "seq \(r.seq) is in stream \(r.stream), not ticket:\(ticket)", seq: r.seq) }
                    guard r.version == UInt64(i + 1) else {
                        throw Failure(problem: "seq \(r.seq) is version \(r.version) of the ticket, expected \(i + 1): an event is missing", seq: r.seq)
                    }
                    guard i == 0 || r.seq > records[i - 1].seq else { throw Failure(problem: "records are not in seq order", seq: r.seq) }
                }
                guard let last = records.last, last.seq <= UInt64(n) else { throw Failure(problem: "a record lies beyond the checkpoint's tree of \(n)", seq: records.last?.seq) }
            }
            let computed: MerkleHash
            do {
                computed = try MerkleTree.rootFromMultiLeafProof(treeSize: n, leaves: records.map { (Int($0.seq) - 1, $0.leaf) }, nodes: try hashes("nodes"))
            } catch { throw Failure(problem: "the records and nodes do not rebuild a tree of \(n): \(error)") }
            guard computed == checkpoint.rootHash else {
                throw Failure(problem: "the records and nodes rebuild root \(computed.hex), not the checkpoint's \(checkpoint.rootHash.hex)")
            }
            result.checked = records.count
        case "consistency":
            try keys(["checkpoint", "format", "kind", "oldRoot", "oldSize", "proof"])
            let oldSize = try int("oldSize")
            guard let oldRootText = doc["oldRoot"]?.stringValue, let oldRoot = MerkleHash(hex: oldRootText) else { throw Failure(problem: "oldRoot is not 64 hex digits") }
            let proof = try hashes("proof")
            if let kept {
                let old: Checkpoint
                do { old = try Checkpoint.open(kept, key: key).0 } catch { throw Failure(problem: "the kept checkpoint: \(error)") }
                guard old.treeSize == oldSize else { throw Failure(problem: "the kept checkpoint has size \(old.treeSize), the proof starts from \(oldSize)") }
                guard old.rootHash == oldRoot else {
                    throw Failure(problem: "the kept checkpoint's root at size \(oldSize) is \(old.rootHash.hex); the ledger now says \(oldRoot.hex): history was rewritten")
                }
            }
            do {
                try MerkleTree.verifyConsistency(oldSize: oldSize, newSize: n, oldRoot: oldRoot, newRoot: checkpoint.rootHash, proof: proof)
            } catch { throw Failure(problem: "consistency from \(oldSize) to \(n): \(error)") }
            result.checked = proof.count
        default:
            throw Failure(problem: "unknown kind '\(kind)'")
        }
    }

    struct ParsedRecord { var seq: UInt64; var version: UInt64; var stream: String; var leaf: MerkleHash }

    private static func parseRecords(_ value: CanonicalJSON) throws -> [ParsedRecord] {
        guard case .array(let items) = value else { throw Failure(problem: "records are not an array") }
        return try items.enumerated().map { i, item in
            guard let s = item.stringValue, s == s.lowercased(), let bytes = Hex.decode(s) else {
                throw Failure(problem: "record \(i + 1) is not lowercase hex")
            }
            return try bytes.withUnsafeBytes { raw in
                guard let view = RecordView(raw) else { throw Failure(problem: "record \(i + 1) is not a stored record (docs/FORMAT.md)") }
                return ParsedRecord(seq: view.seq, version: view.version, stream: view.stream, leaf: MerkleTree.leafHash(bytes))
            }
        }
    }
}
