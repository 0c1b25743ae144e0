import Crypto
import LMDB

/// The result of walking the chain.
public struct VerifyResult: Sendable, Equatable {
    public var ok: Bool
    /// Events checked (all of them when ok; those before the first bad one otherwise).
    public var checked: UInt64
    /// The first seq whose record, hash or position is wrong.
    public var firstBadSeq: UInt64?
    /// What was wrong there.
    public var problem: String?

    public init(ok: Bool, checked: UInt64, firstBadSeq: UInt64?, problem: String?) {
        self.ok = ok
        self.checked = checked
        self.firstBadSeq = firstBadSeq
        self.problem = problem
    }
}

extension EventLog {
    /// Walks the whole chain: every seq from 1 present once, each record well formed and
    /// at its own seq, each chain hash = SHA-256(previous ‖ record), each leaf hash =
    /// SHA-256(0x00 ‖ record), and the head matching the last event.
    /// - Parameter progress: called every 65,536 events with the seq reached.
    public func verify(progress: ((UInt64, UInt64) -> Void)? = nil) throws -> VerifyResult {
        try environment.read { txn in
            let head = try readHead(txn)
            var previous = [UInt8](repeating: 0, count: 32)
            var expected: UInt64 = 1
            var bad: (UInt64, String)?
            try txn.withCursor(dbs.hashes) { hc in
                var hashEntry = try hc.first()
                try scan(from: 1, in: txn) { r in
                    let keySeq = expected
                    if r.seq != keySeq { bad = (keySeq, "record claims seq \(r.seq)"); return false }
                    guard let h = hashEntry, BigEndianKey.uint64(h.key) == keySeq, h.value.count == 64 else {
                        bad = (keySeq, "hash entry missing"); return false
                    }
                    var chain = SHA256(); chain.update(data: previous); chain.update(bufferPointer: r.bytes)
                    let c = chain.finalize()
                    let chainOK = c.withUnsafeBytes { $0.elementsEqual(UnsafeRawBufferPointer(rebasing: h.value[0..<32])) }
                    if !chainOK { bad = (keySeq, "chain hash does not match the record"); return false }
                    var leaf = SHA256(); leaf.update(data: [0]); leaf.update(bufferPointer: r.bytes)
                    let l = leaf.finalize()
                    if !l.withUnsafeBytes({ $0.elementsEqual(UnsafeRawBufferPointer(rebasing: h.value[32..<64])) }) {
                        bad = (keySeq, "leaf hash does not match the record"); return false
                    }
                    previous = Array(c)
                    expected += 1
                    hashEntry = try hc.next()
                    if keySeq & 0xFFFF == 0 { progress?(keySeq, head.seq) }
                    return true
                }
            }
            // The scan stops at a gap silently (seek to next key); detect gaps and a short log.
            if bad == nil {
                let last = expected - 1
                if last != head.seq {
                    bad = (min(last + 1, head.seq), "log ends at seq \(last) but its head says \(head.seq)")
                } else if head.hash != previous {
                    bad = (head.seq, "head hash does not match the last event")
                }
            }
            progress?(expected - 1, head.seq)
            if let (seq, why) = bad {
                return VerifyResult(ok: false, checked: seq - 1, firstBadSeq: seq, problem: why)
            }
            return VerifyResult(ok: true, checked: head.seq, firstBadSeq: nil, problem: nil)
        }
    }
}
