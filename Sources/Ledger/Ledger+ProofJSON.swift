import Compliance
import Foundation

/// The JSON documents an auditor keeps: a checkpoint (signed tree head), a ticket's inclusion
/// proofs and a consistency proof (docs/EXPORT.md, "Checkpoints and proof documents";
/// `tools/verify_bundle.py --proof` / `--consistency` checks them).
///
/// Every document is canonical — keys sorted by code point, no whitespace, strings escaped as
/// Python's `json.dumps(..., ensure_ascii=False)` does, binary values in lowercase hex — so
/// `json.dumps(json.loads(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
/// gives the bytes back. None ends with a newline; whoever prints one adds it.
extension Ledger {
    /// A signed tree head, exactly ``SignedTreeHead/canonicalJSON``:
    ///
    ///     {"publicKey":"<hex>","rootHash":"<hex>","signature":"<hex>","timestamp":<µs>,"treeSize":<n>}
    ///
    /// The signature covers the same object without `signature` (``SignedTreeHead/signedBytes``).
    public static func checkpointJSON(_ head: SignedTreeHead) -> [UInt8] {
        head.canonicalJSON
    }

    /// A ticket's inclusion proofs against `checkpoint`:
    ///
    ///     {"checkpoint":{…},
    ///      "proofs":[{"leafHash":"<hex>","leafIndex":<seq-1>,"path":["<hex>",…],"record":"<hex>","seq":<seq>},…],
    ///      "ticket":"<ticket>"}
    ///
    /// `record` is the stored record (docs/FORMAT.md) in hex, `leafHash` = SHA-256(0x00 ‖ record),
    /// `path` the RFC 9162 audit path from the leaf's sibling upwards.
    public static func ticketProofJSON(ticket: String, checkpoint: SignedTreeHead, proofs: [InclusionProof]) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("checkpoint"); w.raw(checkpoint.canonicalJSON)
        w.key("proofs")
        w.beginArray()
        for p in proofs {
            w.beginObject()
            w.field("leafHash", p.leafHash.hex)
            w.field("leafIndex", p.leafIndex)
            w.key("path"); hashArray(p.path, &w)
            w.field("record", p.record.hex)
            w.field("seq", p.seq)
            w.endObject()
        }
        w.endArray()
        w.field("ticket", ticket)
        w.endObject()
        return w.bytes
    }

    /// A consistency proof from the tree of the first `oldSize` events to `checkpoint`:
    ///
    ///     {"checkpoint":{…new head…},"oldSize":<m>,"proof":["<hex>",…]}
    ///
    /// `proof` is RFC 9162 `PROOF(m, D[n])` in the RFC's order. It is checked against an old
    /// checkpoint the auditor kept, whose `treeSize` is `oldSize`.
    public static func consistencyProofJSON(oldSize: Int, checkpoint: SignedTreeHead, proof: [MerkleHash]) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("checkpoint"); w.raw(checkpoint.canonicalJSON)
        w.field("oldSize", oldSize)
        w.key("proof"); hashArray(proof, &w)
        w.endObject()
        return w.bytes
    }

    private static func hashArray(_ hashes: [MerkleHash], _ w: inout JSONWriter) {
        w.beginArray()
        for h in hashes { w.string(h.hex) }
        w.endArray()
    }

    /// A fresh checkpoint of the whole log, as ``checkpointJSON(_:)``.
    public func checkpointDocument(progress: ((UInt64, UInt64) -> Void)? = nil) throws -> [UInt8] {
        Ledger.checkpointJSON(try checkpoint(progress: progress))
    }

    /// Every event of `ticket` proved against a fresh checkpoint, as ``ticketProofJSON(ticket:checkpoint:proofs:)``.
    /// - throws: ``LedgerError/notFound(_:)`` when the ticket has no event.
    public func ticketProofDocument(_ ticket: String) throws -> [UInt8] {
        let (head, proofs) = try proveTicket(ticket)
        return Ledger.ticketProofJSON(ticket: ticket, checkpoint: head, proofs: proofs)
    }

    /// A consistency proof from size `oldSize` to a fresh checkpoint, as ``consistencyProofJSON(oldSize:checkpoint:proof:)``.
    public func consistencyProofDocument(from oldSize: Int) throws -> [UInt8] {
        let (head, proof) = try proveConsistency(from: oldSize)
        return Ledger.consistencyProofJSON(oldSize: oldSize, checkpoint: head, proof: proof)
    }
}
