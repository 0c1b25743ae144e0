import Compliance
import EventLog
import Foundation

extension Ledger {
    /// Writes the log's events after `after` as `events.jsonl` lines (docs/EXPORT.md: the stored
    /// payload with its seq, stream, version, times and chain hashes), each followed by a newline,
    /// in chunks of at most `chunk` events per read transaction so that memory does not grow with
    /// the log. With `follow`, it then waits for new events and writes them as they commit, until
    /// `shouldStop` returns true (checked between polls). Returns the last seq written.
    /// - Parameter limit: stop after this many events (nil: no limit).
    @discardableResult
    public func tail(after: UInt64, limit: Int? = nil, follow: Bool = false, pollInterval: Double = 0.2, chunk: Int = 4096,
                     shouldStop: () -> Bool = { false }, write: ([UInt8]) throws -> Void) throws -> UInt64 {
        var position = after
        var written = 0
        var previous: [UInt8] = try log.environment.read { txn in
            let head = try log.head(in: txn).seq
            guard after <= head else { throw LedgerError.notFound("seq \(after) (the log holds seqs 1 to \(head))") }
            return after == 0 ? [UInt8](repeating: 0, count: 32) : try log.chainHash(after, txn)
        }
        while true {
            var buffer: [UInt8] = []
            var got = 0
            try log.environment.read { txn in
                try log.scanWithHashes(from: position + 1, through: .max, in: txn) { r, chain, _ in
                    if let limit, written + got >= limit { return false }
                    let hash = Array(chain)
                    buffer += Bundle.line(payload: Array(r.payload), hash: hash, id: r.id.uuidString, prevHash: previous,
                                          recordedAtMicros: r.recordedAt, seq: r.seq, stream: r.stream, version: r.version)
                    buffer.append(0x0A)
                    previous = hash
                    position = r.seq
                    got += 1
                    return got < chunk
                }
            }
            if !buffer.isEmpty { try write(buffer) }
            written += got
            if let limit, written >= limit { return position }
            if got == chunk { continue }
            if !follow || shouldStop() { return position }
            Thread.sleep(forTimeInterval: pollInterval)
            if shouldStop() { return position }
        }
    }
}
