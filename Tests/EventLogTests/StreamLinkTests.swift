import Crypto
import FormatFixtures
import Foundation
import LMDB
import Testing
@testable import EventLog

/// Streams read through `stream_links` and `stream_marks` (docs/FORMAT.md), and the upgrade of a
/// format-4 log, whose streams were indexed position by position in `stream_events`.
@Suite struct StreamLinkTests {
    /// A log of 1,000 events: "long" holds 667 of them (marks at versions 256 and 512), "short"
    /// 333 (a mark at 256).
    static func longLog() throws -> (EventLog, long: [UInt64], short: [UInt64]) {
        let log = try EventLog(path: temporaryDirectory())
        for start in stride(from: 1, through: 1_000, by: 100) {
            _ = try log.appendSync((start..<start + 100).map { draft(UInt64($0), stream: $0 % 3 == 0 ? "short" : "long") })
        }
        let events = try log.events()
        return (log, events.filter { $0.stream == "long" }.map(\.seq), events.filter { $0.stream == "short" }.map(\.seq))
    }

    @Test func aLongStreamIsReadFromAnyVersionBothWays() throws {
        let (log, long, short) = try Self.longLog()
        #expect(long.count == 667 && short.count == 333)
        #expect(try log.environment.read { try $0.count(log.dbs.streamMarks) } == 3)
        for from: UInt64? in [nil, 1, 2, 255, 256, 257, 300, 511, 512, 513, 666, 667, 668, 10_000] {
            let start = Int(max(from ?? 1, 1))
            let forward = try log.stream("long", from: from).map(\.seq)
            #expect(forward == Array(long.dropFirst(start - 1)), "forward from \(String(describing: from))")
            #expect(try log.stream("long", from: from).map(\.version) == (start...max(start, 667)).prefix(forward.count).map { UInt64($0) })
            let end = Int(min(from ?? .max, UInt64(long.count)))
            #expect(try log.stream("long", from: from, direction: .backward).map(\.seq) == Array(long.prefix(end).reversed()),
                    "backward from \(String(describing: from))")
        }
        // Cut at a seq: forward stops at the cut, backward skips what came after it.
        let cut = long[400]
        #expect(try log.stream("long", asOf: cut).map(\.seq) == Array(long.prefix(401)))
        #expect(try log.stream("long", from: 600, direction: .backward, asOf: cut).map(\.seq) == Array(long.prefix(401).reversed()))
        #expect(try log.stream("long", from: 250, limit: 10).map(\.seq) == Array(long[249..<259]))
        #expect(try log.stream("short", from: 256, direction: .backward, limit: 3).map(\.seq) == [short[255], short[254], short[253]])
        #expect(try log.stream("none").isEmpty)
        #expect(try log.verify().ok)
    }

    @Test func marksAreCheckedAndNamed() throws {
        let key = BigEndianKey.bytes(1) + BigEndianKey.bytes(256)  // "long" is stream 1 (seq 1 is its)
        let (removed, long, _) = try Self.longLog()
        try removed.environment.write { txn in _ = try txn.delete(removed.dbs.streamMarks, key: key) }
        let r = try removed.verify()
        #expect(r.firstBadSeq == long[255])
        #expect(r.problem == "stream_marks: the entry of stream 1 version 256 (\"long\") is missing, not seq \(long[255])")
        #expect(throws: LogError.self) { _ = try removed.stream("long", from: 200) }

        let (moved, long2, _) = try Self.longLog()
        try moved.environment.write { txn in try txn.put(moved.dbs.streamMarks, key: key, value: BigEndianKey.bytes(long2[254])) }
        #expect(try moved.verify().problem == "stream_marks: the entry of stream 1 version 256 leads to seq \(long2[254]), which is not that event")

        let (extra, long3, _) = try Self.longLog()
        try extra.environment.write { txn in
            try txn.put(extra.dbs.streamMarks, key: BigEndianKey.bytes(1) + BigEndianKey.bytes(300), value: BigEndianKey.bytes(long3[299]))
        }
        #expect(try extra.verify().problem == "stream_marks: an entry for version 300 of stream 1, which is not a multiple of 256")
    }

    // MARK: Format 4

    /// Rewrites `log` as format 4 laid it out (``FormatFour``), each id entry with its draft's
    /// digest. The log's handles are stale afterwards.
    static func rewriteAsFormat4(_ log: EventLog, digests: [RecordID: [UInt8]], format: String = "escalation-ledger/4") throws {
        try FormatFour.rewrite(log.environment, digests: { id in id.withUnsafeBytes { digests[RecordID(bytes: $0)]! } }, format: format)
    }

    /// A format-4 log is refused read-only, with what to do, and upgraded when opened writable:
    /// the same events, hashes and head; each stream read as before; verify ok; appends go on.
    @Test func aFormatFourLogIsUpgradedWhenOpenedWritable() throws {
        let dir = temporaryDirectory()
        var before: (events: [RecordedEvent], head: EventLog.Head, long: [UInt64], hashes: [[UInt8]])
        do {
            let log = try EventLog(path: dir)
            var drafts: [EventDraft] = []
            for start in stride(from: 1, through: 1_000, by: 100) {
                let batch = (start..<start + 100).map { draft(UInt64($0), stream: $0 % 3 == 0 ? "short" : "long") }
                drafts += batch
                _ = try log.appendSync(batch)
            }
            let events = try log.events()
            let hashes = try log.environment.read { txn in try (1...1_000).map { try log.leafHash(UInt64($0), txn) } }
            before = (events, try log.head(), events.filter { $0.stream == "long" }.map(\.seq), hashes)
            try Self.rewriteAsFormat4(log, digests: Dictionary(uniqueKeysWithValues: drafts.map { ($0.id, $0.digest) }))
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/data.mdb"))
        var options = Environment.Options()
        options.readOnly = true
        let refusal = #expect(throws: LogError.self) { _ = try EventLog(path: dir, options: options) }
        #expect(refusal.map { "\($0)" }?.contains("this ledger is in format escalation-ledger/4; this version reads it once it has upgraded it") == true)
        #expect(refusal.map { "\($0)" }?.contains("Nothing was changed") == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/data.mdb")) == data)

        let log = try EventLog(path: dir)
        #expect(try log.environment.read { try $0.get(log.dbs.meta, key: Array("format".utf8)) } == Array(EventLog.formatName.utf8))
        #expect(try log.verify().ok)
        #expect(try log.head() == before.head)
        #expect(try log.events().map(\.hash) == before.events.map(\.hash))
        #expect(try log.environment.read { txn in try (1...1_000).map { try log.leafHash(UInt64($0), txn) } } == before.hashes)
        #expect(try log.stream("long").map(\.seq) == before.long)
        #expect(try log.stream("long", from: 300, direction: .backward).map(\.seq) == Array(before.long.prefix(300).reversed()))
        #expect(try log.environment.read { try $0.count(log.dbs.streamMarks) } == 3)
        let tables = try log.environment.read { try $0.databaseNames() }
        #expect(!tables.contains("stream_events"))
        #expect(try log.appendSync([draft(1_001, stream: "long"), draft(1_002, stream: "new")]).appended == 2)
        #expect(try log.stream("long", from: 667).map(\.seq) == [before.long.last!, 1_001])
        #expect(try log.verify().ok)
    }
}
