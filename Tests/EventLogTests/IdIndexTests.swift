import Crypto
import Foundation
import LMDB
import Testing
@testable import EventLog

/// The id index's recent entries, runs and filters (docs/FORMAT.md, "The id index").
@Suite struct IdIndexTests {
    /// A draft with a random id (the usual case: UUIDv4).
    static func randomDraft(_ n: Int) -> EventDraft {
        let payload = Array("{\"n\":\(n)}".utf8)
        return EventDraft(id: RecordID(high: .random(in: 0 ... .max), low: .random(in: 0 ... .max)), stream: "s\(n % 7)",
                          payload: payload, digest: Array(SHA256.hash(data: payload)))
    }

    /// Entries in `ids`, the runs' (number, count), and entries in `id_run_entries`.
    static func layout(_ log: EventLog) throws -> (recent: Int, runs: [(UInt32, UInt64)], runEntries: Int) {
        try log.environment.read { txn in
            (try txn.count(log.dbs.ids), try log.idIndex.loadRuns(txn).map { ($0.number, $0.count) },
             try txn.count(log.dbs.idRunEntries))
        }
    }

    @Test func everyIdIsFoundWhereverItMovedAndMergesKeepSizeClassesShort() throws {
        let policy = IdIndex.Policy(flushAt: 3)  // batches of 2 or more flush, fan-in 8, runs of 48 or more are left alone
        let log = try EventLog(path: temporaryDirectory(), idIndexPolicy: policy)
        var drafts: [EventDraft] = []
        var n = 0
        for size in [1, 2, 5, 7, 1, 1, 3, 13, 2, 40, 1, 9, 6, 6, 6, 6, 6, 30, 2, 1, 70, 4, 4, 4, 4, 4, 4, 4, 4, 1] {
            let batch = (0..<size).map { _ in n += 1; return Self.randomDraft(n) }
            drafts += batch
            let report = try log.appendSync(batch)
            #expect(report.appended == size)
        }
        let l = try Self.layout(log)
        #expect(l.recent + l.runEntries == drafts.count)
        #expect(l.recent < policy.flushAt)
        #expect(l.runs.reduce(0) { $0 + $1.1 } == UInt64(l.runEntries))
        #expect(l.runs.count >= 3)
        // No size class below mergeBelow is left with fan-in runs: they would have been merged.
        var classes: [Int: Int] = [:]
        for (_, count) in l.runs where count < UInt64(policy.mergeBelow) { classes[policy.sizeClass(count), default: 0] += 1 }
        #expect(classes.values.allSatisfy { $0 < policy.fanIn })
        #expect(try log.verify().ok)

        // Every id leads to its seq, and appending everything again appends nothing.
        let seqs = try log.environment.read { txn in try drafts.map { try log.seq(of: $0.id, in: txn) } }
        #expect(seqs == (1...drafts.count).map { UInt64($0) })
        #expect(try log.environment.read { txn in try log.seq(of: RecordID(high: 1, low: 2), in: txn) } == nil)
        let again = try log.appendSync(drafts)
        #expect(again.duplicates == drafts.count)
        // The same id with other content is refused wherever the id lives.
        for i in [0, 7, 100, drafts.count - 1] {
            var other = drafts[i]
            other.payload = Array("{\"other\":true}".utf8)
            other.digest = Array(SHA256.hash(data: other.payload))
            let r = try log.appendSync([other])
            guard case .refused(let e) = r.outcomes[0], let refusal = e as? LogRefusal else {
                Issue.record("draft \(i) with other content was not refused: \(r.outcomes[0])"); continue
            }
            #expect(refusal.kind == .duplicateId)
        }
        #expect(try log.head().seq == UInt64(drafts.count))
    }

    /// A transaction that appends `batchFlushAt` events or more moves `ids` to a run before it
    /// commits (its own entries never stay in `ids`); smaller ones leave theirs in `ids`, and
    /// runs are merged `fanIn` at a time.
    @Test func aLargeTransactionMovesItsIdsToARunAndSmallOnesWait() throws {
        let policy = IdIndex.Policy(flushAt: 64)
        #expect(policy.batchFlushAt == 4 && policy.fanIn == 8 && policy.mergeBelow == 1_024)
        let log = try EventLog(path: temporaryDirectory(), idIndexPolicy: policy)
        var drafts: [EventDraft] = []
        func append(_ count: Int) throws {
            let batch = (0..<count).map { Self.randomDraft(drafts.count + $0 + 1) }
            drafts += batch
            #expect(try log.appendSync(batch).appended == count)
        }
        try append(3)
        try append(3)
        var l = try Self.layout(log)
        #expect(l.recent == 6 && l.runs.isEmpty)
        try append(4)  // the six waiting entries go with the batch's four
        l = try Self.layout(log)
        #expect(l.recent == 0 && l.runs.map(\.1) == [10])
        try append(1)
        #expect(try Self.layout(log).recent == 1)
        // Seven more runs of 5 to 11 entries: the eighth in class 0 (below 4 × 8) makes the merge.
        for size in [5, 6, 7, 8, 9, 10, 11] { try append(size) }
        l = try Self.layout(log)
        #expect(l.recent == 0)
        #expect(l.runs.count == 1 && l.runs[0].1 == UInt64(drafts.count))
        #expect(try log.environment.read { txn in try drafts.map { try log.seq(of: $0.id, in: txn) } } == (1...drafts.count).map { UInt64($0) })
        #expect(try log.verify().ok)
    }

    @Test func anAtomicBatchThatFailsLeavesTheIndexAsItWas() throws {
        let log = try EventLog(path: temporaryDirectory(), idIndexPolicy: IdIndex.Policy(flushAt: 2))
        _ = try log.appendSync((1...9).map(Self.randomDraft))
        let before = try Self.layout(log)
        let batch = (10...20).map(Self.randomDraft)
        #expect(throws: BatchRefused.self) { _ = try log.appendSync(batch, mode: .atomic, hook: RefuseAt(indexes: [10])) }
        let after = try Self.layout(log)
        #expect(after.recent == before.recent && after.runEntries == before.runEntries)
        #expect(after.runs.map(\.0) == before.runs.map(\.0))
        #expect(try log.appendSync(batch).appended == batch.count)
        #expect(try log.verify().ok)
    }

    @Test func theFilterHasNoFalseNegativesAndFewFalsePositives() throws {
        let salt = UInt64.random(in: 0 ... .max)
        var filter = IdFilter(count: 10_000, salt: salt)
        var ids: [[UInt8]] = []
        for _ in 0..<10_000 {
            let id = (0..<16).map { _ in UInt8.random(in: 0 ... 255) }
            ids.append(id)
            id.withUnsafeBytes { filter.insert($0) }
        }
        #expect(filter.blocks == IdFilter.blocks(forCount: 10_000))
        #expect(filter.bits.count == 196 * 64)  // ⌈100,000 / 512⌉ blocks
        try filter.bits.withUnsafeBytes { bits in
            for id in ids { #expect(id.withUnsafeBytes { IdFilter.Probe($0, salt: salt).mayContain(in: bits) }) }
            var positives = 0
            for _ in 0..<100_000 {
                let other = (0..<16).map { _ in UInt8.random(in: 0 ... 255) }
                if other.withUnsafeBytes({ IdFilter.Probe($0, salt: salt).mayContain(in: bits) }) { positives += 1 }
            }
            // About 1% expected; 3% would be a broken hash, not bad luck.
            #expect(positives < 3_000, "\(positives) false positives in 100,000")
            _ = try #require(positives > 0 || true)
        }
    }

    /// The documented hash (docs/FORMAT.md), written out once more: the id
    /// 00112233-4455-6677-8899-aabbccddeeff under the salt 0x0123456789abcdef sets these bits of a
    /// three-block filter, and other bits under another salt.
    @Test func theFilterFollowsTheDocumentedHash() {
        let id: [UInt8] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]
        func mix(_ x: UInt64) -> UInt64 {
            var z = x
            z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9
            z = (z ^ (z >> 27)) &* 0x94d049bb133111eb
            return z ^ (z >> 31)
        }
        func expected(salt: UInt64) -> [UInt8] {
            let s = mix(0x0011223344556677 ^ mix(0x8899aabbccddeeff ^ salt)), w = mix(s)
            var bits = [UInt8](repeating: 0, count: 64 * 3)
            let block = Int(((s >> 32) * 3) >> 32)
            for i in 0..<7 {
                let bit = Int((w >> UInt64(9 * i)) & 511)
                bits[block * 64 + bit / 8] |= 1 << (bit % 8)
            }
            return bits
        }
        var filter = IdFilter(count: 150, salt: 0x0123456789abcdef)  // 1,500 bits: 3 blocks
        id.withUnsafeBytes { filter.insert($0) }
        #expect(filter.bits == expected(salt: 0x0123456789abcdef))
        var other = IdFilter(count: 150, salt: 0)
        id.withUnsafeBytes { other.insert($0) }
        #expect(other.bits == expected(salt: 0))
        #expect(other.bits != filter.bits)
    }

    // MARK: Damage

    static func damagedLog() throws -> (EventLog, [EventDraft]) {
        let log = try EventLog(path: temporaryDirectory(), idIndexPolicy: IdIndex.Policy(flushAt: 4))
        var drafts: [EventDraft] = []
        for b in 0..<10 {
            let batch = (0..<(5 + b)).map { Self.randomDraft(drafts.count + $0 + 1) }
            drafts += batch
            _ = try log.appendSync(batch)
        }
        #expect(try log.verify().ok)
        return (log, drafts)
    }

    /// Rewrites the descriptor of run `number` in `id_runs`.
    static func editDescriptor(_ log: EventLog, _ number: UInt32, _ change: (inout [UInt8]) -> Void) throws {
        try log.environment.write { txn in
            try withUnsafeBytes(of: number.bigEndian) { k in
                var v = Array(try #require(try txn.get(log.dbs.idRuns, key: k)))
                change(&v)
                try v.withUnsafeBytes { try txn.put(log.dbs.idRuns, key: k, value: $0) }
            }
        }
    }

    @Test func aRunEntryRemovedIsNamed() throws {
        let (log, _) = try Self.damagedLog()
        let runs = try Self.layout(log).runs
        try log.environment.write { txn in
            try txn.withCursor(log.dbs.idRunEntries) { c in _ = try c.first(); _ = try c.deleteCurrent() }
        }
        let r = try log.verify()
        #expect(!r.ok)
        #expect(r.problem == "id_runs: run \(runs[0].0) is described with \(runs[0].1) entries and holds \(runs[0].1 - 1)")
    }

    @Test func aFilterChangedInOneBitIsNamed() throws {
        let (log, _) = try Self.damagedLog()
        let run = try #require(try Self.layout(log).runs.last)
        try Self.editDescriptor(log, run.0) { $0[IdIndex.descriptorHeader + 5] ^= 0x10 }
        let r = try log.verify()
        #expect(r.problem == "id_runs: the filter of run \(run.0) is not the one its ids give")
    }

    @Test func aDescriptorOfTheWrongSizeIsNamedAndStopsAppends() throws {
        let (log, _) = try Self.damagedLog()
        let run = try #require(try Self.layout(log).runs.first)
        // A count of 2⁶⁴ − 1, whose filter size would overflow, is refused the same way (no trap).
        let other = try EventLog(path: temporaryDirectory(), idIndexPolicy: IdIndex.Policy(flushAt: 2))
        _ = try other.appendSync((1...3).map(Self.randomDraft))
        try Self.editDescriptor(other, 1) { for i in 0..<8 { $0[i] = 0xFF } }
        #expect(try other.verify().problem?.hasSuffix("does not follow docs/FORMAT.md") == true)
        try Self.editDescriptor(log, run.0) { $0.removeLast() }
        let r = try log.verify()
        #expect(r.problem?.hasPrefix("the id index is damaged: id_runs: the descriptor of run \(run.0)") == true)
        #expect(r.problem?.hasSuffix("does not follow docs/FORMAT.md") == true)
        // An append cannot tell a new id from an old one any more: it fails, and nothing is written.
        let error = #expect(throws: LogError.self) { _ = try log.appendSync([Self.randomDraft(999)]) }
        #expect(error.map { "\($0)" }?.hasPrefix("the id index is damaged: id_runs: the descriptor of run \(run.0)") == true)
        #expect(try log.head().seq == 95)
    }

    @Test func aShortEntryIsAnErrorNotACrash() throws {
        let (log, drafts) = try Self.damagedLog()
        // The first id has long moved to a run: shorten its entry there.
        try log.environment.write { txn in
            try drafts[0].id.withBytes { id in
                var key = [UInt8](); var found = false
                try txn.withCursor(log.dbs.idRunEntries) { c in
                    var e = try c.first()
                    while let entry = e, !found {
                        if entry.key[4...].elementsEqual(id) { key = Array(entry.key); found = true }
                        e = try c.next()
                    }
                }
                #expect(found)
                try txn.put(log.dbs.idRunEntries, key: key, value: [0, 0, 1])
            }
        }
        #expect(try !log.verify().ok)
        // The whole append fails (the index is damaged, not the event), and nothing is written.
        let error = #expect(throws: LogError.self) { _ = try log.appendSync([Self.randomDraft(1_000), drafts[0]]) }
        #expect(error.map { "\($0)" } == "the id index is damaged: id_run_entries: the entry for id \(drafts[0].id.uuidString) is 3 bytes, not 8")
        #expect(try log.head().seq == UInt64(drafts.count))
    }

    @Test func anEntryOfAnUndescribedRunIsNamed() throws {
        let (log, drafts) = try Self.damagedLog()
        try log.environment.write { txn in
            let key = withUnsafeBytes(of: UInt32(4_000_000).bigEndian) { Array($0) } + drafts[3].id.withBytes { Array($0) }
            try txn.put(log.dbs.idRunEntries, key: key, value: BigEndianKey.bytes(4) + drafts[3].digest)
        }
        let r = try log.verify()
        #expect(r.problem?.hasSuffix("belongs to run 4000000, which id_runs does not describe") == true)
    }

    @Test func anIdBothRecentAndInARunIsDamage() throws {
        let (log, drafts) = try Self.damagedLog()
        let l = try Self.layout(log)
        #expect(l.runEntries > 20)
        try log.environment.write { txn in
            try drafts[2].id.withBytes { k in
                try (BigEndianKey.bytes(3) + drafts[2].digest).withUnsafeBytes { try txn.put(log.dbs.ids, key: k, value: $0) }
            }
        }
        #expect(try !log.verify().ok)
    }

    // MARK: Format 3

    /// A ledger of format 3 (no runs, every id in `ids`, as in format 4 otherwise) is refused
    /// read-only and upgraded when opened writable.
    @Test func aFormatThreeLogIsReadAndUpgraded() throws {
        let dir = temporaryDirectory()
        var drafts = (1...50).map(Self.randomDraft)
        do {
            let log = try EventLog(path: dir, idIndexPolicy: IdIndex.Policy(flushAt: 1_000))
            _ = try log.appendSync(drafts)
            try StreamLinkTests.rewriteAsFormat4(log, digests: Dictionary(uniqueKeysWithValues: drafts.map { ($0.id, $0.digest) }),
                                                 format: "escalation-ledger/3")
        }
        do {
            var options = Environment.Options()
            options.readOnly = true
            #expect(throws: LogError.self) { _ = try EventLog(path: dir, options: options) }
        }
        #expect(try EventLog.storedFormat(path: dir) == "escalation-ledger/3")
        do {
            let log = try EventLog(path: dir, idIndexPolicy: IdIndex.Policy(flushAt: 10))
            #expect(try log.environment.read { try $0.get(log.dbs.meta, key: Array("format".utf8)) } == Array(EventLog.formatName.utf8))
            #expect(try log.verify().ok)
            #expect(try Self.valueSizes(log) == [40: 50])
            #expect(try log.environment.read { txn in try log.seq(of: drafts[17].id, in: txn) } == 18)
            // A transaction that appends nothing (a duplicate) moves nothing.
            #expect(try log.appendSync([drafts[4]]).duplicates == 1)
            let unchanged = try Self.layout(log)
            #expect(unchanged.recent == 50 && unchanged.runs.isEmpty)
            let more = (51...53).map(Self.randomDraft)
            #expect(try log.appendSync(more).appended == 3)
            drafts += more
            let l = try Self.layout(log)
            #expect(l.recent == 0 && l.runEntries == 53 && l.runs.count == 1)
            #expect(try Self.valueSizes(log) == [8: 53])
            #expect(try log.appendSync(drafts).duplicates == 53)
            #expect(try log.verify().ok)
        }
    }

    // MARK: Format 4

    /// How many entries of `ids` and the runs have values of each size.
    static func valueSizes(_ log: EventLog) throws -> [Int: Int] {
        try log.environment.read { txn in
            var sizes: [Int: Int] = [:]
            for db in [log.dbs.ids, log.dbs.idRunEntries] {
                try txn.withCursor(db) { c in
                    var e = try c.first()
                    while let entry = e { sizes[entry.value.count, default: 0] += 1; e = try c.next() }
                }
            }
            return sizes
        }
    }

    /// A ledger of format 4 (entries of seq ‖ content digest) upgraded: duplicates are judged
    /// against the stored events, new entries are the seq alone, and merges rewrite old entries so.
    @Test func aFormatFourLogIsReadAndUpgraded() throws {
        let dir = temporaryDirectory()
        let policy = IdIndex.Policy(flushAt: 8)  // batches of 2 or more make runs; 8 runs of a class merge
        var drafts: [EventDraft] = []
        do {
            let log = try EventLog(path: dir, idIndexPolicy: policy)
            for size in [3, 1, 1, 4, 2, 5, 1] {
                let batch = (0..<size).map { Self.randomDraft(drafts.count + $0 + 1) }
                drafts += batch
                _ = try log.appendSync(batch)
            }
            let l = try Self.layout(log)
            #expect(l.recent > 0 && l.runs.count >= 2)
            try StreamLinkTests.rewriteAsFormat4(log, digests: Dictionary(uniqueKeysWithValues: drafts.map { ($0.id, $0.digest) }))
        }
        #expect(try EventLog.storedFormat(path: dir) == "escalation-ledger/4")
        let log = try EventLog(path: dir, idIndexPolicy: policy)
        #expect(try log.environment.read { try $0.get(log.dbs.meta, key: Array("format".utf8)) } == Array(EventLog.formatName.utf8))
        #expect(try Self.valueSizes(log) == [40: drafts.count])
        #expect(try log.verify().ok)
        #expect(try log.environment.read { txn in try log.seq(of: drafts[5].id, in: txn) } == 6)
        #expect(try log.environment.read { txn in try log.contentDigest(of: drafts[5].id, in: txn) } == drafts[5].digest)
        // Old entries: the same content is a duplicate, other content under the same id a refusal.
        #expect(try log.appendSync(drafts).duplicates == drafts.count)
        var other = drafts[2]
        other.payload = Array("{\"other\":true}".utf8)
        other.digest = Array(SHA256.hash(data: other.payload))
        guard case .refused(let e) = try log.appendSync([other]).outcomes[0], let refusal = e as? LogRefusal else {
            Issue.record("other content under an old id was not refused"); return
        }
        #expect(refusal.kind == .duplicateId)
        // New entries are 8 bytes; enough runs to merge rewrite the old ones as 8 bytes too.
        for _ in 0..<12 {
            let batch = (0..<2).map { Self.randomDraft(drafts.count + $0 + 1) }
            drafts += batch
            #expect(try log.appendSync(batch).appended == 2)
        }
        let sizes = try Self.valueSizes(log)
        #expect(sizes[8, default: 0] > 0)
        #expect(sizes[40, default: 0] < 17, "merges rewrote old entries: \(sizes)")
        #expect(sizes.values.reduce(0, +) == drafts.count)
        #expect(try log.verify().ok)
        #expect(try log.environment.read { txn in try log.contentDigest(of: drafts.last!.id, in: txn) } == nil)
        #expect(try log.appendSync(drafts).duplicates == drafts.count)
    }

    /// A duplicate is judged against the stored event: an entry that leads to another event's
    /// seq stops the append (damage), it is not taken for a duplicate.
    @Test func anEntryLeadingToAnotherEventStopsTheAppend() throws {
        let log = try EventLog(path: temporaryDirectory(), idIndexPolicy: IdIndex.Policy(flushAt: 1_000))
        let drafts = (1...5).map(Self.randomDraft)
        _ = try log.appendSync(drafts)
        try log.environment.write { txn in
            try drafts[1].id.withBytes { k in try BigEndianKey.bytes(4).withUnsafeBytes { try txn.put(log.dbs.ids, key: k, value: $0) } }
        }
        let error = #expect(throws: LogError.self) { _ = try log.appendSync([Self.randomDraft(6), drafts[1]]) }
        #expect(error.map { "\($0)" } == "the id index is damaged: the entry for id \(drafts[1].id.uuidString) leads to seq 4, which does not hold that event")
        #expect(try log.head().seq == 5)
    }
}
