import Compliance
import EscalationDomain
import EventLog
import Foundation
import LMDB

/// Proof documents (docs/EXPORT.md, "Proof documents"): each is canonical JSON carrying the
/// signed checkpoint (a C2SP note) it proves against, and is written to a sink as it is made,
/// so a ticket of a million events is proved in one pass per part with memory that does not
/// grow with the ticket or the log.
extension Ledger {
    /// The Merkle root (RFC 9162) over the leaf hashes of seqs 1...`size`.
    func merkleRoot(size: UInt64, progress: ((UInt64, UInt64) -> Void)? = nil) throws -> MerkleHash {
        try log.environment.read { txn in try merkleRoot(size: size, in: txn, progress: progress) }
    }

    /// Starts from the longest prefix rooted before (the log only grows), so that a service
    /// answering `GET /checkpoint` hashes only the leaves appended since its last answer;
    /// `fresh` (verification) reads every leaf hash again.
    func merkleRoot(size: UInt64, in txn: ReadTransaction, fresh: Bool = false, progress: ((UInt64, UInt64) -> Void)? = nil) throws -> MerkleHash {
        var accumulator = fresh ? MerkleRootAccumulator() : merklePrefix.longest(atMost: Int(size))
        try log.scanHashes(from: UInt64(accumulator.size) + 1, through: size, in: txn) { seq, _, leaf in
            accumulator.append(leafHash: MerkleHash(bytes: leaf)!)
            if seq & 0xFFFFF == 0 { progress?(seq, size) }
        }
        guard accumulator.size == Int(size) else { throw LogError.corrupt(seq: UInt64(accumulator.size + 1), "missing leaf hash") }
        merklePrefix.keep(accumulator)
        return accumulator.root
    }

    /// What a proof document proves.
    public enum ProofSubject: Sendable, Equatable {
        /// One event is in the log (an RFC 9162 audit path).
        case seq(UInt64)
        /// Every event of seqs `from...to` (a compact range).
        case range(from: UInt64, to: UInt64)
        /// Every event of a ticket's stream up to the checkpoint (shared nodes).
        case ticket(String)
        /// The log of the first `oldSize` events is a prefix of the log now.
        case consistency(oldSize: UInt64)
    }

    /// Writes the proof document of `subject` to `sink`, in pieces, against a fresh checkpoint of
    /// the whole log. Everything is read in one snapshot.
    /// - throws: ``LedgerError/notFound(_:)`` for a seq, range or ticket the log does not hold;
    ///   ``LedgerError/invalid(_:)`` for a bad range or size.
    public func writeProof(_ subject: ProofSubject, to sink: ([UInt8]) throws -> Void) throws {
        try withoutActuallyEscaping(sink) { sink in try writeProof(subject, escapingSink: sink) }
    }

    private func writeProof(_ subject: ProofSubject, escapingSink sink: @escaping ([UInt8]) throws -> Void) throws {
        try log.environment.read { txn in
            let n = try log.head(in: txn).seq
            switch subject {
            case .seq(let s):
                guard s >= 1, s <= n else { throw LedgerError.notFound("event at seq \(s) (the log holds seqs 1 to \(n))") }
            case .range(let a, let b):
                guard a >= 1, a <= b else { throw LedgerError.invalid("a range is A..B with 1 <= A <= B, got \(a)..\(b)") }
                guard b <= n else { throw LedgerError.notFound("events at seqs \(a)..\(b) (the log holds seqs 1 to \(n))") }
            case .ticket(let t):
                guard try log.streamVersion("ticket:" + t, in: txn) > 0 else { throw LedgerError.notFound("ticket \(t)") }
            case .consistency(let m):
                guard m >= 1, m <= n else { throw LedgerError.invalid("the old size must be between 1 and the current size \(n), got \(m)") }
            }
            let signed = try signCheckpoint(size: Int(n), root: try merkleRoot(size: n, in: txn))
            var out = ProofOutput(sink: sink)
            out.append("{\"checkpoint\":")
            out.string(signed.text)
            out.append(",\"format\":\"\(ProofDocument.format)\"")
            let reader = LeafReader(log: log, txn: txn)
            switch subject {
            case .seq(let s):
                let path = try MerkleTree.inclusionProof(leafIndex: Int(s - 1), treeSize: Int(n), leafHash: { try reader.leaf($0) },
                                                         cachedSubtreeRoot: { try reader.subtree($0) })
                out.append(",\"kind\":\"inclusion\",\"leafIndex\":\(s - 1),\"path\":")
                out.hashes(path)
                out.append(",\"record\":\"")
                try out.hex(record(s, txn))
                out.append("\",\"seq\":\(s)}")
            case .range(let a, let b):
                out.append(",\"fromSeq\":\(a),\"kind\":\"range\",\"nodes\":[")
                try writeNodes(n: n, reader: reader, out: &out) { each in for s in a...b { try each(s) } }
                out.append("],\"records\":[")
                var first = true
                try log.scan(from: a, through: b, in: txn) { r in
                    out.append(first ? "\"" : ",\""); first = false
                    try out.hex(r.bytes); out.append("\"")
                    return true
                }
                out.append("],\"toSeq\":\(b)}")
            case .ticket(let t):
                let stream = "ticket:" + t
                out.append(",\"kind\":\"ticket\",\"nodes\":[")
                try writeNodes(n: n, reader: reader, out: &out) { each in
                    try log.scanStream(stream, asOf: n, in: txn) { r in try each(r.seq); return true }
                }
                out.append("],\"records\":[")
                var first = true
                try log.scanStream(stream, asOf: n, in: txn) { r in
                    out.append(first ? "\"" : ",\""); first = false
                    try out.hex(r.bytes); out.append("\"")
                    return true
                }
                out.append("],\"ticket\":")
                out.string(t)
                out.append("}")
            case .consistency(let m):
                let proof = try MerkleTree.consistencyProof(oldSize: Int(m), newSize: Int(n), leafHash: { try reader.leaf($0) },
                                                            cachedSubtreeRoot: { try reader.subtree($0) })
                out.append(",\"kind\":\"consistency\",\"oldRoot\":\"\(try merkleRoot(size: m, in: txn).hex)\",\"oldSize\":\(m),\"proof\":")
                out.hashes(proof)
                out.append("}")
            }
            try out.flush()
        }
    }

    /// A proof document as one byte array (see ``writeProof(_:to:)``).
    public func proofDocument(_ subject: ProofSubject) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try writeProof(subject) { bytes += $0 }
        return bytes
    }

    /// Writes the nodes of a multi-leaf proof: for each gap between consecutive proved leaves
    /// (and before the first and after the last), the maximal subtrees of the RFC 9162 tree of
    /// `n` leaves that lie inside it, left to right. `targets` calls its argument with each proved
    /// seq in increasing order.
    func writeNodes(n: UInt64, reader: LeafReader, out: inout ProofOutput,
                            targets: (_ each: (UInt64) throws -> Void) throws -> Void) throws {
        var previous = 0  // leaf index after the last proved leaf
        var first = true
        func gap(_ a: Int, _ b: Int, _ lo: Int, _ hi: Int) throws {
            if b <= lo || hi <= a || a >= b { return }
            if a <= lo && hi <= b {
                out.append(first ? "\"" : ",\""); first = false
                out.append(try reader.subtree(lo..<hi).hex); out.append("\"")
                try out.flushIfFull()
                return
            }
            let k = MerkleTree.splitPoint(hi - lo)
            try gap(a, b, lo, lo + k)
            try gap(a, b, lo + k, hi)
        }
        try targets { seq in
            let index = Int(seq - 1)
            try gap(previous, index, 0, Int(n))
            previous = index + 1
        }
        try gap(previous, Int(n), 0, Int(n))
    }

    private func record(_ seq: UInt64, _ txn: ReadTransaction) throws -> UnsafeRawBufferPointer {
        guard let r = try txn.get(log.eventsDatabase, key: seq) else { throw LogError.corrupt(seq: seq, "missing event") }
        return r
    }
}

/// Leaf hashes and subtree roots read from the log in one snapshot.
struct LeafReader {
    let log: EventLog
    let txn: ReadTransaction

    func leaf(_ index: Int) throws -> MerkleHash { MerkleHash(bytes: try log.leafHash(UInt64(index + 1), txn))! }

    /// MTH of leaves `range` (a perfect or right-edge subtree), streamed from the log.
    func subtree(_ range: Range<Int>) throws -> MerkleHash {
        if range.count == 1 { return try leaf(range.lowerBound) }
        var accumulator = MerkleRootAccumulator()
        try log.scanHashes(from: UInt64(range.lowerBound + 1), through: UInt64(range.upperBound), in: txn) { _, _, l in
            accumulator.append(leafHash: MerkleHash(bytes: l)!)
        }
        guard accumulator.size == range.count else { throw LogError.corrupt(seq: UInt64(range.lowerBound + accumulator.size + 1), "missing leaf hash") }
        return accumulator.root
    }
}

/// A write buffer handed to the sink every 256 KiB.
struct ProofOutput {
    let sink: ([UInt8]) throws -> Void
    var buffer: [UInt8] = []

    init(sink: @escaping ([UInt8]) throws -> Void) {
        self.sink = sink
        buffer.reserveCapacity(1 << 18)
    }

    mutating func append(_ s: String) { buffer += s.utf8 }
    mutating func string(_ s: String) { JSONString.append(s, to: &buffer) }

    private static let digits = Array("0123456789abcdef".utf8)
    mutating func hex(_ bytes: UnsafeRawBufferPointer) throws {
        for b in bytes {
            buffer.append(ProofOutput.digits[Int(b >> 4)])
            buffer.append(ProofOutput.digits[Int(b & 0x0F)])
        }
        try flushIfFull()
    }

    mutating func hashes(_ hashes: [MerkleHash]) {
        append("[" + hashes.map { "\"" + $0.hex + "\"" }.joined(separator: ",") + "]")
    }

    mutating func flushIfFull() throws { if buffer.count >= 1 << 18 { try flush() } }

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try sink(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// The Merkle accumulator of the longest prefix of the log this process has rooted: its peaks
/// (at most 64 hashes) are all it takes to extend it with later leaves.
final class MerklePrefix: @unchecked Sendable {
    private let lock = NSLock()
    private var kept = MerkleRootAccumulator()

    /// The kept accumulator when it covers no more than `size` leaves, else an empty one.
    func longest(atMost size: Int) -> MerkleRootAccumulator {
        lock.lock(); defer { lock.unlock() }
        return kept.size <= size ? kept : MerkleRootAccumulator()
    }

    func keep(_ accumulator: MerkleRootAccumulator) {
        lock.lock(); defer { lock.unlock() }
        if accumulator.size > kept.size { kept = accumulator }
    }
}
