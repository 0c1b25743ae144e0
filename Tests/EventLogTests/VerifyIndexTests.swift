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

    @Test func streamHeadChangesAreNamed() throws {
        // Stream s1 (number 1) holds seqs 1, 5, …, 37 (versions 1–10). Its head's version raised past its last event.
        let log = try Self.log()
        try Self.edit(log) { txn, d in
            try txn.put(d.streams, key: Array("s1".utf8), value: BigEndianKey.bytes(1) + BigEndianKey.bytes(11) + BigEndianKey.bytes(37))
        }
        let r = try log.verify()
        #expect(!r.ok)
        #expect(r.problem?.hasPrefix("streams: \"s1\"") == true)

        // Its last seq moved to an earlier event of the stream.
        let other = try Self.log()
        try Self.edit(other) { txn, d in
            try txn.put(d.streams, key: Array("s1".utf8), value: BigEndianKey.bytes(1) + BigEndianKey.bytes(10) + BigEndianKey.bytes(33))
        }
        let s = try other.verify()
        #expect(s.firstBadSeq == 33)
        #expect(s.problem == "streams: \"s1\" says its last event (version 10) is at seq 33, but the event at seq 33 has version 9")

        // A head of the old, 16-byte layout.
        let third = try Self.log()
        try Self.edit(third) { txn, d in try txn.put(d.streams, key: Array("s1".utf8), value: BigEndianKey.bytes(1) + BigEndianKey.bytes(10)) }
        #expect(try third.verify().problem == "streams: the entry \"s1\" is malformed (16-byte value)")
    }

    /// A log of ``log()`` whose `stream_links` entry for `seq` is set to `link` (removed when nil), and its verdict.
    static func withLink(_ seq: UInt64, _ link: UInt64?) throws -> (EventLog, VerifyResult) {
        let log = try Self.log()
        try Self.edit(log) { txn, d in
            if let link { try txn.put(d.streamLinks, key: BigEndianKey.bytes(seq), value: BigEndianKey.bytes(link)) }
            else { _ = try txn.delete(d.streamLinks, key: BigEndianKey.bytes(seq)) }
        }
        return (log, try log.verify())
    }

    @Test func streamLinkChangesAreNamedAtTheirEvent() throws {
        // Seq 14 is version 4 of s2 (2, 6, 10, 14) and links to seq 10; seq 13 is s1's.
        let (log, r) = try Self.withLink(14, 13)
        #expect(r.firstBadSeq == 14)
        #expect(r.problem == "stream_links: the event at seq 14 (version 4 of \"s2\") links to seq 13, which is not version 3 of its stream before it")
        // A stream's first event linking somewhere.
        #expect(try Self.withLink(3, 1).1.problem == "stream_links: the event at seq 3, the first of \"s3\", links to seq 1")
        // A link forward, and a missing link.
        #expect(try Self.withLink(14, 18).1.firstBadSeq == 14)
        let missing = try Self.withLink(20, nil).1
        #expect(missing.firstBadSeq == 20)
        #expect(missing.problem == "stream_links: no entry for seq 20")
        // A link beyond the last event.
        #expect(try Self.withLink(41, 37).1.problem == "stream_links: an entry for seq 41 beyond the last event")
        // Reads refuse to follow a bad link rather than show another stream's events.
        #expect(throws: LogError.self) { _ = try log.stream("s2") }
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
