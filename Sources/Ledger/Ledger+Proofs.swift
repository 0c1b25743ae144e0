import Compliance
import EscalationDomain
import EventLog
import Foundation
import LMDB

extension Ledger {
    /// The Merkle root (RFC 9162) over the leaf hashes of seqs 1...`size`.
    func merkleRoot(size: UInt64, progress: ((UInt64, UInt64) -> Void)? = nil) throws -> MerkleHash {
        try log.environment.read { txn in
            var accumulator = MerkleRootAccumulator()
            try log.scanHashes(from: 1, through: size, in: txn) { seq, _, leaf in
                accumulator.append(leafHash: MerkleHash(bytes: leaf)!)
                if seq & 0xFFFFF == 0 { progress?(seq, size) }
            }
            guard accumulator.size == Int(size) else { throw LogError.corrupt(seq: UInt64(accumulator.size + 1), "missing leaf hash") }
            return accumulator.root
        }
    }

    /// A signed tree head over the whole log: its size, Merkle root and the time, signed with the ledger's key.
    public func checkpoint(progress: ((UInt64, UInt64) -> Void)? = nil) throws -> SignedTreeHead {
        let size = try log.head().seq
        return try SignedTreeHead.sign(treeSize: Int(size), rootHash: try merkleRoot(size: size, progress: progress), key: try signingKey())
    }

    /// One event's inclusion proof.
    public struct InclusionProof: Sendable {
        public var seq: UInt64
        /// seq − 1.
        public var leafIndex: Int
        /// The stored record: leafHash = SHA-256(0x00 ‖ record).
        public var record: [UInt8]
        public var leafHash: MerkleHash
        /// RFC 9162 audit path, from the leaf's sibling upwards.
        public var path: [MerkleHash]
    }

    /// Inclusion proofs of every event of `ticket` against a fresh checkpoint of the whole log.
    public func proveTicket(_ ticket: String) throws -> (checkpoint: SignedTreeHead, proofs: [InclusionProof]) {
        let head = try checkpoint()
        let size = head.treeSize
        let records = try log.stream("ticket:" + ticket, asOf: UInt64(size))
        guard !records.isEmpty else { throw LedgerError.notFound("ticket \(ticket)") }
        return try log.environment.read { txn in
            let (leaf, cache) = subtreeMemo(txn)
            let proofs = try records.map { r -> InclusionProof in
                let index = Int(r.seq - 1)
                let path = try MerkleTree.inclusionProof(leafIndex: index, treeSize: size, leafHash: leaf, cachedSubtreeRoot: cache)
                let record = try txn.get(log.eventsDatabase, key: r.seq).map { Array($0) } ?? []
                return InclusionProof(seq: r.seq, leafIndex: index, record: record, leafHash: try leaf(index), path: path)
            }
            return (head, proofs)
        }
    }

    /// A consistency proof from the tree of the first `oldSize` events to a fresh checkpoint of the whole log.
    public func proveConsistency(from oldSize: Int) throws -> (checkpoint: SignedTreeHead, proof: [MerkleHash]) {
        let head = try checkpoint()
        guard oldSize > 0, oldSize <= head.treeSize else {
            throw LedgerError.invalid("the old size must be between 1 and the current size \(head.treeSize), got \(oldSize)")
        }
        let proof = try log.environment.read { txn in
            let (leaf, cache) = subtreeMemo(txn)
            return try MerkleTree.consistencyProof(oldSize: oldSize, newSize: head.treeSize, leafHash: leaf, cachedSubtreeRoot: cache)
        }
        return (head, proof)
    }

    /// Leaf hashes read from the log, and subtree roots computed once and remembered
    /// (the proofs of one ticket share most of their path).
    private func subtreeMemo(_ txn: ReadTransaction) -> ((Int) throws -> MerkleHash, (Range<Int>) throws -> MerkleHash?) {
        let leaf: (Int) throws -> MerkleHash = { i in MerkleHash(bytes: try self.log.leafHash(UInt64(i + 1), txn))! }
        final class Memo { var roots: [Range<Int>: MerkleHash] = [:] }
        let memo = Memo()
        let cache: (Range<Int>) throws -> MerkleHash? = { range in
            if let r = memo.roots[range] { return r }
            var accumulator = MerkleRootAccumulator()
            try self.log.scanHashes(from: UInt64(range.lowerBound + 1), through: UInt64(range.upperBound), in: txn) { _, _, l in
                accumulator.append(leafHash: MerkleHash(bytes: l)!)
            }
            memo.roots[range] = accumulator.root
            return accumulator.root
        }
        return (leaf, cache)
    }
}
