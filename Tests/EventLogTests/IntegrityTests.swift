import Foundation
import LMDB
import Testing
@testable import EventLog

@Suite struct IntegrityTests {
    @Test func tamperedByteIsNamedByVerify() throws {
        let log = try EventLog(path: temporaryDirectory())
        _ = try log.appendSync((1...50).map { draft($0) })
        // Change one byte of seq 37's stored payload, through LMDB directly.
        try log.environment.write { txn in
            let events = try txn.database("events")
            var bytes = try txn.get(events, key: BigEndianKey.bytes(37))!
            bytes[bytes.count - 3] ^= 0x01
            try txn.put(events, key: BigEndianKey.bytes(37), value: bytes)
        }
        let result = try log.verify()
        #expect(!result.ok)
        #expect(result.firstBadSeq == 37)
        #expect(result.checked == 36)
    }

    @Test func removedEventIsNamedByVerify() throws {
        let log = try EventLog(path: temporaryDirectory())
        _ = try log.appendSync((1...20).map { draft($0) })
        let deleted = try log.environment.write { txn in
            try txn.delete(try txn.database("events"), key: BigEndianKey.bytes(12))
        }
        #expect(deleted)
        #expect(try log.verify().firstBadSeq == 12)
    }

    /// The audit and the export read each record's hashes with a second cursor walking beside
    /// the records: the same hashes as a look-up of each seq, and a record without its hash entry
    /// is corruption named by its seq, not a hash of another record.
    @Test func scanningWithHashesGivesEachRecordItsOwnHashes() throws {
        let log = try EventLog(path: temporaryDirectory())
        _ = try log.appendSync((1...60).map { draft($0) })
        var seen: [UInt64] = []
        try log.environment.read { txn in
            try log.scanWithHashes(from: 7, through: 52, in: txn) { r, chain, leaf in
                seen.append(r.seq)
                let (lookedUpChain, lookedUpLeaf) = (try log.chainHash(r.seq, txn), try log.leafHash(r.seq, txn))
                #expect(Array(chain) == lookedUpChain)
                #expect(Array(leaf) == lookedUpLeaf)
                return r.seq < 50
            }
        }
        #expect(seen == Array(7...50), "in order, from the first seq, stopping when the body says so")
        try log.environment.write { txn in
            _ = try txn.delete(try txn.database("hashes"), key: BigEndianKey.bytes(31))
        }
        var reached: UInt64 = 0
        let error = #expect(throws: LogError.self) {
            try log.environment.read { txn in
                try log.scanWithHashes(from: 1, through: 60, in: txn) { r, _, _ in reached = r.seq; return true }
            }
        }
        #expect(reached == 30)
        guard case .corrupt(let seq, _)? = error else { Issue.record("not corruption: \(String(describing: error))"); return }
        #expect(seq == 31)
    }

    @Test func subscriptionCatchesUpThenFollowsLiveAppends() async throws {
        let log = try EventLog(path: temporaryDirectory())
        _ = try await log.append((1...30).map { draft($0) })
        let received = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            group.addTask {
                var seqs: [UInt64] = []
                for try await event in log.subscribe(after: 10, chunk: 7) {
                    seqs.append(event.seq)
                    if seqs.count == 40 { break }
                }
                return seqs
            }
            group.addTask {
                for i in 31...50 {
                    _ = try await log.append([draft(UInt64(i))])
                    try await Task.sleep(for: .milliseconds(2))
                }
                return []
            }
            var all: [UInt64] = []
            for try await r in group { all += r }
            return all
        }
        #expect(received == Array(11...50))
    }
}
