import Foundation
import LMDB
import Testing
@testable import EventLog

/// `verify` checks every entry of the log's own tables, and reports damage instead of throwing.
@Suite struct VerifyIndexTests {
    /// A log of 40 events on 4 streams, and its tables.
    static func log() throws -> EventLog {
        let log = try EventLog(path: temporaryDirectory())
        _ = try log.appendSync((1...40).map { draft($0, stream: "s\($0 % 4)") })
        #expect(try log.verify().ok)
        return log
    }

    static func edit(_ log: EventLog, _ body: (WriteTransaction, EventLog.Databases) throws -> Void) throws {
        try log.environment.write { txn in try body(txn, log.dbs) }
    }

    @Test func malformedRecordIsAResultNotAnError() throws {
        let log = try Self.log()
        try Self.edit(log) { txn, d in try txn.put(d.events, key: BigEndianKey.bytes(9), value: [1, 2, 3]) }
        let r = try log.verify()
        #expect(!r.ok)
        #expect(r.firstBadSeq == 9)
        #expect(r.checked == 8)
        #expect(r.problem?.contains("malformed") == true)
    }

    @Test func missingIdEntryIsNamedAtItsEvent() throws {
        let log = try Self.log()
        try Self.edit(log) { txn, d in
            _ = try RecordID(high: 0xABCD, low: 17).withBytes { try txn.delete(d.ids, key: $0) }
        }
        let r = try log.verify()
        #expect(r.firstBadSeq == 17)
        #expect(r.problem?.hasPrefix("ids: no entry for the id") == true)
    }

    @Test func idEntryLeadingElsewhereIsNamed() throws {
        let log = try Self.log()
        try Self.edit(log) { txn, d in
            try RecordID(high: 0xABCD, low: 5).withBytes { k in
                var v = Array(try txn.get(d.ids, key: k)!)
                v[7] = 6  // seq 5 → 6
                try v.withUnsafeBytes { try txn.put(d.ids, key: k, value: $0) }
            }
        }
        let r = try log.verify()
        #expect(r.firstBadSeq == 5)
        #expect(r.problem == "ids: the id \(RecordID(high: 0xABCD, low: 5).uuidString) of the event at seq 5 leads to seq 6")
    }

    @Test func extraIdEntryIsNamed() throws {
        let log = try Self.log()
        try Self.edit(log) { txn, d in
            let value = BigEndianKey.bytes(3) + [UInt8](repeating: 7, count: 32)
            try RecordID(high: 0xABCD, low: 999).withBytes { k in try value.withUnsafeBytes { try txn.put(d.ids, key: k, value: $0) } }
        }
        let r = try log.verify()
        #expect(!r.ok)
        #expect(r.firstBadSeq == 3)
        #expect(r.problem?.contains("whose event has another id") == true)
    }

    @Test func streamVersionAndStreamIndexChangesAreNamed() throws {
        // The stream head's version raised past the stream's last event.
        let log = try Self.log()
        try Self.edit(log) { txn, d in
            try txn.put(d.streams, key: Array("s1".utf8), value: BigEndianKey.bytes(1) + BigEndianKey.bytes(11))
        }
        let r = try log.verify()
        #expect(!r.ok)
        #expect(r.problem?.hasPrefix("streams: \"s1\"") == true)

        // A stream index entry pointing at another event.
        let other = try Self.log()
        try Self.edit(other) { txn, d in
            try (BigEndianKey.bytes(1) + BigEndianKey.bytes(3)).withUnsafeBytes { k in
                try BigEndianKey.with(13) { try txn.put(d.streamEvents, key: k, value: $0) }
            }
        }
        let s = try other.verify()
        #expect(!s.ok)
        #expect(s.problem?.hasPrefix("stream_events:") == true)
        #expect(s.firstBadSeq != nil)
    }

    @Test func unexpectedMetaEntryIsNamed() throws {
        let log = try Self.log()
        try Self.edit(log) { txn, d in try txn.put(d.meta, key: Array("heae".utf8), value: [0]) }
        #expect(try log.verify().problem == "meta: an unexpected entry \"heae\"")
    }

    @Test func fieldArithmeticMatchesWideIntegers() {
        var rng = SystemRandomNumberGenerator()
        let p = UInt128(IndexSums.p)
        for _ in 0..<10_000 {
            let a = rng.next() % IndexSums.p, b = rng.next() % IndexSums.p
            #expect(UInt128(IndexSums.multiply(a, b)) == UInt128(a) * UInt128(b) % p)
            #expect(UInt128(IndexSums.add(a, b)) == (UInt128(a) + UInt128(b)) % p)
        }
        #expect(IndexSums.multiply(IndexSums.p - 1, IndexSums.p - 1) == 1)
        #expect(IndexSums.reduce(.max) < IndexSums.p)
    }
}
